;; Exception landing sites and branches that `tests/cli` does not cover.
;; An exception that unwinds into a handler skips the exit probes of the
;; frames it leaves, so wherever a handler resumes, the function re-sets
;; `wprof.cur` from its own context (saved after `enter`):
;;   catch_to_loop       catch to a loop label: at the loop's start
;;   catch_to_function   catch to the function label: the exit probe itself
;;   catch_to_try_table  catch to an enclosing try_table's label: after that
;;                       try_table, before `after` is called
;;   catch_to_legacy_try catch to an enclosing legacy `try` block's label:
;;                       after its `end`
;;   legacy              legacy try/catch/catch_all: at each handler's start
;;   on_null             br_on_null to the function label: to the exit probe
(module
  (tag $e)
  (tag $ev (param i32))
  (func $thrower (throw $e))
  (func $thrower_v (throw $ev (i32.const 6)))
  (func $after)

  (func $catch_to_loop (param $n i32) (result i32) (local $i i32)
    (loop $again
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (if (i32.lt_s (local.get $i) (local.get $n))
        (then (try_table (catch_all $again) (call $thrower)))))
    (local.get $i))

  (func $catch_to_function (result i32)
    (try_table (catch $ev 0) (call $thrower_v))
    (i32.const -1))

  (func $catch_to_try_table (result i32)
    (block $done
      (try_table $outer (catch $e $done)
        (try_table (catch_all $outer)
          (call $thrower)))
      (call $after))
    (i32.const 3))

  (func $catch_to_legacy_try
    try $outer
      (try_table (catch_all $outer)
        (call $thrower))
    catch_all
    end
    (call $after))

  (func $legacy (result i32)
    try (result i32)
      call $thrower
      i32.const -1
    catch $e
      i32.const 4
    catch_all
      i32.const 5
    end)

  (func $on_null (param $r funcref) (result i32)
    (i32.const 9)
    (br_on_null 0 (local.get $r))
    (drop)
    (drop)
    (i32.const 1)))
