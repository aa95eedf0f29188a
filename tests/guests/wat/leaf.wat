;; A loop-free leaf doing most of the work under a looping caller: the
;; shape that samplers which only look at function entries and loop headers
;; get wrong (the leaf's time lands on its caller). `leaf` is straight-line
;; code over a value it loads, as real leaves do (pure arithmetic on
;; arguments alone may be moved across calls by an optimizing compiler, V8's
;; does); `work` calls it N times and adds a little loop work of its own.
(module
  (memory 1)
  (func $leaf (param $p i32) (result i64)
    (local $x i64)
    local.get $p
    i64.load
    local.set $x
    local.get $x i64.const 11400714819323198485 i64.mul i64.const 7 i64.rotl local.set $x
    local.get $x i64.const 11400714819323192058 i64.mul i64.const 38 i64.rotl local.set $x
    local.get $x i64.const 11400714819323183563 i64.mul i64.const 69 i64.rotl local.set $x
    local.get $x i64.const 11400714819323175128 i64.mul i64.const 100 i64.rotl local.set $x
    local.get $x i64.const 11400714819323168681 i64.mul i64.const 131 i64.rotl local.set $x
    local.get $x i64.const 11400714819323225790 i64.mul i64.const 162 i64.rotl local.set $x
    local.get $x i64.const 11400714819323217295 i64.mul i64.const 193 i64.rotl local.set $x
    local.get $x i64.const 11400714819323208860 i64.mul i64.const 224 i64.rotl local.set $x
    local.get $x i64.const 11400714819323202413 i64.mul i64.const 255 i64.rotl local.set $x
    local.get $x i64.const 11400714819323259506 i64.mul i64.const 286 i64.rotl local.set $x
    local.get $x i64.const 11400714819323251011 i64.mul i64.const 317 i64.rotl local.set $x
    local.get $x i64.const 11400714819323242576 i64.mul i64.const 348 i64.rotl local.set $x
    local.get $x i64.const 11400714819323236129 i64.mul i64.const 379 i64.rotl local.set $x
    local.get $x i64.const 11400714819323293238 i64.mul i64.const 410 i64.rotl local.set $x
    local.get $x i64.const 11400714819323284743 i64.mul i64.const 441 i64.rotl local.set $x
    local.get $x i64.const 11400714819323276308 i64.mul i64.const 472 i64.rotl local.set $x
    local.get $x i64.const 11400714819323269861 i64.mul i64.const 503 i64.rotl local.set $x
    local.get $x i64.const 11400714819323064778 i64.mul i64.const 534 i64.rotl local.set $x
    local.get $x i64.const 11400714819323056347 i64.mul i64.const 565 i64.rotl local.set $x
    local.get $x i64.const 11400714819323049896 i64.mul i64.const 596 i64.rotl local.set $x
    local.get $x i64.const 11400714819323041465 i64.mul i64.const 627 i64.rotl local.set $x
    local.get $x i64.const 11400714819323098510 i64.mul i64.const 658 i64.rotl local.set $x
    local.get $x i64.const 11400714819323090079 i64.mul i64.const 689 i64.rotl local.set $x
    local.get $x i64.const 11400714819323083628 i64.mul i64.const 720 i64.rotl local.set $x
    local.get $x i64.const 11400714819323075197 i64.mul i64.const 751 i64.rotl local.set $x
    local.get $x i64.const 11400714819323132226 i64.mul i64.const 782 i64.rotl local.set $x
    local.get $x i64.const 11400714819323123795 i64.mul i64.const 813 i64.rotl local.set $x
    local.get $x i64.const 11400714819323117344 i64.mul i64.const 844 i64.rotl local.set $x
    local.get $x i64.const 11400714819323108913 i64.mul i64.const 875 i64.rotl local.set $x
    local.get $x i64.const 11400714819323165958 i64.mul i64.const 906 i64.rotl local.set $x
    local.get $x i64.const 11400714819323157527 i64.mul i64.const 937 i64.rotl local.set $x
    local.get $x i64.const 11400714819323151076 i64.mul i64.const 968 i64.rotl local.set $x
    local.get $x i64.const 11400714819323142645 i64.mul i64.const 999 i64.rotl local.set $x
    local.get $x i64.const 11400714819323134170 i64.mul i64.const 1030 i64.rotl local.set $x
    local.get $x i64.const 11400714819323455403 i64.mul i64.const 1061 i64.rotl local.set $x
    local.get $x i64.const 11400714819323446968 i64.mul i64.const 1092 i64.rotl local.set $x
    local.get $x i64.const 11400714819323438473 i64.mul i64.const 1123 i64.rotl local.set $x
    local.get $x i64.const 11400714819323430046 i64.mul i64.const 1154 i64.rotl local.set $x
    local.get $x i64.const 11400714819323489135 i64.mul i64.const 1185 i64.rotl local.set $x
    local.get $x i64.const 11400714819323480700 i64.mul i64.const 1216 i64.rotl local.set $x
    local.get $x i64.const 11400714819323472205 i64.mul i64.const 1247 i64.rotl local.set $x
    local.get $x i64.const 11400714819323463762 i64.mul i64.const 1278 i64.rotl local.set $x
    local.get $x i64.const 11400714819323522851 i64.mul i64.const 1309 i64.rotl local.set $x
    local.get $x i64.const 11400714819323514416 i64.mul i64.const 1340 i64.rotl local.set $x
    local.get $x i64.const 11400714819323505921 i64.mul i64.const 1371 i64.rotl local.set $x
    local.get $x i64.const 11400714819323497494 i64.mul i64.const 1402 i64.rotl local.set $x
    local.get $x i64.const 11400714819323556583 i64.mul i64.const 1433 i64.rotl local.set $x
    local.get $x i64.const 11400714819323548148 i64.mul i64.const 1464 i64.rotl local.set $x
    local.get $x i64.const 11400714819323539653 i64.mul i64.const 1495 i64.rotl local.set $x
    local.get $x i64.const 11400714819323533226 i64.mul i64.const 1526 i64.rotl local.set $x
    local.get $x i64.const 11400714819323328187 i64.mul i64.const 1557 i64.rotl local.set $x
    local.get $x i64.const 11400714819323319688 i64.mul i64.const 1588 i64.rotl local.set $x
    local.get $x i64.const 11400714819323311257 i64.mul i64.const 1619 i64.rotl local.set $x
    local.get $x i64.const 11400714819323304814 i64.mul i64.const 1650 i64.rotl local.set $x
    local.get $x i64.const 11400714819323361919 i64.mul i64.const 1681 i64.rotl local.set $x
    local.get $x i64.const 11400714819323353420 i64.mul i64.const 1712 i64.rotl local.set $x
    local.get $x i64.const 11400714819323344989 i64.mul i64.const 1743 i64.rotl local.set $x
    local.get $x i64.const 11400714819323338530 i64.mul i64.const 1774 i64.rotl local.set $x
    local.get $x i64.const 11400714819323395635 i64.mul i64.const 1805 i64.rotl local.set $x
    local.get $x i64.const 11400714819323387136 i64.mul i64.const 1836 i64.rotl local.set $x
    local.get $x)
  (func $work (param $n i32) (result i64)
    (local $acc i64)
    (loop $l
      local.get $acc
      local.get $n
      i32.const 255
      i32.and
      i32.const 3
      i32.shl
      call $leaf
      i64.xor
      local.set $acc
      local.get $n
      i32.const 1
      i32.sub
      local.tee $n
      br_if $l)
    local.get $acc)
  (global $sink (export "sink") (mut i64) (i64.const 0))
  (func (export "_start")
    i32.const 3000000
    call $work
    global.set $sink))
