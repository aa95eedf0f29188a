;; Memory probes on an AssemblyScript-style runtime, with the names its
;; `--debug` builds keep.
;;   __new    GC object: reported 16 bytes before the pointer it returns (the
;;            TLSF block the collector later passes to __free)
;;   __alloc  unmanaged block, nested inside __new (not reported there)
;;   __free   unmanaged free
;;   step     a collector step: runs between gc_begin/gc_end, and gc_end reads
;;            the live-bytes counter `~lib/rt/itcms/total` and `state`
;; __realloc and __renew are optional; nothing is missing.
(module
  (memory (export "memory") 1)
  (global $~lib/rt/itcms/total (mut i32) (i32.const 0))
  (global $~lib/rt/itcms/state (mut i32) (i32.const 0))
  (global $~lib/rt/tlsf/top (mut i32) (i32.const 64))

  (func $~lib/rt/tlsf/__alloc (param $size i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $~lib/rt/tlsf/top))
    (global.set $~lib/rt/tlsf/top
      (i32.add (local.get $p) (i32.add (local.get $size) (i32.const 4))))
    (i32.add (local.get $p) (i32.const 4)))

  (func $~lib/rt/tlsf/__free (param $ptr i32))

  (func $~lib/rt/itcms/step (result i32)
    (global.set $~lib/rt/itcms/state (i32.const 0))
    (global.get $~lib/rt/itcms/total))

  (func $~lib/rt/itcms/__new (param $size i32) (param $id i32) (result i32)
    (local $block i32)
    (drop (call $~lib/rt/itcms/step))
    (local.set $block
      (call $~lib/rt/tlsf/__alloc (i32.add (local.get $size) (i32.const 16))))
    (i32.store offset=12 (local.get $block) (local.get $id))
    (global.set $~lib/rt/itcms/total
      (i32.add (global.get $~lib/rt/itcms/total) (local.get $size)))
    (i32.add (local.get $block) (i32.const 16)))

  (func $main (export "main") (result i32)
    (call $~lib/rt/tlsf/__free (call $~lib/rt/tlsf/__alloc (i32.const 8)))
    (call $~lib/rt/itcms/__new (i32.const 12) (i32.const 3))))
