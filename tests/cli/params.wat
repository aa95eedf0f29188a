;; RUN: run % --invoke add --arg 2 --arg 3
;; EXIT: 0
;; KIND: exit
;; CALLS: add=1 check=2 main=0
;;
;; `--invoke` of an export that takes parameters (passed with --arg, in order).
;;   add   = 1  the invoked export, add(2, 3)
;;   check = 2  add calls check(a) and check(b)
;;   main  = 0  exported too, but not the one invoked
;; Result: check(x) = x, so add(2, 3) = 5.
(module
  (func $check (param $x i32) (result i32)
    (local.get $x))

  (func $add (export "add") (param $a i32) (param $b i32) (result i32)
    (i32.add (call $check (local.get $a)) (call $check (local.get $b))))

  (func $main (export "main") (result i32)
    (i32.const -1)))
