;; wprof embedded runtime: what a self-profiling artifact (`wprof instrument
;; --embed`) carries besides the probe runtime (runtime.wat) linked into it:
;; per-export latency histograms, the profile image, and writing that image
;; through the guest's own WASI into a directory the host already preopens.
;;
;; The instrumenter copies this module's functions into the guest and
;; resolves its imports there: `guest.memory` is the guest's memory 0,
;; `wprof.*` the linked probe runtime's memory and globals, WASI functions
;; the guest's imports of the same name (added when missing).
;;
;; WASI reads and writes only memory 0, so every call here borrows a prefix
;; of it as scratch and puts the guest's bytes back afterwards: the guest
;; never sees a changed byte. The saved bytes and everything else live in
;; the runtime's memory, after the probe runtime's tables:
;;   [base, +SAVE)                       memory 0's borrowed prefix
;;   [base+SAVE, +EXPORT*n_exports)      per export: calls u64, total ns
;;                                       u64, BUCKETS u64 latency buckets
;;   [image, …)                          the profile image, built on demand
;;
;; The profile image (little-endian; `wprof collect` reads it):
;;   0   "wprofemb"    8 bytes
;;   8   version u32   1
;;   12  n_funcs u32
;;   16  node_count u32
;;   20  n_exports u32
;;   24  id u64        the artifact's id (its manifest says the same)
;;   32  overflow u64  calls the full tree could not place
;;   40  buckets u32   latency buckets per export
;;   44  reserved, zero, to 64
;;   64  nodes: node_count × (parent u32, fid u32, calls u64)
;;       calls per function: n_funcs × u64
;;       calls the full tree could not place, per context: node_count × u64
;;       per export: calls u64, total ns u64, buckets × u64
;; Latency bucket b holds durations d with d = b for b < 4, else
;; (4 + b % 4) << (b / 4 - 1) ≤ d < (5 + b % 4) << (b / 4 - 1): four steps
;; per power of two, so percentiles are within 25%.
(module
  (import "wasi_snapshot_preview1" "clock_time_get"
    (func $clock_time_get (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_get"
    (func $fd_prestat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close"
    (func $fd_close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get"
    (func $environ_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get"
    (func $environ_get (param i32 i32) (result i32)))
  (import "guest" "memory" (memory $guest 0))
  (import "wprof" "memory" (memory $rt 1))
  (import "wprof" "node_count" (global $node_count (mut i32)))
  (import "wprof" "n_funcs" (global $n_funcs (mut i32)))
  (import "wprof" "nodes_base" (global $nodes_base (mut i32)))
  (import "wprof" "flat_base" (global $flat_base (mut i32)))
  (import "wprof" "overflow" (global $overflow (mut i64)))

  ;; Bytes of memory 0 borrowed at most.
  (global $SAVE i32 (i32.const 65536))
  (global $BUCKETS i32 (i32.const 256))
  ;; Bytes per export: calls, total, buckets.
  (global $EXPORT i32 (i32.const 2064))

  (global $base (mut i32) (i32.const 0))
  (global $exports (mut i32) (i32.const 0))
  (global $n_exports (mut i32) (i32.const 0))
  (global $image (mut i32) (i32.const 0))
  (global $id (mut i64) (i64.const 0))
  ;; Bytes of memory 0 borrowed by the call in progress.
  (global $borrowed (mut i32) (i32.const 0))

  ;; embed_init(n_exports, id): after the probe runtime's `init`, whose
  ;; tables end where the runtime's memory ends.
  (func (export "embed_init") (param $n i32) (param $id i64)
    (local $end i32)
    (global.set $n_exports (local.get $n))
    (global.set $id (local.get $id))
    (global.set $base (i32.shl (memory.size $rt) (i32.const 16)))
    (global.set $exports (i32.add (global.get $base) (global.get $SAVE)))
    (global.set $image
      (i32.add (global.get $exports) (i32.mul (local.get $n) (global.get $EXPORT))))
    (drop (call $reserve (global.get $image))))

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

  ;; Borrows up to `want` bytes at the start of memory 0 (saving them);
  ;; returns how many it got.
  (func $borrow (param $want i32) (result i32)
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

  (func $give_back
    (memory.copy $guest $rt (i32.const 0) (global.get $base) (global.get $borrowed))
    (global.set $borrowed (i32.const 0)))

  ;; now() -> monotonic ns, or 0 when the host has no clock.
  (func (export "now") (result i64)
    (local $t i64)
    (if (i32.lt_u (call $borrow (i32.const 8)) (i32.const 8))
      (then (call $give_back) (return (i64.const 0))))
    (if (i32.eqz (call $clock_time_get (i32.const 1) (i64.const 1) (i32.const 0)))
      (then (local.set $t (i64.load $guest (i32.const 0)))))
    (call $give_back)
    (local.get $t))

  ;; record(export, ns): one completed call of export number `export`.
  (func (export "record") (param $k i32) (param $ns i64)
    (local $at i32) (local $e i32) (local $b i32)
    (local.set $at
      (i32.add (global.get $exports) (i32.mul (local.get $k) (global.get $EXPORT))))
    (i64.store $rt (local.get $at) (i64.add (i64.load $rt (local.get $at)) (i64.const 1)))
    (i64.store $rt offset=8 (local.get $at)
      (i64.add (i64.load $rt offset=8 (local.get $at)) (local.get $ns)))
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
    (local.set $at (i32.add (local.get $at) (i32.add (i32.const 16) (i32.shl (local.get $b) (i32.const 3)))))
    (i64.store $rt (local.get $at) (i64.add (i64.load $rt (local.get $at)) (i64.const 1))))

  ;; Builds the profile image at `$image`; returns its length, 0 when the
  ;; runtime's memory cannot hold it.
  (func $build (result i32)
    (local $at i32) (local $n i32)
    (local.set $n (global.get $node_count))
    (if (i32.eqz
          (call $reserve
            (i32.add (global.get $image)
              (i32.add (i32.const 64)
                (i32.add (i32.shl (local.get $n) (i32.const 4))
                  (i32.add (i32.shl (global.get $n_funcs) (i32.const 3))
                    (i32.add (i32.shl (local.get $n) (i32.const 3))
                      (i32.mul (global.get $n_exports) (global.get $EXPORT)))))))))
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
    (local.set $at (i32.add (local.get $at) (i32.const 64)))
    (memory.copy $rt $rt (local.get $at) (global.get $nodes_base) (i32.shl (local.get $n) (i32.const 4)))
    (local.set $at (i32.add (local.get $at) (i32.shl (local.get $n) (i32.const 4))))
    ;; The per-function counters and, right after them, the per-context
    ;; overflow counters (runtime.wat's layout) in one copy.
    (memory.copy $rt $rt (local.get $at) (global.get $flat_base) (i32.shl (global.get $n_funcs) (i32.const 3)))
    (local.set $at (i32.add (local.get $at) (i32.shl (global.get $n_funcs) (i32.const 3))))
    (memory.copy $rt $rt (local.get $at)
      (i32.add (global.get $flat_base) (i32.shl (global.get $n_funcs) (i32.const 3)))
      (i32.shl (local.get $n) (i32.const 3)))
    (local.set $at (i32.add (local.get $at) (i32.shl (local.get $n) (i32.const 3))))
    (memory.copy $rt $rt (local.get $at) (global.get $exports)
      (i32.mul (global.get $n_exports) (global.get $EXPORT)))
    (i32.sub
      (i32.add (local.get $at) (i32.mul (global.get $n_exports) (global.get $EXPORT)))
      (global.get $image)))

  ;; wprof_profile_len() -> bytes of the profile as of now (for hosts with
  ;; no filesystem: allocate that much in memory 0, then copy it out).
  (func (export "wprof_profile_len") (result i32)
    (call $build))

  ;; wprof_profile_ptr() -> where in the runtime's memory (exported as
  ;; `wprof_memory`) `wprof_profile_len` built the profile.
  (func (export "wprof_profile_ptr") (result i32)
    (global.get $image))

  ;; wprof_profile_copy(dst) -> bytes written to memory 0 at `dst`.
  (func (export "wprof_profile_copy") (param $dst i32) (result i32)
    (local $len i32)
    (local.set $len (call $build))
    (memory.copy $guest $rt (local.get $dst) (global.get $image) (local.get $len))
    (local.get $len))

  ;; The first preopened directory's fd, or -1. Uses scratch [0, 8).
  (func $preopen (result i32)
    (local $fd i32)
    (local.set $fd (i32.const 3))
    (loop $next
      (if (i32.eqz (call $fd_prestat_get (local.get $fd) (i32.const 0)))
        (then
          (if (i32.eqz (i32.load8_u $guest (i32.const 0)))
            (then (return (local.get $fd))))))
      (local.set $fd (i32.add (local.get $fd) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $fd) (i32.const 64))))
    (i32.const -1))

  ;; Writes the profile path into scratch at 8 (`WPROF_OUT` if set, else
  ;; `wprof.profile`) and returns its length. `have` is the scratch size.
  (func $path (param $have i32) (result i32)
    (local $count i32) (local $size i32) (local $i i32) (local $p i32) (local $len i32)
    (if (i32.eqz (call $environ_sizes_get (i32.const 0) (i32.const 4)))
      (then
        (local.set $count (i32.load $guest (i32.const 0)))
        (local.set $size (i32.load $guest (i32.const 4)))
        ;; pointers at 16, strings after them, with room to spare
        (if (i32.lt_u
              (i32.add (i32.const 16) (i32.add (i32.shl (local.get $count) (i32.const 2)) (local.get $size)))
              (local.get $have))
          (then
            (if (i32.eqz
                  (call $environ_get (i32.const 16)
                    (i32.add (i32.const 16) (i32.shl (local.get $count) (i32.const 2)))))
              (then
                (block $done
                  (loop $each
                    (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
                    (local.set $p (i32.load $guest (i32.add (i32.const 16) (i32.shl (local.get $i) (i32.const 2)))))
                    ;; "WPROF_OUT=" little-endian: "WPRO" "F_OU" "T="
                    (if (i32.and
                          (i32.and
                            (i32.eq (i32.load $guest (local.get $p)) (i32.const 0x4f525057))
                            (i32.eq (i32.load $guest offset=4 (local.get $p)) (i32.const 0x554f5f46)))
                          (i32.eq (i32.load16_u $guest offset=8 (local.get $p)) (i32.const 0x3d54)))
                      (then
                        (local.set $p (i32.add (local.get $p) (i32.const 10)))
                        (block $end
                          (loop $char
                            (br_if $end (i32.eqz (i32.load8_u $guest (i32.add (local.get $p) (local.get $len)))))
                            (local.set $len (i32.add (local.get $len) (i32.const 1)))
                            (br $char)))
                        (if (local.get $len)
                          (then
                            (memory.copy $guest $guest (i32.const 8) (local.get $p) (local.get $len))
                            (return (local.get $len))))))
                    (local.set $i (i32.add (local.get $i) (i32.const 1)))
                    (br $each)))))))))
    ;; "wprof.profile"
    (i32.store8 $guest (i32.const 8) (i32.const 0x77))                ;; "w"
    (i64.store $guest (i32.const 9) (i64.const 0x6f72702e666f7270))  ;; "prof.pro"
    (i32.store $guest (i32.const 17) (i32.const 0x656c6966))         ;; "file"
    (i32.const 13))

  ;; wprof_dump() -> 0, or why the profile could not be written: 1 no
  ;; memory to borrow, 2 no preopened directory, 3 the file could not be
  ;; opened, 4 not all of it could be written, 5 no room for the image.
  (func $dump (export "wprof_dump") (result i32)
    (local $have i32) (local $dir i32) (local $plen i32) (local $fd i32)
    (local $len i32) (local $off i32) (local $n i32) (local $err i32)
    (local.set $len (call $build))
    (if (i32.eqz (local.get $len)) (then (return (i32.const 5))))
    (local.set $have (call $borrow (global.get $SAVE)))
    (block $out
      (if (i32.lt_u (local.get $have) (i32.const 4096))
        (then (local.set $err (i32.const 1)) (br $out)))
      (local.set $dir (call $preopen))
      (if (i32.lt_s (local.get $dir) (i32.const 0))
        (then (local.set $err (i32.const 2)) (br $out)))
      (local.set $plen (call $path (local.get $have)))
      ;; oflags CREAT|TRUNC, rights FD_WRITE
      (if (call $path_open (local.get $dir) (i32.const 0) (i32.const 8) (local.get $plen)
            (i32.const 9) (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 0))
        (then (local.set $err (i32.const 3)) (br $out)))
      (local.set $fd (i32.load $guest (i32.const 0)))
      ;; iovec at 0, written count at 8, data from 16
      (block $written
        (loop $chunk
          (br_if $written (i32.ge_u (local.get $off) (local.get $len)))
          (local.set $n (i32.sub (local.get $len) (local.get $off)))
          (if (i32.gt_u (local.get $n) (i32.sub (local.get $have) (i32.const 16)))
            (then (local.set $n (i32.sub (local.get $have) (i32.const 16)))))
          (memory.copy $guest $rt (i32.const 16) (i32.add (global.get $image) (local.get $off)) (local.get $n))
          (i32.store $guest (i32.const 0) (i32.const 16))
          (i32.store $guest (i32.const 4) (local.get $n))
          (if (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8))
            (then (local.set $err (i32.const 4)) (br $written)))
          (if (i32.eqz (i32.load $guest (i32.const 8)))
            (then (local.set $err (i32.const 4)) (br $written)))
          (local.set $off (i32.add (local.get $off) (i32.load $guest (i32.const 8))))
          (br $chunk)))
      (drop (call $fd_close (local.get $fd))))
    (call $give_back)
    (local.get $err))
)
