// Allocation and GC guest (Go, GOOS=wasip1): allocates ROUNDS batches of
// heap objects, keeps every tenth batch, drops the rest, and forces a
// collection after each batch, so the run has many allocations and at least
// ROUNDS GC cycles.
//
// Expected with `wprof run --memory` (asserted by profiler/tests/all/memory.rs):
// allocations from runtime.mallocgc counted (at least ROUNDS*BATCH), GC
// cycles >= ROUNDS, Go blocks counted but not tracked as live.
package main

import (
	"fmt"
	"runtime"
)

const rounds = 20
const batch = 1000

var kept [][]*[64]byte

//go:noinline
func allocBatch() []*[64]byte {
	b := make([]*[64]byte, batch)
	for i := range b {
		b[i] = new([64]byte)
		b[i][0] = byte(i)
	}
	return b
}

func main() {
	for r := 0; r < rounds; r++ {
		b := allocBatch()
		if r%10 == 0 {
			kept = append(kept, b)
		}
		runtime.GC()
	}
	var st runtime.MemStats
	runtime.ReadMemStats(&st)
	fmt.Printf("kept %d batches, gc cycles %d\n", len(kept), st.NumGC)
}
