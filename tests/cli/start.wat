;; RUN: run % --invoke main
;; EXIT: 0
;; KIND: exit
;; CALLS: main=1 init=1 setup=2 get=1
;;
;; A module with a `start` function: it runs once, during instantiation,
;; before `main` is invoked, and its calls count like any others.
;;   init  = 1  the start function (instantiating the module once runs it once)
;;   setup = 2  init calls setup(40) and setup(2)
;;   get   = 1  main calls it once
;; Result: the global set up by init: 40 + 2 = 42.
(module
  (global $g (mut i32) (i32.const 0))

  (func $setup (param $x i32)
    (global.set $g (i32.add (global.get $g) (local.get $x))))

  (func $init
    (call $setup (i32.const 40))
    (call $setup (i32.const 2)))

  (start $init)

  (func $get (result i32)
    (global.get $g))

  (func $main (export "main") (result i32)
    (call $get)))
