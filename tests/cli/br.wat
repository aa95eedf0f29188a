;; RUN: run % --invoke main
;; EXIT: 0
;; KIND: exit
;; CALLS: main=1 br_top=2 br_nested=1 br_void=1 mark=1 br_multi_depth=3
;;
;; `br` to the function-body label (the body is the outermost block, so
;; `br N` with N = number of enclosing blocks/loops leaves the function).
;;   br_top         = 2  `br 0` at the top level: returns x + 100; called for 1 and 2
;;   br_nested      = 1  `br 3` from inside block/block/loop, extra values under the result
;;   br_void        = 1  `br 1` from a block in a function without results
;;   mark           = 1  br_void calls mark once; the call after the block is skipped
;;   br_multi_depth = 3  called with d = 0, 1, 2; each leaves the function with
;;                       `br` from a different nesting depth (1, 2 or 3)
;; Result: br_top(1) = 101, br_top(2) = 102, br_nested(5) = 5,
;;         br_multi_depth(0) = 10, (1) = 20, (2) = 30 -> 101+102+5+10+20+30 = 268.
(module
  (func $mark)

  (func $br_top (param $x i32) (result i32)
    (i32.add (local.get $x) (i32.const 100))
    (br 0)
    (i32.const -1))

  (func $br_nested (param $x i32) (result i32)
    (block
      (block
        (loop
          (i32.const 7)
          (i32.const 8)
          (local.get $x)
          (br 3))))     ;; 0 = loop, 1 = inner block, 2 = outer block, 3 = function body
    (i32.const -1))

  (func $br_void
    (block
      (call $mark)
      (br 1))          ;; 0 = block, 1 = function body
    (call $mark))

  (func $br_multi_depth (param $d i32) (result i32)
    (block
      (i32.const 10)
      (br_if 1 (i32.eqz (local.get $d)))   ;; depth 1 when d = 0 (taken: returns 10)
      (drop)
      (block
        (i32.const 20)
        (br_if 2 (i32.eq (local.get $d) (i32.const 1)))  ;; depth 2 when d = 1
        (drop)
        (loop
          (i32.const 30)
          (br 3))))                          ;; depth 3 otherwise
    (i32.const -1))

  (func $main (export "main") (result i32)
    (call $br_void)
    (i32.add
      (i32.add
        (i32.add (call $br_top (i32.const 1)) (call $br_top (i32.const 2)))
        (call $br_nested (i32.const 5)))
      (i32.add
        (call $br_multi_depth (i32.const 0))
        (i32.add (call $br_multi_depth (i32.const 1)) (call $br_multi_depth (i32.const 2)))))))
