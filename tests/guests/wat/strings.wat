;; A library module that takes and returns strings the way C libraries
;; and hand-written modules do: the host allocates arguments with the
;; exported `malloc` (a bump allocator that never frees), and `repeat`
;; returns its string as two results, (pointer, length).
;;
;;   --invoke repeat --arg str:ab --arg 3 --result str  -> ababab
;;       malloc = 2 per call (the argument, then repeat's own result)
;;   --invoke strlen --arg cstr:hello                   -> 5
;;   --invoke lost --result str                         -> (65000, 1000): runs past
;;       the end of the one-page memory, so the text cannot be read
(module
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))

  (func $malloc (export "malloc") (param $size i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (local.get $p) (local.get $size)))
    (if (i32.gt_u (global.get $heap) (i32.shl (memory.size) (i32.const 16)))
      (then
        (drop (memory.grow
          (i32.add
            (i32.shr_u
              (i32.sub (global.get $heap) (i32.shl (memory.size) (i32.const 16)))
              (i32.const 16))
            (i32.const 1))))))
    (local.get $p))

  (func (export "repeat") (param $ptr i32) (param $len i32) (param $n i32) (result i32 i32)
    (local $out i32)
    (local $i i32)
    (local.set $out (call $malloc (i32.mul (local.get $len) (local.get $n))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (memory.copy
          (i32.add (local.get $out) (i32.mul (local.get $i) (local.get $len)))
          (local.get $ptr)
          (local.get $len))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $out)
    (i32.mul (local.get $len) (local.get $n)))

  (func (export "strlen") (param $s i32) (result i32)
    (local $n i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (i32.load8_u (i32.add (local.get $s) (local.get $n)))))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $n))

  (func (export "lost") (result i32 i32)
    (i32.const 65000)
    (i32.const 1000)))
