// A library for `wprof run --memory --invoke handle --repeat N`: every call
// builds and drops managed garbage, so the incremental collector runs inside
// some calls and not others — the p99-vs-GC analysis needs both kinds.
//
// Expected (asserted by profiler/tests/all/memory.rs): GC pauses inside a
// share of the calls, strictly between none and all of them.

class Item {
  values: Array<i32>;
  constructor(n: i32) {
    this.values = new Array<i32>(n);
  }
}

let calls = 0;

export function handle(): i32 {
  calls++;
  let sum = 0;
  for (let i = 0; i < 2; i++) {
    const item = new Item(8 + (i & 7));
    sum += item.values.length;
  }
  return sum + calls;
}
