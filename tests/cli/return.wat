;; RUN: run % --invoke main
;; EXIT: 0
;; KIND: exit
;; CALLS: main=1 ret_top=1 ret_block=1 ret_loop=2 tick=6 ret_if=2 ret_void=1 mark=1
;;
;; Explicit `return` from every kind of position.
;;   ret_top   = 1  `return` at the top level of the body, dead code after it
;;   ret_block = 1  `return` three blocks deep with two extra values under the result
;;   ret_loop  = 2  ret_loop(4) and ret_loop(0): `return` from inside a loop
;;   tick      = 6  ret_loop(n) calls tick once per iteration i = 0..=n, returning
;;                  at i = n: 5 calls for n = 4, 1 call for n = 0
;;   ret_if    = 2  ret_if(1) returns from the `then` arm, ret_if(0) from the `else` arm
;;   ret_void  = 1  `return` from a nested block of a function with no results
;;   mark      = 1  ret_void calls mark once before returning; the second call is skipped
;; Result: ret_top(3) = 6, ret_block(7) = 7, ret_loop(4) = 40, ret_loop(0) = 0,
;;         ret_if(1) = 100, ret_if(0) = 200 -> 6 + 7 + 40 + 0 + 100 + 200 = 353.
(module
  (func $tick)
  (func $mark)

  (func $ret_top (param $x i32) (result i32)
    (return (i32.mul (local.get $x) (i32.const 2)))
    (unreachable))

  (func $ret_block (param $x i32) (result i32)
    (block
      (block
        (block
          (i32.const 111)
          (i32.const 222)
          (local.get $x)
          (return))))
    (i32.const -1))

  (func $ret_loop (param $n i32) (result i32) (local $i i32)
    (loop $l
      (call $tick)
      (if (i32.eq (local.get $i) (local.get $n))
        (then
          (i32.const 999)   ;; extra value left under the returned one
          (i32.mul (local.get $i) (i32.const 10))
          (return)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l))
    (unreachable))

  (func $ret_if (param $c i32) (result i32)
    (if (local.get $c)
      (then (return (i32.const 100)))
      (else (return (i32.const 200))))
    (unreachable))

  (func $ret_void
    (block
      (loop
        (call $mark)
        (return)))
    (call $mark))

  (func $main (export "main") (result i32)
    (call $ret_void)
    (i32.add
      (i32.add
        (i32.add (call $ret_top (i32.const 3)) (call $ret_block (i32.const 7)))
        (i32.add (call $ret_loop (i32.const 4)) (call $ret_loop (i32.const 0))))
      (i32.add (call $ret_if (i32.const 1)) (call $ret_if (i32.const 0))))))
