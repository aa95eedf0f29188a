;; A guest that spends most of its time in a host call: `emit` loops over
;; WASI `fd_write` of 4 KiB to stdout. Profiles must show that time as an
;; `fd_write` frame under `emit`, not as `emit`'s own time.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; iovec at 0: buffer at 64, 4096 bytes; nwritten at 16
  (data (i32.const 0) "\40\00\00\00\00\10\00\00")
  (func $emit (param $n i32)
    (loop $l
      i32.const 1
      i32.const 0
      i32.const 1
      i32.const 16
      call $fd_write
      drop
      local.get $n
      i32.const 1
      i32.sub
      local.tee $n
      br_if $l))
  (func (export "_start")
    i32.const 200000
    call $emit))
