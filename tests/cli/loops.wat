;; RUN: run % --invoke main
;; EXIT: 0
;; KIND: exit
;; CALLS: main=1 find=2 probe=13 grid=2 cell=7 spin=1 step=10
;;
;; Leaving a function early from inside loops (br_if / br_table out of the body).
;;   find  = 2   find(50) and find(9)
;;   probe = 13  find(n) calls probe(i) = i*i for i = 0, 1, ... and leaves the
;;               function (`br_if 2` from a loop inside a block) at the first i
;;               with i*i >= n: n = 50 -> i = 0..=8 (9 calls, 8*8 = 64 >= 50 > 49);
;;               n = 9 -> i = 0..=3 (4 calls, 3*3 = 9); 9 + 4 = 13
;;   grid  = 2   grid(20) and grid(1)
;;   cell  = 7   grid walks i = 0, 1, ... (outer loop) x j = 0..3 (inner loop),
;;               adding cell(i, j) = 3i + j + 1 = 1, 2, 3, 4, 5, 6, ... to acc and
;;               leaving the function (`br_if 2` from the inner loop) once
;;               acc >= limit: acc = 1, 3, 6, 10, 15, 21 -> 6 calls for limit 20,
;;               1 call for limit 1; 6 + 1 = 7
;;   spin  = 1
;;   step  = 10  spin(10) loops: call step, i += 1, then `br_table $loop 1` with
;;               index (i >= 10): continues 9 times, leaves the function the 10th
;; Result: find(50) = 8, find(9) = 3, grid(20) = 21, grid(1) = 1, steps = 10
;;         -> 8 + 3 + 21 + 1 + 10 = 43.
(module
  (global $steps (mut i32) (i32.const 0))

  (func $probe (param $i i32) (result i32)
    (i32.mul (local.get $i) (local.get $i)))

  (func $find (param $n i32) (result i32) (local $i i32)
    (block
      (loop
        (br_if 2 (local.get $i)
          (i32.ge_s (call $probe (local.get $i)) (local.get $n)))
        (drop)
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br 0)))
    (i32.const -1))

  (func $cell (param $i i32) (param $j i32) (result i32)
    (i32.add (i32.add (i32.mul (local.get $i) (i32.const 3)) (local.get $j)) (i32.const 1)))

  (func $grid (param $limit i32) (result i32) (local $i i32) (local $j i32) (local $acc i32)
    (loop $outer
      (local.set $j (i32.const 0))
      (loop $inner
        (local.set $acc
          (i32.add (local.get $acc) (call $cell (local.get $i) (local.get $j))))
        ;; 0 = $inner, 1 = $outer, 2 = function body
        (drop (br_if 2 (local.get $acc) (i32.ge_s (local.get $acc) (local.get $limit))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br_if $inner (i32.lt_s (local.get $j) (i32.const 3))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $outer))
    (unreachable))

  (func $step
    (global.set $steps (i32.add (global.get $steps) (i32.const 1))))

  (func $spin (param $n i32) (local $i i32)
    (loop $l
      (call $step)
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      ;; index 0 -> $l (again), index 1 -> label 1 = function body (leave)
      (br_table $l 1 (i32.ge_s (local.get $i) (local.get $n)))))

  (func $main (export "main") (result i32)
    (call $spin (i32.const 10))
    (i32.add
      (i32.add
        (i32.add (call $find (i32.const 50)) (call $find (i32.const 9)))
        (i32.add (call $grid (i32.const 20)) (call $grid (i32.const 1))))
      (global.get $steps))))
