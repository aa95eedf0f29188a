;; A WASI command for the browser tests: prints argv[1], the first
;; environment entry (each on a line) and then whatever stdin holds.
(module
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $environ_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)

  (func $strlen (param $p i32) (result i32)
    (local $n i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (i32.load8_u (i32.add (local.get $p) (local.get $n)))))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $n))

  ;; Writes $len bytes at $p to stdout, then a newline if $nl.
  (func $write (param $p i32) (param $len i32) (param $nl i32)
    (i32.store (i32.const 0) (local.get $p))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (if (local.get $nl)
      (then
        (i32.store8 (i32.const 12) (i32.const 10))
        (i32.store (i32.const 0) (i32.const 12))
        (i32.store (i32.const 4) (i32.const 1))
        (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))))

  (func (export "_start")
    (local $p i32)
    ;; argv pointers at 1024, strings at 2048; environ pointers at 4096, strings at 8192.
    (drop (call $args_get (i32.const 1024) (i32.const 2048)))
    (local.set $p (i32.load (i32.const 1028)))
    (call $write (local.get $p) (call $strlen (local.get $p)) (i32.const 1))
    (drop (call $environ_get (i32.const 4096) (i32.const 8192)))
    (local.set $p (i32.load (i32.const 4096)))
    (call $write (local.get $p) (call $strlen (local.get $p)) (i32.const 1))
    ;; stdin: one read of up to 1000 bytes into 16384.
    (i32.store (i32.const 16) (i32.const 16384))
    (i32.store (i32.const 20) (i32.const 1000))
    (drop (call $fd_read (i32.const 0) (i32.const 16) (i32.const 1) (i32.const 24)))
    (call $write (i32.const 16384) (i32.load (i32.const 24)) (i32.const 0)))
)
