;; RUN: run % --invoke main
;; EXIT: 134
;; KIND: trap
;; CALLS: main=1 via=3 target=2
;;
;; `call_indirect` on a null table slot traps (indirect call to null).
;; table = [target, null]; main calls via(0) twice (fine), then via(1).
;;   via    = 3  via(0), via(0), via(1); the third traps inside via, at the
;;               call_indirect, before any callee is entered
;;   target = 2  only the two calls through slot 0
(module
  (type $nullary (func (result i32)))
  (table 2 funcref)
  (elem (i32.const 0) func $target)

  (func $target (type $nullary) (i32.const 21))

  (func $via (param $slot i32) (result i32)
    (call_indirect (type $nullary) (local.get $slot)))

  (func $main (export "main") (result i32)
    (i32.add
      (i32.add (call $via (i32.const 0)) (call $via (i32.const 0)))
      (call $via (i32.const 1)))))
