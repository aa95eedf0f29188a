;; The runtime linked into the artifact (`Options::link_runtime`, what the
;; native runner runs). Expected in the golden:
;;   - no `wprof` imports; the runtime's functions and globals copied in,
;;     with memory 1 of its own, exported as `wprof:*`
;;   - the start function no longer a start section but `wprof:start`, for
;;     the host to call after `init`
;;   - `enter` a call within the module; every exit a store of the saved
;;     context to `cur_addr` (i32.const 0) in memory 1
;;   - `sum` (one i64 result): the result stored to `scratch_addr` (16)
;;     before the context is restored, so it is computed first
;;   - `write` around `fd_write`: the host-call word (4) set to 1 + the
;;     import's index before, 0 after
;;   - `caught`: the context read back (`current`) after `enter`, and
;;     re-stored where the catch lands
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (tag $e)
  (global $started (mut i32) (i32.const 0))
  (func $init (global.set $started (i32.const 1)))
  (start $init)
  (func $sum (export "sum") (param $a i64) (param $b i64) (result i64)
    (i64.add (local.get $a) (local.get $b)))
  (func $write (export "write") (result i32)
    (call $fd_write (i32.const 1) (i32.const 0) (i32.const 0) (i32.const 8)))
  (func $thrower (throw $e))
  (func $caught (export "caught") (result i32)
    (block $landed
      (try_table (catch_all $landed) (call $thrower)))
    (global.get $started)))
