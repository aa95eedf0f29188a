;; RUN: run % --invoke main
;; EXIT: 0
;; KIND: exit
;; CALLS: main=1 apply=10 f0=3 f1=5 f2=2
;;
;; `call_indirect` through a table; one function sits in two slots.
;; table = [f0, f1, f2, f1]; main loops i = 0..10 and calls apply(i), which
;; does call_indirect table[i % 4](i).
;;   apply = 10  once per iteration
;;   f0    = 3   slot 0: i = 0, 4, 8
;;   f1    = 5   slot 1: i = 1, 5, 9 (3) + slot 3: i = 3, 7 (2) -- counted per
;;               function, not per table slot
;;   f2    = 2   slot 2: i = 2, 6
;; Result: f0(i) = i, f1(i) = 10 * i, f2(i) = 100 * i:
;;   f0: 0 + 4 + 8 = 12; f1: 10 * (1 + 5 + 9 + 3 + 7) = 250; f2: 100 * (2 + 6) = 800
;;   -> 1062.
(module
  (type $unop (func (param i32) (result i32)))
  (table 4 funcref)
  (elem (i32.const 0) func $f0 $f1 $f2 $f1)

  (func $f0 (type $unop) (local.get 0))
  (func $f1 (type $unop) (i32.mul (local.get 0) (i32.const 10)))
  (func $f2 (type $unop) (i32.mul (local.get 0) (i32.const 100)))

  (func $apply (param $i i32) (result i32)
    (call_indirect (type $unop)
      (local.get $i)
      (i32.rem_u (local.get $i) (i32.const 4))))

  (func $main (export "main") (result i32) (local $i i32) (local $acc i32)
    (loop $l
      (local.set $acc (i32.add (local.get $acc) (call $apply (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 10))))
    (local.get $acc)))
