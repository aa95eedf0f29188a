/* Allocation accounting guest (C, wasi-libc dlmalloc).
 *
 * Expected with `wprof run --memory` (asserted by profiler/tests/all/memory.rs),
 * per function, as `summary.json` memory.top_sites reports them:
 *   keep_malloc    malloc(100) x3, all live                 -> 3 allocs, 300 B live
 *   keep_calloc    calloc(10, 25)                            -> 1 alloc, 250 B live
 *   grow_in_place  malloc(16), then realloc to 24 (dlmalloc's 32-byte chunk
 *                  holds it: the pointer does not move)      -> 1 alloc, 24 B live
 *   move_block     malloc(32) under a 4000-byte block, realloc to 20000:
 *                  the block moves                            -> 2 allocs, 1 free, 20000 B live
 *   aligned        posix_memalign(&p, 64, 512)                -> 1 alloc, 512 B live
 *   churn          200 x (malloc(48); free)                   -> 200 allocs, 200 frees, 0 B live
 *   release        frees one keep_malloc block               -> keep_malloc: 200 B live
 * Prints the realloc pointer checks so a run shows whether the in-place and
 * moving cases happened as intended.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *kept[16];
static int nkept;

__attribute__((noinline)) static void keep_malloc(void) {
  for (int i = 0; i < 3; i++) kept[nkept++] = malloc(100);
}

__attribute__((noinline)) static void keep_calloc(void) { kept[nkept++] = calloc(10, 25); }

__attribute__((noinline)) static void grow_in_place(void) {
  char *p = malloc(16);
  char *q = realloc(p, 24);
  printf("in place: %s\n", p == q ? "yes" : "no");
  kept[nkept++] = q;
}

__attribute__((noinline)) static void move_block(void) {
  char *p = malloc(32);
  /* A block right after p keeps realloc from extending p in place. */
  char *wall = malloc(4000);
  char *q = realloc(p, 20000);
  printf("moved: %s\n", p != q ? "yes" : "no");
  kept[nkept++] = q;
  kept[nkept++] = wall;
}

__attribute__((noinline)) static void aligned(void) {
  void *p = NULL;
  int rc = posix_memalign(&p, 64, 512);
  printf("posix_memalign: %d aligned: %s\n", rc, ((unsigned long)p % 64) == 0 ? "yes" : "no");
  kept[nkept++] = p;
}

__attribute__((noinline)) static void churn(void) {
  for (int i = 0; i < 200; i++) {
    char *volatile p = malloc(48);
    p[0] = (char)i;
    free(p);
  }
}

__attribute__((noinline)) static void release(void) { free(kept[0]); }

int main(void) {
  keep_malloc();
  keep_calloc();
  grow_in_place();
  move_block();
  aligned();
  churn();
  release();
  printf("kept %d blocks\n", nkept);
  return 0;
}
