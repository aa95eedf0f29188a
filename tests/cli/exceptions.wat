;; RUN: run % --invoke main
;; EXIT: 0
;; KIND: exit
;; CALLS: main=1 catch_all_once=1 mid=6 thrower=7 before=7 skipped=0 catch_value=1 mid_v=1 thrower_v=1 catch_loop=1 no_throw=1 ok=1 self_catch=1 catch_rethrown=1 rethrower=1 cleanup=1 after=3
;;
;; Exception handling (standard proposal: tag / throw / try_table / throw_ref).
;; Exceptions unwind through frames that never reach their end; calls made
;; after a catch must still be counted exactly.
;;   catch_all_once = 1  try_table (catch_all) around mid -> thrower -> throw $e:
;;                       the exception leaves thrower and mid (2 frames) and is caught
;;   catch_loop     = 1  5 iterations, each catching the same mid -> thrower throw
;;   catch_rethrown = 1  catches $e rethrown by rethrower (see below)
;;   mid            = 6  1 (catch_all_once) + 5 (catch_loop)
;;   thrower        = 7  once per mid (6) + once from rethrower (1)
;;   before         = 7  thrower calls it first, before throwing
;;   skipped        = 0  mid/mid_v/catch_all_once would call it after the throwing
;;                       call; the exception skips every one of those calls
;;   catch_value    = 1  try_table (catch $ev) around mid_v -> thrower_v, which throws
;;   mid_v          = 1    $ev carrying 32; the handler receives the payload
;;   thrower_v      = 1
;;   no_throw       = 1  try_table whose body (ok) returns normally: handler unused
;;   ok             = 1
;;   self_catch     = 1  `throw` directly inside its own try_table: no frame unwound
;;   rethrower      = 1  catch_all_ref around thrower, calls cleanup, then throw_ref
;;   cleanup        = 1
;;   after          = 3  main calls after(1), after(2), after(3) once all the
;;                       exceptions above have been caught
;; Result: 10 + 32 + 5 + 100 + 1000 + 500 + (2 + 3 + 4) = 1656.
(module
  (tag $e)
  (tag $ev (param i32))

  (func $before)
  (func $skipped)
  (func $ok)
  (func $cleanup)

  (func $after (param $x i32) (result i32)
    (i32.add (local.get $x) (i32.const 1)))

  (func $thrower
    (call $before)
    (throw $e))

  (func $mid
    (call $thrower)
    (call $skipped))

  (func $catch_all_once (result i32)
    (block $h
      (try_table (catch_all $h)
        (call $mid)
        (call $skipped))
      (return (i32.const -1)))
    ;; the handler lands here
    (i32.const 10))

  (func $thrower_v (param $x i32)
    (throw $ev (local.get $x)))

  (func $mid_v (param $x i32)
    (call $thrower_v (local.get $x))
    (call $skipped))

  (func $catch_value (param $x i32) (result i32)
    (block $h (result i32)
      (try_table (catch $ev $h)
        (call $mid_v (local.get $x)))
      (i32.const -1)))   ;; not reached: the payload (x) is the block's result

  (func $catch_loop (param $n i32) (result i32) (local $caught i32)
    (loop $l
      (block $h
        (try_table (catch_all $h)
          (call $mid)))
      (local.set $caught (i32.add (local.get $caught) (i32.const 1)))
      (br_if $l (i32.lt_s (local.get $caught) (local.get $n))))
    (local.get $caught))

  (func $no_throw (result i32)
    (block $h
      (try_table (catch_all $h)
        (call $ok))
      (return (i32.const 100)))
    (i32.const -1))

  (func $self_catch (result i32)
    (block $h
      (try_table (catch_all $h)
        (throw $e))
      (return (i32.const -1)))
    (i32.const 1000))

  (func $rethrower
    (block $h (result exnref)
      (try_table (catch_all_ref $h)
        (call $thrower))
      (return))
    (call $cleanup)
    (throw_ref))

  (func $catch_rethrown (result i32)
    (block $h
      (try_table (catch $e $h)
        (call $rethrower))
      (return (i32.const -1)))
    (i32.const 500))

  (func $main (export "main") (result i32)
    (i32.add
      (i32.add
        (i32.add (call $catch_all_once) (call $catch_value (i32.const 32)))
        (i32.add (call $catch_loop (i32.const 5)) (call $no_throw)))
      (i32.add
        (i32.add (call $self_catch) (call $catch_rethrown))
        (i32.add
          (call $after (i32.const 1))
          (i32.add (call $after (i32.const 2)) (call $after (i32.const 3))))))))
