;; RUN: run % --invoke main
;; EXIT: 0
;; KIND: exit
;; CALLS: main=1 triple=2 triple_ret=1 triple_br=1 swap=1 pick=2 blocks=1
;;
;; Multi-value: functions returning (i32 i64 f64), blocks/ifs with several
;; results and with params, and `return` / `br` carrying several values.
;;   triple     = 2  triple(10), triple(0): falls through with 3 values
;;   triple_ret = 1  `return` with 3 values from block/loop, an extra i32 under them
;;   triple_br  = 1  `br 1` (function body) carrying 3 values
;;   pick       = 2  pick(1), pick(0): `if (result i32 i64)` both arms
;;   swap       = 1  (i32 i32) -> (i32 i32), called from blocks
;;   blocks     = 1  block (result i32 i32), then swap, then block (param i32 i32)
;; Result (main returns i32 i64 f64, summed component-wise):
;;   triple(10)     = (10, 10000, 2.5)
;;   triple(0)      = (0, 0, 0.0)
;;   triple_ret(3)  = (4, -5, 2.5)
;;   triple_br(5)   = (5, 7, 0.5)
;;   pick(1)        = (1, 10)        pick(0) = (2, 20)
;;   blocks()       = 4 - 3 = 1      (i32 part only)
;;   -> i32 10+0+4+5+1+2+1 = 23, i64 10000+0-5+7+10+20 = 10032, f64 2.5+0+2.5+0.5 = 5.5
(module
  (func $triple (param $x i32) (result i32 i64 f64)
    (local.get $x)
    (i64.mul (i64.extend_i32_s (local.get $x)) (i64.const 1000))
    (f64.div (f64.convert_i32_s (local.get $x)) (f64.const 4)))

  (func $triple_ret (param $x i32) (result i32 i64 f64)
    (block
      (loop
        (i32.const 12345)   ;; extra value, discarded by `return`
        (i32.add (local.get $x) (i32.const 1))
        (i64.const -5)
        (f64.const 2.5)
        (return)))
    (unreachable))

  (func $triple_br (param $x i32) (result i32 i64 f64)
    (block
      (local.get $x)
      (i64.const 7)
      (f64.const 0.5)
      (br 1))               ;; 0 = block, 1 = function body
    (unreachable))

  (func $swap (param $a i32) (param $b i32) (result i32 i32)
    (local.get $b)
    (local.get $a))

  (func $pick (param $c i32) (result i32 i64)
    (if (result i32 i64) (local.get $c)
      (then (i32.const 1) (i64.const 10))
      (else (i32.const 2) (i64.const 20))))

  (func $blocks (result i32)
    (block (result i32 i32)
      (i32.const 3)
      (i32.const 4))                      ;; [3 4]
    (call $swap)                          ;; [4 3]
    (block (param i32 i32) (result i32)
      (i32.sub)))                         ;; 4 - 3 = 1

  (func $main (export "main") (result i32 i64 f64)
    (local $i i32) (local $l i64) (local $f f64)
    (local $ti i32) (local $tl i64) (local $tf f64)
    ;; acc += triple(10)
    (call $triple (i32.const 10))
    (local.set $tf) (local.set $tl) (local.set $ti)
    (local.set $i (i32.add (local.get $i) (local.get $ti)))
    (local.set $l (i64.add (local.get $l) (local.get $tl)))
    (local.set $f (f64.add (local.get $f) (local.get $tf)))
    ;; acc += triple(0)
    (call $triple (i32.const 0))
    (local.set $tf) (local.set $tl) (local.set $ti)
    (local.set $i (i32.add (local.get $i) (local.get $ti)))
    (local.set $l (i64.add (local.get $l) (local.get $tl)))
    (local.set $f (f64.add (local.get $f) (local.get $tf)))
    ;; acc += triple_ret(3)
    (call $triple_ret (i32.const 3))
    (local.set $tf) (local.set $tl) (local.set $ti)
    (local.set $i (i32.add (local.get $i) (local.get $ti)))
    (local.set $l (i64.add (local.get $l) (local.get $tl)))
    (local.set $f (f64.add (local.get $f) (local.get $tf)))
    ;; acc += triple_br(5)
    (call $triple_br (i32.const 5))
    (local.set $tf) (local.set $tl) (local.set $ti)
    (local.set $i (i32.add (local.get $i) (local.get $ti)))
    (local.set $l (i64.add (local.get $l) (local.get $tl)))
    (local.set $f (f64.add (local.get $f) (local.get $tf)))
    ;; acc += pick(1), pick(0)
    (call $pick (i32.const 1))
    (local.set $tl) (local.set $ti)
    (local.set $i (i32.add (local.get $i) (local.get $ti)))
    (local.set $l (i64.add (local.get $l) (local.get $tl)))
    (call $pick (i32.const 0))
    (local.set $tl) (local.set $ti)
    (local.set $i (i32.add (local.get $i) (local.get $ti)))
    (local.set $l (i64.add (local.get $l) (local.get $tl)))
    ;; acc += blocks()
    (local.set $i (i32.add (local.get $i) (call $blocks)))
    (local.get $i)
    (local.get $l)
    (local.get $f)))
