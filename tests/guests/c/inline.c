// A hot `static inline` function that -O2 inlines into its caller: source
// lines and inlined frames must name it even though it has no code of its
// own. `mix` stays a real function (noinline) so both kinds are present.
#include <stdio.h>
#include <stdint.h>

static inline uint64_t step(uint64_t x) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
}

__attribute__((noinline)) static uint64_t mix(uint64_t x, int rounds) {
    for (int i = 0; i < rounds; i++) {
        x = step(x) + (uint64_t)i;
    }
    return x;
}

int main(void) {
    uint64_t acc = 1;
    for (int i = 0; i < 2000; i++) {
        acc = mix(acc, 100000);
    }
    printf("%llu\n", (unsigned long long)acc);
    return 0;
}
