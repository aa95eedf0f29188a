;; RUN: run % --invoke main
;; EXIT: 0
;; KIND: exit
;; CALLS: main=1 nop=2 inc=4 double=3
;;
;; Every function leaves by falling off the end of its body (no return/br).
;;   nop    = 2  main calls it first and last
;;   double = 3  double(5), double(10), double(21)
;;   inc    = 4  once inside each double (3) + once directly from main (inc(20))
;; Result: double(5) = 10; double(10) = 20; inc(20) = 21; double(21) = 42.
(module
  (func $nop)

  (func $inc (param $x i32) (result i32)
    (i32.add (local.get $x) (i32.const 1)))

  ;; double(x) = inc(x) + x - 1 = 2x
  (func $double (param $x i32) (result i32)
    (i32.sub
      (i32.add (call $inc (local.get $x)) (local.get $x))
      (i32.const 1)))

  (func $main (export "main") (result i32)
    (call $nop)
    (call $double (call $inc (call $double (call $double (i32.const 5)))))
    (call $nop)))
