;; wprof probe runtime, ABI version 2.
;;
;; A tiny module that an instrumented guest imports as `wprof`. It owns the
;; calling-context tree (CCT) in its *own* memory, so the guest's memory is
;; never touched and per-call work stays inside wasm: an instrumented call
;; costs two wasm->wasm calls (`enter`, `leave`). Node 20 (V8 11.3) cannot
;; load a module with two memories, which is why the tree lives here rather
;; than in a second memory of the guest.
;;
;; The current context is a word in this memory (at `cur_addr`), not a
;; global, and the memory is shared: a sampler on another thread (a native
;; thread, a JS Worker) reads it with an atomic load at any instant, so time
;; is charged to whatever runs when the sample is taken — a loop-free
;; function gets its own time. Plain stores suffice for the writer: the
;; reader only needs a recent value, and aligned 32-bit stores do not tear.
;;
;; Memory layout (all little-endian), set up by `init`:
;;   [0, 4)                       the current context (`cur_addr`); -2 while
;;                                `enter` itself runs
;;   [4, 8)                       the host call in progress (`host_addr`):
;;                                1 + the import's function index, 0 = none;
;;                                set by `host_enter`/`host_leave`, which the
;;                                artifact calls around calls of its imports
;;   [8, 16)                      a copy of `overflow` (`overflow_addr`)
;;   [16, 24)                     scratch (`scratch_addr`): an artifact that
;;                                links this runtime stores a function's
;;                                result here before restoring the context
;;   [nodes_base, +16*node_cap)   node n: parent u32, fid u32, calls u64
;;   [hash_base,  +4*hash_slots)  open addressing, slot = node index (0 = empty)
;;   [flat_base,  +8*n_funcs)     exact calls per function id, u64
;; Node 0 is the root (no function). Node 1 collects calls made after the
;; tree is full, so a pathological run degrades to "truncated" instead of
;; growing without bound; the per-function counters stay exact regardless.
(module
  ;; Shared memories need a maximum; 4 GiB is only reserved address space,
  ;; pages are committed as `init` grows the memory.
  (memory (export "memory") 1 65536 shared)

  ;; Address of the current-context word.
  (global $cur_addr (export "cur_addr") i32 (i32.const 0))
  ;; Address of the host-call word.
  (global $host_addr (export "host_addr") i32 (i32.const 4))
  (global $node_count (export "node_count") (mut i32) (i32.const 2))
  (global $node_cap (export "node_cap") (mut i32) (i32.const 0))
  (global $hash_mask (mut i32) (i32.const 0))
  (global $n_funcs (export "n_funcs") (mut i32) (i32.const 0))
  (global $nodes_base (export "nodes_base") (mut i32) (i32.const 0))
  (global $hash_base (mut i32) (i32.const 0))
  (global $flat_base (export "flat_base") (mut i32) (i32.const 0))
  ;; Calls that landed on the overflow node because the tree was full.
  (global $overflow (export "overflow") (mut i64) (i64.const 0))
  ;; Address of a copy of `overflow` in memory, so a host thread that cannot
  ;; read the globals (the guest still runs) reads the whole state there.
  (global $overflow_addr (export "overflow_addr") i32 (i32.const 8))
  (global $scratch_addr (export "scratch_addr") i32 (i32.const 16))
  ;; Calls the full tree could not place, per parent context (u64 each, one
  ;; per node, after the per-function counters).
  (global $overflow_base (mut i32) (i32.const 0))

  ;; init(n_funcs, node_cap): size the tables. node_cap is rounded up to a
  ;; power of two; the hash table has twice as many slots (load <= 0.5).
  ;; Returns 0 on success, -1 if memory could not grow.
  (func (export "init") (param $n i32) (param $cap i32) (result i32)
    (local $slots i32) (local $end i32) (local $pages i32)
    ;; round cap up to a power of two, at least 4
    (local.set $cap (select (local.get $cap) (i32.const 4) (i32.gt_u (local.get $cap) (i32.const 4))))
    (local.set $cap
      (i32.shl (i32.const 1) (i32.sub (i32.const 32) (i32.clz (i32.sub (local.get $cap) (i32.const 1))))))
    (local.set $slots (i32.shl (local.get $cap) (i32.const 1)))
    (global.set $n_funcs (local.get $n))
    (global.set $node_cap (local.get $cap))
    (global.set $hash_mask (i32.sub (local.get $slots) (i32.const 1)))
    (global.set $nodes_base (i32.const 64))
    (global.set $hash_base
      (i32.add (global.get $nodes_base) (i32.shl (local.get $cap) (i32.const 4))))
    (global.set $flat_base
      (i32.add (global.get $hash_base) (i32.shl (local.get $slots) (i32.const 2))))
    (global.set $overflow_base
      (i32.add (global.get $flat_base) (i32.shl (local.get $n) (i32.const 3))))
    (local.set $end
      (i32.add (global.get $overflow_base) (i32.shl (local.get $cap) (i32.const 3))))
    (local.set $pages
      (i32.sub
        (i32.shr_u (i32.add (local.get $end) (i32.const 65535)) (i32.const 16))
        (memory.size)))
    (if (i32.gt_s (local.get $pages) (i32.const 0))
      (then
        (if (i32.eq (memory.grow (local.get $pages)) (i32.const -1))
          (then (return (i32.const -1))))))
    ;; root and overflow nodes
    (i32.store (global.get $nodes_base) (i32.const -1))
    (i32.store offset=4 (global.get $nodes_base) (i32.const -1))
    (i32.store offset=16 (global.get $nodes_base) (i32.const 0))
    (i32.store offset=20 (global.get $nodes_base) (i32.const -2))
    (global.set $node_count (i32.const 2))
    (i32.store (global.get $cur_addr) (i32.const 0))
    (i32.const 0))

  ;; host_enter(import) / host_leave(): around a call of the guest's own
  ;; import (WASI), so a sampler charges that time to a frame of its own.
  (func (export "host_enter") (param $import i32)
    (i32.store (global.get $host_addr) (i32.add (local.get $import) (i32.const 1))))
  (func (export "host_leave")
    (i32.store (global.get $host_addr) (i32.const 0)))

  ;; current() -> the current context: functions with exception handlers
  ;; keep their own context to re-establish it where a catch lands.
  (func (export "current") (result i32)
    (i32.load (global.get $cur_addr)))

  ;; leave(saved): the instrumented function returns; `saved` is what its
  ;; `enter` returned. Hosts also call it with the root context to start
  ;; an exported call afresh after a trap left the context deep.
  (func (export "leave") (param $saved i32)
    (i32.store (global.get $cur_addr) (local.get $saved)))

  ;; leave_<t>(value, saved) -> value: `leave` for functions returning one
  ;; number, which passes through so the compiler must compute it before
  ;; the context changes back.
  (func (export "leave_i32") (param $v i32) (param $saved i32) (result i32)
    (i32.store (global.get $cur_addr) (local.get $saved))
    (local.get $v))
  (func (export "leave_i64") (param $v i64) (param $saved i32) (result i64)
    (i32.store (global.get $cur_addr) (local.get $saved))
    (local.get $v))
  (func (export "leave_f32") (param $v f32) (param $saved i32) (result f32)
    (i32.store (global.get $cur_addr) (local.get $saved))
    (local.get $v))
  (func (export "leave_f64") (param $v f64) (param $saved i32) (result f64)
    (i32.store (global.get $cur_addr) (local.get $saved))
    (local.get $v))

  ;; Traps; its name is the message in the trap's backtrace.
  (func $probe_runtime_not_initialized
    unreachable)

  ;; enter(fid) -> previous context. The caller keeps the result in a local
  ;; and hands it to `leave` when it returns; restoring a saved value
  ;; (instead of popping) keeps the tree right even when an exception skips
  ;; the exits of the frames it unwinds.
  (func (export "enter") (param $fid i32) (result i32)
    (local $prev i32) (local $h i32) (local $slot i32) (local $n i32) (local $node i32)
    ;; A host that never called `init` (one that does not know wprof) gets
    ;; a trap that says so, not a corrupted tree.
    (if (i32.eqz (global.get $node_cap)) (then (call $probe_runtime_not_initialized)))
    (local.set $prev (i32.load (global.get $cur_addr)))
    ;; While the probe itself runs, the context says so: a sampler charges
    ;; this time to the profiler's own overhead, not to the caller.
    (i32.store (global.get $cur_addr) (i32.const -2))
    ;; exact per-function count
    (local.set $slot
      (i32.add (global.get $flat_base) (i32.shl (local.get $fid) (i32.const 3))))
    (i64.store (local.get $slot) (i64.add (i64.load (local.get $slot)) (i64.const 1)))
    (local.set $h
      (i32.mul
        (i32.xor (i32.mul (local.get $prev) (i32.const 0x9E3779B1)) (local.get $fid))
        (i32.const 0x85EBCA6B)))
    (local.set $h (i32.and (i32.xor (local.get $h) (i32.shr_u (local.get $h) (i32.const 15)))
                           (global.get $hash_mask)))
    (loop $probe
      (local.set $slot (i32.add (global.get $hash_base) (i32.shl (local.get $h) (i32.const 2))))
      (local.set $n (i32.load (local.get $slot)))
      (if (i32.eqz (local.get $n))
        (then
          (if (i32.ge_u (global.get $node_count) (global.get $node_cap))
            (then
              ;; The tree is full: the call runs in "a call under prev that
              ;; has no context of its own" (prev with the high bit set), so
              ;; its stack keeps prev's prefix, and it is counted on prev.
              (global.set $overflow (i64.add (global.get $overflow) (i64.const 1)))
              (i64.store (global.get $overflow_addr) (global.get $overflow))
              (local.set $slot
                (i32.add (global.get $overflow_base)
                  (i32.shl (i32.and (local.get $prev) (i32.const 0x7fffffff)) (i32.const 3))))
              (i64.store (local.get $slot) (i64.add (i64.load (local.get $slot)) (i64.const 1)))
              (i32.store (global.get $cur_addr) (i32.or (local.get $prev) (i32.const 0x80000000)))
              (return (local.get $prev))))
          (local.set $n (global.get $node_count))
          (global.set $node_count (i32.add (local.get $n) (i32.const 1)))
          (i32.store (local.get $slot) (local.get $n))
          (local.set $node (i32.add (global.get $nodes_base) (i32.shl (local.get $n) (i32.const 4))))
          (i32.store (local.get $node) (local.get $prev))
          (i32.store offset=4 (local.get $node) (local.get $fid))
          (i64.store offset=8 (local.get $node) (i64.const 1))
          (i32.store (global.get $cur_addr) (local.get $n))
          (return (local.get $prev))))
      (local.set $node (i32.add (global.get $nodes_base) (i32.shl (local.get $n) (i32.const 4))))
      (if (i32.and
            (i32.eq (i32.load (local.get $node)) (local.get $prev))
            (i32.eq (i32.load offset=4 (local.get $node)) (local.get $fid)))
        (then
          (i64.store offset=8 (local.get $node)
            (i64.add (i64.load offset=8 (local.get $node)) (i64.const 1)))
          (i32.store (global.get $cur_addr) (local.get $n))
          (return (local.get $prev))))
      (local.set $h (i32.and (i32.add (local.get $h) (i32.const 1)) (global.get $hash_mask)))
      (br $probe))
    (unreachable))
)
