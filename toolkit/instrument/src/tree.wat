;; wprof embedded runtime, calling-context tier: the storage behind a
;; self-profiling artifact (`wprof instrument --embed`) on hosts with
;; multi-memory. It keeps everything in the probe runtime's memory (memory
;; 1, after runtime.wat's tables), so memory 0 is only ever borrowed:
;;   [base, +SAVE)                       memory 0's borrowed prefix
;;   [base+SAVE, +EXPORT*n_exports)      per export: calls u64, total ns
;;                                       u64, max ns u64, BUCKETS u64
;;                                       latency buckets
;;   [allocs, +24*node_cap)              with memory probes: per context,
;;                                       allocations u64, bytes u64, frees u64
;;   [totals, +32)                       memory.grow calls, pages grown,
;;                                       pages grown outside an allocator,
;;                                       collections
;;   [image, …)                          the profile image, built on demand
;; embed.wat writes the image out; the image format is described there.
;; Latency bucket b holds durations d with d = b for b < 4, else
;; (4 + b % 4) << (b / 4 - 1) ≤ d < (5 + b % 4) << (b / 4 - 1): four steps
;; per power of two (wprof_profile::buckets reads them).
(module
  (import "guest" "memory" (memory $guest 0))
  (import "wprof" "memory" (memory $rt 1))
  (import "wprof" "node_count" (global $node_count (mut i32)))
  (import "wprof" "n_funcs" (global $n_funcs (mut i32)))
  (import "wprof" "nodes_base" (global $nodes_base (mut i32)))
  (import "wprof" "flat_base" (global $flat_base (mut i32)))
  (import "wprof" "overflow" (global $overflow (mut i64)))
  (import "wprof" "node_cap" (global $node_cap (mut i32)))
  (import "wprof" "cur_addr" (global $cur_addr i32))

  ;; Bytes of memory 0 borrowed at most.
  (global $SAVE i32 (i32.const 65536))
  (global $BUCKETS i32 (i32.const 256))
  ;; Bytes per export: calls, total, max, buckets.
  (global $EXPORT i32 (i32.const 2072))

  (global $base (mut i32) (i32.const 0))
  (global $exports (mut i32) (i32.const 0))
  (global $n_exports (mut i32) (i32.const 0))
  (global $image (mut i32) (i32.const 0))
  ;; With memory probes: per-context counters and totals (else 0).
  (global $allocs (mut i32) (i32.const 0))
  (global $totals (mut i32) (i32.const 0))
  (global $id (mut i64) (i64.const 0))
  ;; Bytes of memory 0 borrowed by the call in progress.
  (global $borrowed (mut i32) (i32.const 0))

  ;; embed_init(n_exports, id, memory): after the probe runtime's `init`,
  ;; whose tables end where the runtime's memory ends; `memory`: the
  ;; artifact has memory probes.
  (func (export "embed_init") (param $n i32) (param $id i64) (param $memory i32)
    (global.set $n_exports (local.get $n))
    (global.set $id (local.get $id))
    (global.set $base (i32.shl (memory.size $rt) (i32.const 16)))
    (global.set $exports (i32.add (global.get $base) (global.get $SAVE)))
    (global.set $image
      (i32.add (global.get $exports) (i32.mul (local.get $n) (global.get $EXPORT))))
    (if (local.get $memory)
      (then
        (global.set $allocs (global.get $image))
        (global.set $totals
          (i32.add (global.get $allocs) (i32.mul (global.get $node_cap) (i32.const 24))))
        (global.set $image (i32.add (global.get $totals) (i32.const 32)))))
    (drop (call $reserve (global.get $image))))

  ;; The counters of the context running now (a call the full tree could
  ;; not place counts on the context that made it).
  (func $site (result i32)
    (local $node i32)
    (local.set $node (i32.and (i32.load $rt (global.get $cur_addr)) (i32.const 0x7fffffff)))
    (if (i32.ge_u (local.get $node) (global.get $node_cap)) (then (local.set $node (i32.const 0))))
    (i32.add (global.get $allocs) (i32.mul (local.get $node) (i32.const 24))))

  (func $add (param $at i32) (param $v i64)
    (i64.store $rt (local.get $at) (i64.add (i64.load $rt (local.get $at)) (local.get $v))))

  ;; The memory probes (runtime.wat's `wprof_mem` ABI, abi::mem): counts
  ;; per context, as `wprof run --memory` counts allocations: a realloc
  ;; that allocates or moves is one allocation, one in place is none.
  (func (export "alloc") (param $addr i64) (param $size i64) (param $layer i32)
    (local $at i32)
    (local.set $at (call $site))
    (call $add (local.get $at) (i64.const 1))
    (call $add (i32.add (local.get $at) (i32.const 8)) (local.get $size)))
  (func (export "free") (param $addr i64) (param $layer i32)
    (if (i64.ne (local.get $addr) (i64.const 0))
      (then (call $add (i32.add (call $site) (i32.const 16)) (i64.const 1)))))
  (func (export "realloc") (param $old i64) (param $new i64) (param $size i64) (param $layer i32)
    (local $at i32)
    (local.set $at (call $site))
    (if (i64.eqz (local.get $old))
      (then
        (if (i64.ne (local.get $new) (i64.const 0))
          (then
            (call $add (local.get $at) (i64.const 1))
            (call $add (i32.add (local.get $at) (i32.const 8)) (local.get $size))))
        (return)))
    (if (i64.eqz (local.get $new))
      (then
        (if (i64.eqz (local.get $size))
          (then (call $add (i32.add (local.get $at) (i32.const 16)) (i64.const 1))))
        (return)))
    (if (i64.ne (local.get $new) (local.get $old))
      (then
        (call $add (i32.add (local.get $at) (i32.const 16)) (i64.const 1))
        (call $add (local.get $at) (i64.const 1))
        (call $add (i32.add (local.get $at) (i32.const 8)) (local.get $size)))))
  (func (export "grow") (param $result i64) (param $delta i64) (param $in_alloc i32)
    (call $add (global.get $totals) (i64.const 1))
    (if (i64.ge_s (local.get $result) (i64.const 0))
      (then
        (call $add (i32.add (global.get $totals) (i32.const 8)) (local.get $delta))
        (if (i32.eqz (local.get $in_alloc))
          (then (call $add (i32.add (global.get $totals) (i32.const 16)) (local.get $delta)))))))
  (func (export "gc_begin"))
  (func (export "gc_end") (param $heap i64) (param $state i32)
    (call $add (i32.add (global.get $totals) (i32.const 24)) (i64.const 1)))
  (func (export "gc_cycle")
    (call $add (i32.add (global.get $totals) (i32.const 24)) (i64.const 1)))

  ;; Grows the runtime's memory to hold `end` bytes; 0 when it cannot.
  (func $reserve (param $end i32) (result i32)
    (local $pages i32)
    (local.set $pages
      (i32.sub
        (i32.shr_u (i32.add (local.get $end) (i32.const 65535)) (i32.const 16))
        (memory.size $rt)))
    (if (i32.gt_s (local.get $pages) (i32.const 0))
      (then
        (if (i32.eq (memory.grow $rt (local.get $pages)) (i32.const -1))
          (then (return (i32.const 0))))))
    (i32.const 1))

  ;; borrow(want) -> bytes of memory 0's prefix saved for scratch (≤ want).
  (func (export "borrow") (param $want i32) (result i32)
    (local $have i32)
    (local.set $have (i32.shl (memory.size $guest) (i32.const 16)))
    ;; 65536 pages of memory 0 overflow the shift: they hold plenty.
    (if (i32.eqz (local.get $have))
      (then (local.set $have (select (global.get $SAVE) (i32.const 0) (memory.size $guest)))))
    (local.set $have
      (select (local.get $want) (local.get $have) (i32.lt_u (local.get $want) (local.get $have))))
    (local.set $have
      (select (local.get $have) (global.get $SAVE) (i32.lt_u (local.get $have) (global.get $SAVE))))
    (memory.copy $rt $guest (global.get $base) (i32.const 0) (local.get $have))
    (global.set $borrowed (local.get $have))
    (local.get $have))

  ;; give_back(): puts the borrowed bytes back.
  (func (export "give_back")
    (memory.copy $guest $rt (i32.const 0) (global.get $base) (global.get $borrowed))
    (global.set $borrowed (i32.const 0)))

  ;; record(export, ns): one completed call of export number `export`.
  (func (export "record") (param $k i32) (param $ns i64)
    (local $at i32) (local $e i32) (local $b i32)
    (local.set $at
      (i32.add (global.get $exports) (i32.mul (local.get $k) (global.get $EXPORT))))
    (i64.store $rt (local.get $at) (i64.add (i64.load $rt (local.get $at)) (i64.const 1)))
    (i64.store $rt offset=8 (local.get $at)
      (i64.add (i64.load $rt offset=8 (local.get $at)) (local.get $ns)))
    (if (i64.gt_u (local.get $ns) (i64.load $rt offset=16 (local.get $at)))
      (then (i64.store $rt offset=16 (local.get $at) (local.get $ns))))
    (if (i64.lt_u (local.get $ns) (i64.const 4))
      (then (local.set $b (i32.wrap_i64 (local.get $ns))))
      (else
        (local.set $e (i32.sub (i32.const 63) (i32.wrap_i64 (i64.clz (local.get $ns)))))
        (local.set $b
          (i32.add
            (i32.shl (i32.sub (local.get $e) (i32.const 1)) (i32.const 2))
            (i32.and
              (i32.wrap_i64 (i64.shr_u (local.get $ns) (i64.extend_i32_u (i32.sub (local.get $e) (i32.const 2)))))
              (i32.const 3))))))
    (local.set $at (i32.add (local.get $at) (i32.add (i32.const 24) (i32.shl (local.get $b) (i32.const 3)))))
    (i64.store $rt (local.get $at) (i64.add (i64.load $rt (local.get $at)) (i64.const 1))))

  ;; build() -> length of the profile image, built at `$image`; 0 when the
  ;; runtime's memory cannot hold it.
  (func (export "build") (result i32)
    (local $at i32) (local $n i32)
    (local.set $n (global.get $node_count))
    (if (i32.eqz
          (call $reserve
            (i32.add (global.get $image)
              (i32.add (i32.const 96)
                (i32.add (i32.mul (local.get $n) (i32.const 48))
                  (i32.add (i32.shl (global.get $n_funcs) (i32.const 3))
                    (i32.mul (global.get $n_exports) (global.get $EXPORT))))))))
      (then (return (i32.const 0))))
    (local.set $at (global.get $image))
    (memory.fill $rt (local.get $at) (i32.const 0) (i32.const 64))
    (i64.store $rt (local.get $at) (i64.const 0x626d65666f727077)) ;; "wprofemb"
    (i32.store $rt offset=8 (local.get $at) (i32.const 1))
    (i32.store $rt offset=12 (local.get $at) (global.get $n_funcs))
    (i32.store $rt offset=16 (local.get $at) (local.get $n))
    (i32.store $rt offset=20 (local.get $at) (global.get $n_exports))
    (i64.store $rt offset=24 (local.get $at) (global.get $id))
    (i64.store $rt offset=32 (local.get $at) (global.get $overflow))
    (i32.store $rt offset=40 (local.get $at) (global.get $BUCKETS))
    ;; flags: contexts, and allocation counts with memory probes
    (i32.store $rt offset=44 (local.get $at)
      (select (i32.const 3) (i32.const 1) (global.get $allocs)))
    (local.set $at (i32.add (local.get $at) (i32.const 64)))
    (memory.copy $rt $rt (local.get $at) (global.get $nodes_base) (i32.shl (local.get $n) (i32.const 4)))
    (local.set $at (i32.add (local.get $at) (i32.shl (local.get $n) (i32.const 4))))
    (memory.copy $rt $rt (local.get $at) (global.get $flat_base) (i32.shl (global.get $n_funcs) (i32.const 3)))
    (local.set $at (i32.add (local.get $at) (i32.shl (global.get $n_funcs) (i32.const 3))))
    ;; The per-context overflow counters follow the per-function ones
    ;; (runtime.wat's layout).
    (memory.copy $rt $rt (local.get $at)
      (i32.add (global.get $flat_base) (i32.shl (global.get $n_funcs) (i32.const 3)))
      (i32.shl (local.get $n) (i32.const 3)))
    (local.set $at (i32.add (local.get $at) (i32.shl (local.get $n) (i32.const 3))))
    (memory.copy $rt $rt (local.get $at) (global.get $exports)
      (i32.mul (global.get $n_exports) (global.get $EXPORT)))
    (local.set $at (i32.add (local.get $at) (i32.mul (global.get $n_exports) (global.get $EXPORT))))
    (if (global.get $allocs)
      (then
        (memory.copy $rt $rt (local.get $at) (global.get $allocs) (i32.mul (local.get $n) (i32.const 24)))
        (local.set $at (i32.add (local.get $at) (i32.mul (local.get $n) (i32.const 24))))
        (memory.copy $rt $rt (local.get $at) (global.get $totals) (i32.const 32))
        (local.set $at (i32.add (local.get $at) (i32.const 32)))))
    (i32.sub (local.get $at) (global.get $image)))

  ;; fill(dst, off, len): bytes [off, off+len) of the image built last
  ;; into memory 0 at `dst`.
  (func (export "fill") (param $dst i32) (param $off i32) (param $len i32)
    (memory.copy $guest $rt (local.get $dst) (i32.add (global.get $image) (local.get $off)) (local.get $len)))

  ;; wprof_profile_ptr() -> where in the runtime's memory (exported as
  ;; `wprof_memory`) `wprof_profile_len` built the profile.
  (func (export "wprof_profile_ptr") (result i32)
    (global.get $image))
)
