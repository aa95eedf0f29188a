// Reads a file through stdio in odd-sized chunks and a line at a time:
// musl's `__stdio_read` hands the host two buffers at once (the caller's
// and its own), so how a host fills vectored reads decides how often the
// guest loops. Native and Node must give the same call counts.
#include <stdio.h>

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "/data/in.txt";
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 1;
    }
    unsigned long sum = 0, total = 0;
    char chunk[1000];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        for (size_t i = 0; i < got; i++) sum = sum * 31 + (unsigned char)chunk[i];
        total += got;
    }
    rewind(f);
    char line[256];
    int lines = 0;
    while (fgets(line, sizeof line, f)) lines++;
    fclose(f);
    printf("%lu bytes, %d lines, checksum %lu\n", total, lines, sum);
    return 0;
}
