// C guest: clocks and sleeping through libc (clock_gettime, nanosleep,
// poll with a timeout), and socket calls on non-sockets.
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long ns(clockid_t c) {
  struct timespec t;
  clock_gettime(c, &t);
  return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(void) {
  // libc callers compare two readings and expect the second to be later.
  int stalled = 0;
  for (int i = 0; i < 1000; i++) {
    struct timespec x, y;
    clock_gettime(CLOCK_MONOTONIC, &x);
    clock_gettime(CLOCK_MONOTONIC, &y);
    if (y.tv_sec < x.tv_sec || (y.tv_sec == x.tv_sec && y.tv_nsec <= x.tv_nsec)) stalled++;
  }
  printf("monotonic pairs that did not advance: %d\n", stalled);
  long long a = ns(CLOCK_MONOTONIC);
  struct timespec req = {0, 30 * 1000000};
  printf("nanosleep: %d\n", nanosleep(&req, NULL));
  long long b = ns(CLOCK_MONOTONIC);
  printf("slept >= 30ms: %d\n", b - a >= 30000000LL);
  printf("realtime sane: %d\n", ns(CLOCK_REALTIME) > 1577836800LL * 1000000000LL);
  struct pollfd p = {.fd = 1, .events = POLLOUT};
  int r = poll(&p, 1, 1000);
  printf("poll stdout: %d revents has POLLOUT %d\n", r, (p.revents & POLLOUT) != 0);
  a = ns(CLOCK_MONOTONIC);
  r = poll(NULL, 0, 25);
  printf("poll timeout: %d waited >= 25ms %d\n", r, ns(CLOCK_MONOTONIC) - a >= 25000000LL);
  errno = 0;
  printf("shutdown(stdout): %d %s\n", shutdown(1, SHUT_RDWR), strerror(errno));
  errno = 0;
  printf("shutdown(99): %d %s\n", shutdown(99, SHUT_RDWR), strerror(errno));
  return 3;
}
