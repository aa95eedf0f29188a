;; RUN: run % --invoke main
;; EXIT: 7
;; KIND: exit
;; CALLS: main=1 work=2 quit=1 after=0
;;
;; A WASI `proc_exit(7)` from a nested function ends the run with exit code 7
;; (an exit, not a trap); frames still on the stack never return.
;;   work  = 2  main calls it twice before quitting
;;   quit  = 1  calls the imported proc_exit (imports have no body: not counted)
;;   after = 0  main would call it after quit
;; Result: none (the invoked function never returns): exit:7.
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  ;; WASI hosts require an exported memory even if it is never used.
  (memory (export "memory") 1)

  (func $work (param $x i32) (result i32)
    (i32.mul (local.get $x) (i32.const 2)))

  (func $quit (param $code i32)
    (call $proc_exit (local.get $code))
    (unreachable))

  (func $after)

  (func $main (export "main") (result i32)
    (drop (call $work (i32.const 1)))
    (drop (call $work (i32.const 2)))
    (call $quit (i32.const 7))
    (call $after)
    (i32.const 0)))
