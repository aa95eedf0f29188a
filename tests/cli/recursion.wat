;; RUN: run % --invoke main
;; EXIT: 0
;; KIND: exit
;; CALLS: main=1 fact=10 fib=177 is_even=5 is_odd=5 ra=3 rb=3 rc=2 deep=5001
;;
;; Direct and mutual recursion (plain `call`, no tail calls).
;;   fact    = 10    fact(10): n = 10, 9, ..., 1 (fact(1) = 1 is the base case)
;;   fib     = 177   fib(10); calls(n) = 1 if n < 2 else 1 + calls(n-1) + calls(n-2)
;;   is_even = 5     is_even(9) -> is_odd(8) -> is_even(7) -> ... -> is_odd(0):
;;   is_odd  = 5       even for 9, 7, 5, 3, 1; odd for 8, 6, 4, 2, 0
;;   ra, rb, rc      three-way cycle ra(n) = n == 0 ? 0 : 1 + rb(n-1), rb -> rc,
;;                   rc -> ra; ra(7): ra(7) rb(6) rc(5) ra(4) rb(3) rc(2) ra(1) rb(0)
;;                   -> ra = 3, rb = 3, rc = 2
;;   deep    = 5001  deep(5000): n = 5000 ... 0, 5000 frames deep at the bottom
;; Result: 3628800 + 55 + 0 (9 is odd) + 7 + 5000 = 3633862.
(module
  (func $fact (param $n i32) (result i32)
    (if (result i32) (i32.le_s (local.get $n) (i32.const 1))
      (then (i32.const 1))
      (else (i32.mul (local.get $n) (call $fact (i32.sub (local.get $n) (i32.const 1)))))))

  (func $fib (param $n i32) (result i32)
    (if (result i32) (i32.lt_s (local.get $n) (i32.const 2))
      (then (local.get $n))
      (else
        (i32.add
          (call $fib (i32.sub (local.get $n) (i32.const 1)))
          (call $fib (i32.sub (local.get $n) (i32.const 2)))))))

  (func $is_even (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (i32.const 1))
      (else (call $is_odd (i32.sub (local.get $n) (i32.const 1))))))

  (func $is_odd (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (i32.const 0))
      (else (call $is_even (i32.sub (local.get $n) (i32.const 1))))))

  (func $ra (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $rb (i32.sub (local.get $n) (i32.const 1)))))))

  (func $rb (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $rc (i32.sub (local.get $n) (i32.const 1)))))))

  (func $rc (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $ra (i32.sub (local.get $n) (i32.const 1)))))))

  (func $deep (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $deep (i32.sub (local.get $n) (i32.const 1)))))))

  (func $main (export "main") (result i32)
    (i32.add
      (i32.add
        (i32.add (call $fact (i32.const 10)) (call $fib (i32.const 10)))
        (i32.add (call $is_even (i32.const 9)) (call $ra (i32.const 7))))
      (call $deep (i32.const 5000)))))
