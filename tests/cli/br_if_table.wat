;; RUN: run % --invoke main
;; EXIT: 0
;; KIND: exit
;; CALLS: main=1 clamp=3 under=2 classify=4 t1=1 t2=2 dispatch=3 a=1 b=1
;;
;; `br_if` and `br_table` whose target is the function-body label.
;;   clamp    = 3  clamp(500), clamp(7), clamp(100)
;;   under    = 2  clamp's `br_if 1` leaves the function (returning 100) only when
;;                 x > 100, so under runs for x = 7 and x = 100 but not for 500
;;   classify = 4  classify(0), (1), (2), (5)
;;   t1       = 1  br_table index 0 -> $one: only x = 0 reaches t1
;;   t2       = 2  index 0 falls through into t2 too, index 1 -> $two: x = 0, 1
;;                 (x >= 2 takes the default target 2 = function body: no calls)
;;   dispatch = 3  dispatch(0), (1), (9) in a function without results
;;   a        = 1  dispatch(0): br_table -> inner block, then a, then `return`
;;   b        = 1  dispatch(1): br_table -> outer block, then b; dispatch(9) takes
;;                 the default (function body) and calls neither
;; Result: clamp: 100 + 7 + 100 = 207; classify: 1011 + 1010 + 1000 + 1000 = 4021;
;;         total 4228.
(module
  (func $under)
  (func $t1)
  (func $t2)
  (func $a)
  (func $b)

  (func $clamp (param $x i32) (result i32)
    (block
      (i32.const 100)
      (i32.gt_s (local.get $x) (i32.const 100))
      (br_if 1)          ;; 0 = block, 1 = function body: return 100
      (drop)
      (call $under))
    (local.get $x))

  (func $classify (param $x i32) (result i32)
    (block $two (result i32)
      (block $one (result i32)
        (i32.const 1000)
        (local.get $x)
        (br_table $one $two 2))   ;; 2 = function body: return 1000
      ;; x = 0: 1000 on the stack
      (call $t1)
      (i32.const 1)
      (i32.add))
    ;; x = 0: 1001, x = 1: 1000
    (call $t2)
    (i32.const 10)
    (i32.add))

  (func $dispatch (param $k i32)
    (block $outer
      (block $inner
        (br_table $inner $outer 2 (local.get $k)))
      (call $a)
      (return))
    (call $b))

  (func $main (export "main") (result i32)
    (call $dispatch (i32.const 0))
    (call $dispatch (i32.const 1))
    (call $dispatch (i32.const 9))
    (i32.add
      (i32.add
        (call $clamp (i32.const 500))
        (i32.add (call $clamp (i32.const 7)) (call $clamp (i32.const 100))))
      (i32.add
        (i32.add (call $classify (i32.const 0)) (call $classify (i32.const 1)))
        (i32.add (call $classify (i32.const 2)) (call $classify (i32.const 5)))))))
