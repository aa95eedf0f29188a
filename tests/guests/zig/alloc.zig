//! Allocation guest (Zig, std.heap.wasm_allocator on wasm32-wasi).
//!
//! Expected with `wprof run --memory` (asserted by profiler/tests/all/memory.rs):
//! 10 blocks of 100 bytes kept (`leak`) plus 100 allocate/free pairs of 48
//! bytes (`churn`): 110 allocations from the Zig allocator. Optimised builds
//! inline `free`; blocks then count as freed when their address is handed
//! out again, so at least the 10 leaked blocks (1000 bytes) stay live.
const std = @import("std");

var kept: [16][]u8 = undefined;

fn leak(a: std.mem.Allocator) !void {
    for (0..10) |i| {
        kept[i] = try a.alloc(u8, 100);
    }
}

fn churn(a: std.mem.Allocator) !void {
    for (0..100) |_| {
        const b = try a.alloc(u8, 48);
        a.free(b);
    }
}

pub fn main() !void {
    const a = std.heap.wasm_allocator;
    try leak(a);
    try churn(a);
    std.debug.print("done\n", .{});
}
