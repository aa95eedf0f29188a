;; RUN: run % --invoke main
;; EXIT: 134
;; KIND: trap
;; CALLS: main=1 l1=3 l2=3 l3=3 div=3 never=0
;;
;; Integer divide by zero four frames deep: main -> l1 -> l2 -> l3 -> div.
;; main calls l1(100, 5) and l1(100, 4), which complete, then l1(100, 0),
;; whose `i32.div_s` in div traps.
;;   l1, l2, l3, div = 3 each   one chain per l1 call; the third one traps in div
;;   never           = 0        main would call it after the third l1
(module
  (func $div (param $a i32) (param $b i32) (result i32)
    (i32.div_s (local.get $a) (local.get $b)))

  (func $l3 (param $a i32) (param $b i32) (result i32)
    (i32.add (call $div (local.get $a) (local.get $b)) (i32.const 1)))

  (func $l2 (param $a i32) (param $b i32) (result i32)
    (i32.add (call $l3 (local.get $a) (local.get $b)) (i32.const 1)))

  (func $l1 (param $a i32) (param $b i32) (result i32)
    (i32.add (call $l2 (local.get $a) (local.get $b)) (i32.const 1)))

  (func $never (result i32) (i32.const 0))

  (func $main (export "main") (result i32)
    (i32.add
      (i32.add
        (i32.add (call $l1 (i32.const 100) (i32.const 5)) (call $l1 (i32.const 100) (i32.const 4)))
        (call $l1 (i32.const 100) (i32.const 0)))
      (call $never))))
