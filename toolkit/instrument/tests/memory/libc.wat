;; Memory probes on a libc-style allocator. Each malloc-family function gets
;; a wrapper that reports to `wprof_mem` when it is the outermost allocator
;; frame, and every reference to the original (the export, the table slot,
;; direct calls from other functions) is pointed at the wrapper.
;;   malloc   exported and in table slot 0; main calls it through the table
;;   calloc   calls malloc: nested, so only calloc's report reaches the host
;;   realloc  calls malloc and free: nested likewise
;;   free     a void hook
;;   sbrk     not an allocator name: not hooked; its `memory.grow` runs inside
;;            malloc's wrapper (depth != 0), the allocator asking for room
;;   reserve  a `memory.grow` outside any allocator: untracked growth
(module
  (memory (export "memory") 1)
  (global $brk (mut i32) (i32.const 1024))
  (table 1 funcref)
  (elem (i32.const 0) func $malloc)

  (func $sbrk (param $n i32) (result i32)
    (local $old i32)
    (local.set $old (global.get $brk))
    (global.set $brk (i32.add (local.get $old) (local.get $n)))
    (if (i32.gt_u (global.get $brk) (i32.shl (memory.size) (i32.const 16)))
      (then (drop (memory.grow (i32.const 1)))))
    (local.get $old))

  (func $malloc (export "malloc") (param $size i32) (result i32)
    (call $sbrk (local.get $size)))

  (func $free (param $ptr i32))

  (func $calloc (param $n i32) (param $size i32) (result i32)
    (local $p i32)
    (local.set $p (call $malloc (i32.mul (local.get $n) (local.get $size))))
    (memory.fill (local.get $p) (i32.const 0) (i32.mul (local.get $n) (local.get $size)))
    (local.get $p))

  (func $realloc (param $ptr i32) (param $size i32) (result i32)
    (local $p i32)
    (local.set $p (call $malloc (local.get $size)))
    (memory.copy (local.get $p) (local.get $ptr) (local.get $size))
    (call $free (local.get $ptr))
    (local.get $p))

  (func $reserve (param $pages i32) (result i32)
    (memory.grow (local.get $pages)))

  (func $main (export "main") (result i32)
    (local $p i32)
    (local.set $p (call_indirect (param i32) (result i32) (i32.const 16) (i32.const 0)))
    (local.set $p (call $realloc (local.get $p) (i32.const 32)))
    (call $free (local.get $p))
    (call $free (call $calloc (i32.const 4) (i32.const 8)))
    (drop (call $reserve (i32.const 1)))
    (memory.size)))
