;; RUN: run % --invoke main
;; EXIT: 0
;; KIND: exit
;; CALLS: main=1 countdown=11 sum_acc=101 ping=4 pong=3 dispatch=4 sq=2 neg=1 add3=1 spin_ind=6
;;
;; Tail calls (tail-call proposal): `return_call` and `return_call_indirect`.
;; Each tail call still counts as one call of its callee.
;;   countdown = 11   countdown(10) = return_call countdown(n-1) until n = 0: N + 1 calls
;;   sum_acc   = 101  sum_acc(100, 0): tail-recursive accumulator, n = 100 ... 0
;;   ping/pong        ping(6) -> pong(5) -> ping(4) -> pong(3) -> ping(2) -> pong(1)
;;                    -> ping(0): ping = 4 (6, 4, 2, 0), pong = 3 (5, 3, 1)
;;   dispatch  = 4    dispatch(k, x) = return_call_indirect table[k](x), for
;;                    (0, 5), (1, 5), (2, 5), (0, 3)
;;   sq = 2, neg = 1, add3 = 1   table = [sq, neg, add3, spin_ind]: k = 0 twice, 1, 2
;;   spin_ind  = 6    spin_ind(5) tail-calls itself through the table (slot 3) with
;;                    n - 1 until n = 0: N + 1 = 6 calls
;; Result: countdown(10) = 100 (the value returned at n = 0), sum_acc(100, 0) = 5050,
;;         ping(6) = 1 (the chain ends in ping(0)), dispatch: sq(5) + neg(5) + add3(5)
;;         + sq(3) = 25 - 5 + 8 + 9 = 37, spin_ind(5) = 77
;;         -> 100 + 5050 + 1 + 37 + 77 = 5265.
(module
  (type $unop (func (param i32) (result i32)))
  (table 4 funcref)
  (elem (i32.const 0) func $sq $neg $add3 $spin_ind)

  (func $countdown (param $n i32) (result i32)
    (if (i32.eqz (local.get $n))
      (then (return (i32.const 100))))
    (return_call $countdown (i32.sub (local.get $n) (i32.const 1))))

  (func $sum_acc (param $n i32) (param $acc i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (local.get $acc))
      (else
        (return_call $sum_acc
          (i32.sub (local.get $n) (i32.const 1))
          (i32.add (local.get $acc) (local.get $n))))))

  (func $ping (param $n i32) (result i32)
    (if (i32.eqz (local.get $n)) (then (return (i32.const 1))))
    (return_call $pong (i32.sub (local.get $n) (i32.const 1))))

  (func $pong (param $n i32) (result i32)
    (if (i32.eqz (local.get $n)) (then (return (i32.const 2))))
    (return_call $ping (i32.sub (local.get $n) (i32.const 1))))

  (func $sq (type $unop) (i32.mul (local.get 0) (local.get 0)))
  (func $neg (type $unop) (i32.sub (i32.const 0) (local.get 0)))
  (func $add3 (type $unop) (i32.add (local.get 0) (i32.const 3)))

  (func $spin_ind (type $unop)
    (if (i32.eqz (local.get 0)) (then (return (i32.const 77))))
    (return_call_indirect (type $unop)
      (i32.sub (local.get 0) (i32.const 1))
      (i32.const 3)))

  (func $dispatch (param $k i32) (param $x i32) (result i32)
    (return_call_indirect (type $unop) (local.get $x) (local.get $k)))

  (func $main (export "main") (result i32)
    (i32.add
      (i32.add
        (i32.add (call $countdown (i32.const 10)) (call $sum_acc (i32.const 100) (i32.const 0)))
        (call $ping (i32.const 6)))
      (i32.add
        (i32.add
          (i32.add (call $dispatch (i32.const 0) (i32.const 5)) (call $dispatch (i32.const 1) (i32.const 5)))
          (i32.add (call $dispatch (i32.const 2) (i32.const 5)) (call $dispatch (i32.const 0) (i32.const 3))))
        (call $spin_ind (i32.const 5))))))
