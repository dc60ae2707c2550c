#define _GNU_SOURCE
#include "runtime/support/file_in.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *nc_file_kind(mode_t mode) {
    if (S_ISREG(mode)) return "a regular file";
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISSOCK(mode)) return "a socket";
    if (S_ISLNK(mode)) return "a symbolic link";
    return "not a file";
}

static void human(uint64_t n, char *s, size_t len) {
    if (n >= (uint64_t)1 << 30)
        snprintf(s, len, "%.1f GiB", (double)n / (double)((uint64_t)1 << 30));
    else if (n >= (uint64_t)1 << 20)
        snprintf(s, len, "%.1f MiB", (double)n / (double)((uint64_t)1 << 20));
    else
        snprintf(s, len, "%llu bytes", (unsigned long long)n);
}

static int refuse(const char *path, const struct stat *st, uint64_t max_bytes, const char *what, NcError *e) {
    if (S_ISDIR(st->st_mode)) return nc_errorf(e, "%s: cannot read: is a directory, not %s", path, what);
    if (!S_ISREG(st->st_mode)) return nc_errorf(e, "%s: not a regular file (%s)", path, nc_file_kind(st->st_mode));
    if ((uint64_t)st->st_size > max_bytes) {
        char has[32], lim[32];
        human((uint64_t)st->st_size, has, sizeof has);
        human(max_bytes, lim, sizeof lim);
        return nc_errorf(e, "%s: %s is over the %s limit for %s", path, has, lim, what);
    }
    return 0;
}

int nc_open_input(const char *path, uint64_t max_bytes, const char *what, int *fd, uint64_t *size, NcError *e) {
    *fd = -1;
    *size = 0;
    /* stat first: opening some devices (a tape, a terminal) acts on them */
    struct stat st;
    if (stat(path, &st) != 0) return nc_errorf(e, "%s: cannot open: %s", path, strerror(errno));
    if (refuse(path, &st, max_bytes, what, e)) return -1;
    /* O_NONBLOCK: if it became a FIFO since the stat, open still returns */
    int f = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (f < 0) return nc_errorf(e, "%s: cannot open: %s", path, strerror(errno));
    if (fstat(f, &st) != 0 || fcntl(f, F_SETFL, fcntl(f, F_GETFL) & ~O_NONBLOCK) != 0) {
        int er = errno;
        close(f);
        return nc_errorf(e, "%s: cannot read: %s", path, strerror(er));
    }
    if (refuse(path, &st, max_bytes, what, e)) {
        close(f);
        return -1;
    }
    *fd = f;
    *size = (uint64_t)st.st_size;
    return 0;
}

int nc_read_file_max(const char *path, uint64_t max_bytes, const char *what, char **data, size_t *len, NcError *e) {
    *data = NULL;
    *len = 0;
    int fd;
    uint64_t size;
    if (nc_open_input(path, max_bytes, what, &fd, &size, e)) return -1;
    char *buf = nc_malloc((size_t)size + 1);
    size_t n = 0;
    while (n < size) {
        ssize_t got = read(fd, buf + n, (size_t)size - n);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            int er = errno;
            close(fd);
            free(buf);
            return nc_errorf(e, "%s: read error: %s", path, strerror(er));
        }
        if (got == 0) break; /* shrank while reading: use what is there */
        n += (size_t)got;
    }
    close(fd);
    buf[n] = 0;
    *data = buf;
    *len = n;
    return 0;
}

int nc_read_file(const char *path, char **data, size_t *len, NcError *e) {
    return nc_read_file_max(path, NC_LIMIT_TEXT, "a text file", data, len, e);
}
