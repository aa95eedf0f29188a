;; wprof embedded runtime: what a self-profiling artifact (`wprof instrument
;; --embed`) carries besides its storage tier: the clock, and writing the
;; profile image through the guest's own WASI into a directory the host
;; already preopens, or into memory 0 for hosts with no filesystem.
;;
;; The instrumenter copies this module's functions into the guest and
;; resolves its imports there: `guest.memory` is the guest's memory 0, WASI
;; functions the guest's imports of the same name (added when missing), and
;; `tier.*` the storage: tree.wat (calling contexts in a memory of its own)
;; or functions generated for the counts tier (globals, for hosts without
;; multi-memory).
;;
;; WASI reads and writes only memory 0, so every call here borrows a prefix
;; of it as scratch (`tier.borrow`) and puts the guest's bytes back
;; afterwards (`tier.give_back`): the guest never sees a changed byte.
;;
;; The profile image (little-endian; `wprof collect` reads it):
;;   0   "wprofemb"    8 bytes
;;   8   version u32   1
;;   12  n_funcs u32
;;   16  node_count u32   0 in the counts tier
;;   20  n_exports u32
;;   24  id u64        the artifact's id (its manifest says the same)
;;   32  overflow u64  calls the full tree could not place
;;   40  buckets u32   latency buckets per export (0 in the counts tier)
;;   44  flags u32     1: calling contexts (else per-function counts only);
;;                     2: allocation counts
;;   48  reserved, zero, to 64
;;   64  nodes: node_count × (parent u32, fid u32, calls u64)
;;       calls per function: n_funcs × u64
;;       calls the full tree could not place, per context: node_count × u64
;;       per export: calls u64, total ns u64, max ns u64, buckets × u64
;;       with flag 2 (memory probes), per context: allocations u64, bytes
;;       u64, frees u64; then memory.grow calls, pages grown, pages grown
;;       outside an allocator, collections (u64 each)
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
  (import "tier" "borrow" (func $borrow (param i32) (result i32)))
  (import "tier" "give_back" (func $give_back))
  (import "tier" "build" (func $build (result i32)))
  (import "tier" "fill" (func $fill (param i32 i32 i32)))

  ;; Image bytes per write: the counts tier fills whole 512-byte pieces.
  (global $PIECE i32 (i32.const 512))

  ;; now() -> monotonic ns, or 0 when the host has no clock.
  (func (export "now") (result i64)
    (local $t i64)
    (if (i32.lt_u (call $borrow (i32.const 8)) (i32.const 8))
      (then (call $give_back) (return (i64.const 0))))
    (if (i32.eqz (call $clock_time_get (i32.const 1) (i64.const 1) (i32.const 0)))
      (then (local.set $t (i64.load (i32.const 0)))))
    (call $give_back)
    (local.get $t))

  ;; wprof_profile_len() -> bytes of the profile as of now (for hosts with
  ;; no filesystem: allocate that much in memory 0, then copy it out).
  (func (export "wprof_profile_len") (result i32)
    (call $build))

  ;; wprof_profile_copy(dst) -> bytes written to memory 0 at `dst`.
  (func (export "wprof_profile_copy") (param $dst i32) (result i32)
    (local $len i32)
    (local.set $len (call $build))
    (call $fill (local.get $dst) (i32.const 0) (local.get $len))
    (local.get $len))

  ;; The first preopened directory's fd, or -1. Uses scratch [0, 8).
  (func $preopen (result i32)
    (local $fd i32)
    (local.set $fd (i32.const 3))
    (loop $next
      (if (i32.eqz (call $fd_prestat_get (local.get $fd) (i32.const 0)))
        (then
          (if (i32.eqz (i32.load8_u (i32.const 0)))
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
        (local.set $count (i32.load (i32.const 0)))
        (local.set $size (i32.load (i32.const 4)))
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
                    (local.set $p (i32.load (i32.add (i32.const 16) (i32.shl (local.get $i) (i32.const 2)))))
                    ;; "WPROF_OUT=" little-endian: "WPRO" "F_OU" "T="
                    (if (i32.and
                          (i32.and
                            (i32.eq (i32.load (local.get $p)) (i32.const 0x4f525057))
                            (i32.eq (i32.load offset=4 (local.get $p)) (i32.const 0x554f5f46)))
                          (i32.eq (i32.load16_u offset=8 (local.get $p)) (i32.const 0x3d54)))
                      (then
                        (local.set $p (i32.add (local.get $p) (i32.const 10)))
                        (block $end
                          (loop $char
                            (br_if $end (i32.eqz (i32.load8_u (i32.add (local.get $p) (local.get $len)))))
                            (local.set $len (i32.add (local.get $len) (i32.const 1)))
                            (br $char)))
                        (if (local.get $len)
                          (then
                            (memory.copy (i32.const 8) (local.get $p) (local.get $len))
                            (return (local.get $len))))))
                    (local.set $i (i32.add (local.get $i) (i32.const 1)))
                    (br $each)))))))))
    (i32.store8 (i32.const 8) (i32.const 0x77))                ;; "w"
    (i64.store (i32.const 9) (i64.const 0x6f72702e666f7270))  ;; "prof.pro"
    (i32.store (i32.const 17) (i32.const 0x656c6966))         ;; "file"
    (i32.const 13))

  ;; wprof_dump() -> 0, or why the profile could not be written: 1 no
  ;; memory to borrow, 2 no preopened directory, 3 the file could not be
  ;; opened, 4 not all of it could be written, 5 no room for the image.
  (func $dump (export "wprof_dump") (result i32)
    (local $have i32) (local $dir i32) (local $plen i32) (local $fd i32)
    (local $len i32) (local $off i32) (local $n i32) (local $err i32) (local $room i32)
    (local.set $len (call $build))
    (if (i32.eqz (local.get $len)) (then (return (i32.const 5))))
    (local.set $have (call $borrow (i32.const 65536)))
    (block $out
      (if (i32.lt_u (local.get $have) (i32.const 1024))
        (then (local.set $err (i32.const 1)) (br $out)))
      (local.set $dir (call $preopen))
      (if (i32.lt_s (local.get $dir) (i32.const 0))
        (then (local.set $err (i32.const 2)) (br $out)))
      (local.set $plen (call $path (local.get $have)))
      ;; oflags CREAT|TRUNC, rights FD_WRITE
      (if (call $path_open (local.get $dir) (i32.const 0) (i32.const 8) (local.get $plen)
            (i32.const 9) (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 0))
        (then (local.set $err (i32.const 3)) (br $out)))
      (local.set $fd (i32.load (i32.const 0)))
      ;; iovec at 0, written count at 8, data from 16 in whole pieces
      (local.set $room
        (i32.and (i32.sub (local.get $have) (i32.const 16)) (i32.sub (i32.const 0) (global.get $PIECE))))
      (block $written
        (loop $chunk
          (br_if $written (i32.ge_u (local.get $off) (local.get $len)))
          (local.set $n (i32.sub (local.get $len) (local.get $off)))
          (if (i32.gt_u (local.get $n) (local.get $room))
            (then (local.set $n (local.get $room))))
          (call $fill (i32.const 16) (local.get $off) (local.get $n))
          (i32.store (i32.const 0) (i32.const 16))
          (i32.store (i32.const 4) (local.get $n))
          (if (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8))
            (then (local.set $err (i32.const 4)) (br $written)))
          ;; a short write would split a piece: count it as a failure
          (if (i32.ne (i32.load (i32.const 8)) (local.get $n))
            (then (local.set $err (i32.const 4)) (br $written)))
          (local.set $off (i32.add (local.get $off) (local.get $n)))
          (br $chunk)))
      (drop (call $fd_close (local.get $fd))))
    (call $give_back)
    (local.get $err))
)
