// C guest: argv, environment, stdin line by line through stdio, stderr,
// and the exit code from main.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) printf("argv[%d] = %s\n", i, argv[i]);
  const char *g = getenv("GREETING");
  printf("GREETING = %s\n", g ? g : "(unset)");
  printf("HOME = %s\n", getenv("HOME") ? getenv("HOME") : "(unset)");
  char line[256];
  int n = 0;
  while (fgets(line, sizeof line, stdin)) {
    line[strcspn(line, "\n")] = 0;
    printf("line %d: %s (%zu bytes)\n", ++n, line, strlen(line));
  }
  printf("eof: %d, isatty(stdout) = %d\n", feof(stdin) != 0, isatty(1));
  fprintf(stderr, "read %d lines\n", n);
  fflush(stdout);
  return n;
}
