;; RUN: run % --invoke main
;; EXIT: 134
;; KIND: trap
;; CALLS: main=1 work=3 helper=3 boom=1 after=0
;;
;; A function that only traps (`unreachable`), called after other calls have
;; completed and returned. The counts before the trap are exact.
;;   work   = 3  main calls work(1), work(2), work(3); each returns normally
;;   helper = 3  once per work
;;   boom   = 1  entered once; its body is just `unreachable`
;;   after  = 0  main would call it after boom, but the trap ends the run
(module
  (global $acc (mut i32) (i32.const 0))

  (func $helper (param $x i32) (result i32)
    (i32.mul (local.get $x) (local.get $x)))

  (func $work (param $x i32)
    (global.set $acc (i32.add (global.get $acc) (call $helper (local.get $x)))))

  (func $boom (result i32)
    (unreachable))

  (func $after)

  (func $main (export "main") (result i32)
    (call $work (i32.const 1))
    (call $work (i32.const 2))
    (call $work (i32.const 3))
    (drop (call $boom))
    (call $after)
    (global.get $acc)))
