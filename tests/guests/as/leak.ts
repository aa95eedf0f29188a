// The SDK story as an AssemblyScript program: a "vendor" LRU index keeps an
// @unmanaged node (raw TLSF memory, invisible to the GC) per request and
// never frees it, while request handling churns GC-managed garbage that the
// incremental collector reclaims. GC-level heap views stay flat; linear
// memory grows.
//
// Expected with `wprof run --memory` (asserted by profiler/tests/all/memory.rs):
//   - REQUESTS unmanaged allocations from `leak/rememberRequest`, all live
//     (REQUESTS + 1 blocks of sizeof<IndexNode>() bytes),
//   - the collector ran (itcms step pauses > 0) and its live total stayed
//     far below the memory growth,
//   - the untracked-growth alarm names `rememberRequest`.

@unmanaged
class IndexNode {
  key: i64 = 0;
  prev: usize = 0;
  next: usize = 0;
  a: i64 = 0;
  b: i64 = 0;
  c: i64 = 0;
  d: i64 = 0;
  e: i64 = 0;
}

class Session {
  id: i32;
  payload: Array<i32>;
  constructor(id: i32) {
    this.id = id;
    this.payload = new Array<i32>(64);
  }
}

const REQUESTS = 20000;
let head: usize = 0;

// @inline(never) has no AssemblyScript spelling; a function this size with
// two callers is not inlined at -O2.
function rememberRequest(key: i64): void {
  const node = new IndexNode();
  node.key = key;
  node.next = head;
  head = changetype<usize>(node);
}

function handleRequest(i: i32): i32 {
  let sum = 0;
  for (let j = 0; j < 8; j++) {
    const s = new Session(i * 8 + j);
    sum += s.payload.length + s.id;
  }
  rememberRequest(<i64>i);
  return sum;
}

let total = 0;
for (let i = 0; i < REQUESTS; i++) {
  total += handleRequest(i);
}
rememberRequest(-1);
console.log("handled " + REQUESTS.toString() + " requests, checksum " + total.toString());
