// C guest: the file system through wasi-libc: stdio files, directories
// (opendir/readdir), stat/lstat, symlinks, hard links, rename, unlink,
// truncate, and escape attempts, each printed with its errno.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void check(const char *what, int r) {
  if (r == 0) printf("%s: ok\n", what);
  else printf("%s: %s\n", what, strerror(errno));
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void list(const char *path) {
  DIR *d = opendir(path);
  if (!d) { printf("opendir %s: %s\n", path, strerror(errno)); return; }
  char *names[64];
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < 64) names[n++] = strdup(e->d_name);
  closedir(d);
  qsort(names, n, sizeof *names, cmp);
  printf("%s:", path);
  for (int i = 0; i < n; i++) { printf(" %s", names[i]); free(names[i]); }
  printf("\n");
}

int main(void) {
  FILE *f = fopen("/sandbox/c-out.txt", "w");
  if (!f) { perror("fopen"); return 1; }
  for (int i = 0; i < 3; i++) fprintf(f, "line %d\n", i);
  fclose(f);
  f = fopen("/sandbox/c-out.txt", "a+");
  fputs("appended\n", f);
  rewind(f);
  char buf[128];
  while (fgets(buf, sizeof buf, f)) printf("read: %s", buf);
  fclose(f);

  struct stat st;
  check("stat hello", stat("/sandbox/hello.txt", &st));
  printf("size %lld regular %d\n", (long long)st.st_size, S_ISREG(st.st_mode));
  check("mkdir", mkdir("/sandbox/cdir", 0755));
  check("mkdir again", mkdir("/sandbox/cdir", 0755));
  check("symlink", symlink("../hello.txt", "/sandbox/cdir/link"));
  check("lstat link", lstat("/sandbox/cdir/link", &st));
  printf("is link %d\n", S_ISLNK(st.st_mode));
  check("stat link", stat("/sandbox/cdir/link", &st));
  printf("target size %lld\n", (long long)st.st_size);
  ssize_t n = readlink("/sandbox/cdir/link", buf, 5);
  printf("readlink 5: %zd %.*s\n", n, (int)(n < 0 ? 0 : n), buf);
  check("link", link("/sandbox/hello.txt", "/sandbox/cdir/hard"));
  check("stat hard", stat("/sandbox/cdir/hard", &st));
  printf("nlink %lld\n", (long long)st.st_nlink);
  check("rename", rename("/sandbox/cdir/hard", "/sandbox/cdir/renamed"));
  check("truncate", truncate("/sandbox/c-out.txt", 4));
  check("stat truncated", stat("/sandbox/c-out.txt", &st));
  printf("size now %lld\n", (long long)st.st_size);
  check("unlink dir", unlink("/sandbox/cdir"));
  check("rmdir non-empty", rmdir("/sandbox/cdir"));
  check("open missing", open("/sandbox/nope", O_RDONLY) < 0 ? -1 : 0);
  check("open outside", open("/etc/passwd", O_RDONLY) < 0 ? -1 : 0);
  check("open dotdot", open("/sandbox/../etc/passwd", O_RDONLY) < 0 ? -1 : 0);
  check("symlink loop", symlink("loop", "/sandbox/cdir/loop"));
  check("open loop", open("/sandbox/cdir/loop", O_RDONLY) < 0 ? -1 : 0);
  check("O_EXCL existing", open("/sandbox/hello.txt", O_CREAT | O_EXCL | O_WRONLY, 0644) < 0 ? -1 : 0);
  int fd = open("/sandbox/hello.txt", O_RDONLY);
  check("write to O_RDONLY", write(fd, "x", 1) < 0 ? -1 : 0);
  printf("lseek end: %lld\n", (long long)lseek(fd, 0, SEEK_END));
  close(fd);
  list("/sandbox");
  list("/sandbox/cdir");
  check("unlink link", unlink("/sandbox/cdir/link"));
  check("unlink loop", unlink("/sandbox/cdir/loop"));
  return 0;
}
