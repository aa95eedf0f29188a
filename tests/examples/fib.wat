;; The README's first example: a WASI command, written in text so it needs no
;; toolchain. It computes fib(27) recursively (635,621 calls of $fib) through
;; a small call tree, then prints the result with fd_write.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)

  (func $fib (param $n i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
      (then (local.get $n))
      (else
        (i32.add
          (call $fib (i32.sub (local.get $n) (i32.const 1)))
          (call $fib (i32.sub (local.get $n) (i32.const 2)))))))

  ;; Writes the decimal digits of $v ending just before offset 64 and
  ;; returns where they start.
  (func $itoa (param $v i32) (result i32)
    (local $p i32)
    (local.set $p (i32.const 64))
    (loop $digit
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p)
        (i32.add (i32.const 48) (i32.rem_u (local.get $v) (i32.const 10))))
      (local.set $v (i32.div_u (local.get $v) (i32.const 10)))
      (br_if $digit (local.get $v)))
    (local.get $p))

  (func $print (param $ptr i32) (param $len i32)
    (i32.store (i32.const 100) (local.get $ptr))
    (i32.store (i32.const 104) (local.get $len))
    (drop (call $fd_write (i32.const 1) (i32.const 100) (i32.const 1) (i32.const 108))))

  (func $compute (result i32) (call $fib (i32.const 27)))

  (func (export "_start")
    (local $start i32)
    ;; "fib(27) = " then the digits, then a newline at offset 64.
    (i32.store (i32.const 200) (i32.const 0x28626966))   ;; "fib("
    (i32.store (i32.const 204) (i32.const 0x20293732))   ;; "27) "
    (i32.store16 (i32.const 208) (i32.const 0x203d))     ;; "= "
    (call $print (i32.const 200) (i32.const 10))
    (local.set $start (call $itoa (call $compute)))
    (i32.store8 (i32.const 64) (i32.const 10))
    (call $print (local.get $start) (i32.sub (i32.const 65) (local.get $start)))))
