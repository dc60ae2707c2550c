#define _GNU_SOURCE
#include "runtime/support/file_out.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/support/file_in.h"

/* ---- the list of live temporaries, read by the signal handler ---- */

#define SLOTS 64
static char slot_path[SLOTS][PATH_MAX];
static atomic_int slot_state[SLOTS]; /* 0 free, 1 being filled, 2 live */
static atomic_int child_pid;         /* a child of nc_spawn_wait, 0 when none */
static atomic_int owner_pid;         /* the handler acts only in the process that installed it */
static const int caught[] = {SIGINT, SIGTERM, SIGHUP};

static void caught_set(sigset_t *s) {
    sigemptyset(s);
    for (size_t k = 0; k < sizeof caught / sizeof caught[0]; k++) sigaddset(s, caught[k]);
}

static void on_signal(int sig) {
    int saved = errno;
    if (atomic_load(&owner_pid) == (int)getpid()) {
        int pid = atomic_load(&child_pid);
        if (pid > 0) {
            /* the child (a compiler, a linker) could write a temporary after it is removed */
            kill(-pid, sig);
            waitpid(pid, NULL, 0);
        }
        for (int i = 0; i < SLOTS; i++)
            if (atomic_load(&slot_state[i]) == 2) unlink(slot_path[i]);
    }
    signal(sig, SIG_DFL);
    errno = saved;
    raise(sig); /* delivered with the default action once this handler returns */
}

static void install(void) {
    /* once per process: a forked child installs again, as the owner of its own temporaries */
    if (atomic_exchange(&owner_pid, (int)getpid()) == (int)getpid()) return;
    for (size_t i = 0; i < sizeof caught / sizeof caught[0]; i++) {
        struct sigaction old, sa;
        if (sigaction(caught[i], NULL, &old) != 0 || (old.sa_flags & SA_SIGINFO) ||
            (old.sa_handler != SIG_DFL && old.sa_handler != on_signal))
            continue;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        caught_set(&sa.sa_mask);
        sigaction(caught[i], &sa, NULL);
    }
}

static int list_tmp(const char *path) {
    install();
    if (strlen(path) >= PATH_MAX) return -1;
    for (int i = 0; i < SLOTS; i++) {
        int free_slot = 0;
        if (atomic_compare_exchange_strong(&slot_state[i], &free_slot, 1)) {
            memcpy(slot_path[i], path, strlen(path) + 1);
            atomic_store(&slot_state[i], 2);
            return i;
        }
    }
    NC_FATAL("more than %d temporary files at once", SLOTS);
}

static void unlist_tmp(int slot) {
    if (slot >= 0) atomic_store(&slot_state[slot], 0);
}

/* ---- naming and creating ---- */

static char *dir_of(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return nc_strdup(".");
    return slash == path ? nc_strdup("/") : nc_strndup(path, (size_t)(slash - path));
}

/* ".BASE.RANDOM.tmpSUFFIX" beside path, created exclusively; the name is
 * listed before the file exists, so a signal in between cannot leave it. */
static int create_temp(NcOut *o, const char *path, const char *suffix, mode_t mode, NcError *e) {
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    int er = EEXIST;
    for (int tries = 0; tries < 100 && er == EEXIST; tries++) {
        uint64_t r = 0;
        if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r) r ^= (uint64_t)(nc_now() * 1e9) + (uint64_t)tries;
        /* the base is cut so the name stays under NAME_MAX */
        char *tmp = nc_sprintf("%.*s.%.180s.%012llx.tmp%s", (int)(base - path), path, base,
                               (unsigned long long)(r & 0xffffffffffffull), suffix);
        int slot = list_tmp(tmp);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd >= 0) {
            o->tmp = tmp, o->fd = fd, o->slot = slot;
            return 0;
        }
        er = errno;
        unlist_tmp(slot);
        free(tmp);
    }
    return nc_errorf(e, "%s: cannot write: %s", path, er == EEXIST ? "no free temporary name beside it" : strerror(er));
}

/* /dev/stdout, /dev/stderr, /dev/fd/N, /proc/self/fd/N: the descriptor they name, else -1 */
static int stream_fd(const char *path) {
    if (!strcmp(path, "/dev/stdout")) return 1;
    if (!strcmp(path, "/dev/stderr")) return 2;
    const char *n = !strncmp(path, "/dev/fd/", 8) ? path + 8 : !strncmp(path, "/proc/self/fd/", 14) ? path + 14 : NULL;
    if (!n || !*n || strspn(n, "0123456789") != strlen(n) || strlen(n) > 6) return -1;
    return atoi(n);
}

static int refuse(const char *path, mode_t mode, NcError *e) {
    if (S_ISLNK(mode))
        return nc_errorf(e, "%s: is a symbolic link; netc does not write through links (name the file it points to)",
                         path);
    return nc_errorf(e,
                     "%s: not a regular file (%s); outputs go to regular files, or in place to a character "
                     "device such as /dev/null, or to /dev/stdout",
                     path, nc_file_kind(mode));
}

static int begin_in_place(NcOut *o, const char *path, const struct stat *st, NcError *e) {
    int fd;
    if (S_ISLNK(st->st_mode)) {
        int n = stream_fd(path);
        if (n < 0) return refuse(path, st->st_mode, e);
        fd = fcntl(n, F_DUPFD_CLOEXEC, 3);
    } else {
        fd = open(path, O_WRONLY | O_NOCTTY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    }
    if (fd < 0) return nc_errorf(e, "%s: cannot write: %s", path, strerror(errno));
    struct stat now;
    /* a device name replaced by a FIFO since the lstat is refused all the same */
    if (!S_ISLNK(st->st_mode) && (fstat(fd, &now) != 0 || !S_ISCHR(now.st_mode))) {
        close(fd);
        return refuse(path, S_IFIFO, e);
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    o->fd = fd;
    return 0;
}

int nc_out_begin(NcOut *o, const char *path, int flags, NcError *e) {
    memset(o, 0, sizeof *o);
    o->fd = -1, o->slot = -1, o->target = 1;
    struct stat st;
    int rc;
    if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        if (!S_ISCHR(st.st_mode) && !S_ISLNK(st.st_mode)) return refuse(path, st.st_mode, e);
        rc = begin_in_place(o, path, &st, e);
    } else {
        rc = create_temp(o, path, "", (flags & NC_OUT_EXEC) ? 0777 : 0666, e);
    }
    if (!rc) o->path = nc_strdup(path);
    return rc;
}

int nc_out_scratch(NcOut *o, const char *near, const char *suffix, NcError *e) {
    memset(o, 0, sizeof *o);
    o->fd = -1, o->slot = -1;
    if (create_temp(o, near, suffix, 0666, e)) return -1;
    o->path = nc_strdup(near);
    return 0;
}

const char *nc_out_name(const NcOut *o) { return o->tmp ? o->tmp : o->path; }

int nc_out_write(NcOut *o, const void *data, size_t len, NcError *e) {
    const char *p = data;
    while (len) {
        ssize_t put = write(o->fd, p, len > ((size_t)1 << 30) ? (size_t)1 << 30 : len);
        if (put < 0 && errno == EINTR) continue;
        if (put <= 0)
            return nc_errorf(e, "%s: write failed: %s", o->path, put < 0 ? strerror(errno) : "nothing written");
        p += put, len -= (size_t)put;
    }
    return 0;
}

void nc_out_abort(NcOut *o) {
    if (o->path) { /* set by a begin that succeeded, so a zeroed NcOut closes no descriptor 0 */
        if (o->fd >= 0) close(o->fd);
        if (o->tmp) unlink(o->tmp);
        unlist_tmp(o->slot);
        free(o->tmp);
        free(o->path);
    }
    memset(o, 0, sizeof *o);
    o->fd = -1, o->slot = -1;
}

static int fsync_dir(const char *path) {
    char *dir = dir_of(path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd < 0) return -1;
    int rc = fsync(fd) != 0 && errno != EINVAL ? -1 : 0;
    close(fd);
    return rc;
}

/* Everything before the rename: the data on disk, the target still one we may replace. */
static int prepare(NcOut *o, NcError *e) {
    int fd = o->fd;
    o->fd = -1;
    if (!o->tmp) {
        /* in place: a device does not fsync, but a failed close is a failed write */
        if (close(fd) != 0 && errno != EINTR) return nc_errorf(e, "%s: write failed: %s", o->path, strerror(errno));
        return 0;
    }
    close(fd);
    int f = open(o->tmp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    int bad = f < 0 || fstat(f, &st) != 0 || !S_ISREG(st.st_mode) || fsync(f) != 0;
    int er = errno;
    if (f >= 0) close(f);
    if (bad) return nc_errorf(e, "%s: write failed: %s", o->path, strerror(er));
    if (lstat(o->path, &st) == 0 && !S_ISREG(st.st_mode)) return refuse(o->path, st.st_mode, e);
    return 0;
}

static int put_in_place(NcOut *o, NcError *e) {
    if (o->tmp && rename(o->tmp, o->path) != 0) return nc_errorf(e, "%s: write failed: %s", o->path, strerror(errno));
    unlist_tmp(o->slot);
    free(o->tmp);
    o->tmp = NULL, o->slot = -1;
    return 0;
}

int nc_out_commit(NcOut *o, NcError *e) {
    NcOut *one = o;
    return nc_out_commit_all(&one, 1, 0, e);
}

int nc_out_commit_all(NcOut *const *outs, int n, int last_vouches, NcError *e) {
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) rc = prepare(outs[i], e);
    sigset_t hold, old;
    caught_set(&hold);
    pthread_sigmask(SIG_BLOCK, &hold, &old);
    NcOut *last = n ? outs[n - 1] : NULL;
    if (!rc && last_vouches && last->tmp && unlink(last->path) != 0 && errno != ENOENT)
        rc = nc_errorf(e, "%s: cannot replace: %s", last->path, strerror(errno));
    if (!rc && last_vouches && last->tmp) fsync_dir(last->path);
    int renamed = 0; /* which outputs went through a rename, as bits */
    NC_CHECK(n < 31);
    for (int i = 0; i < n && !rc; i++) {
        renamed |= outs[i]->tmp ? 1 << i : 0;
        rc = put_in_place(outs[i], e);
    }
    for (int i = 0; i < n && !rc; i++)
        if ((renamed >> i & 1) && fsync_dir(outs[i]->path))
            rc = nc_errorf(e, "%s: cannot sync its folder: %s", outs[i]->path, strerror(errno));
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    for (int i = 0; i < n; i++) nc_out_abort(outs[i]); /* frees; a temporary still there is removed */
    return rc;
}

int nc_write_file_atomic(const char *path, const void *data, size_t len, NcError *e) {
    NcOut o;
    if (nc_out_begin(&o, path, 0, e)) return -1;
    if (nc_out_write(&o, data, len, e)) {
        nc_out_abort(&o);
        return -1;
    }
    return nc_out_commit(&o, e);
}

int nc_spawn_wait(const char *const *argv) {
    install();
    sigset_t hold, old;
    caught_set(&hold);
    /* held until the pid is recorded, so the handler never misses the child */
    pthread_sigmask(SIG_BLOCK, &hold, &old);
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0); /* exec gives caught signals their default action back */
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    if (pid > 0) {
        setpgid(pid, pid); /* also here: the handler may signal the group before the child ran */
        atomic_store(&child_pid, (int)pid);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    int status;
    int got = pid < 0 ? -1 : (int)waitpid(pid, &status, 0);
    while (got < 0 && pid > 0 && errno == EINTR) got = (int)waitpid(pid, &status, 0);
    atomic_store(&child_pid, 0);
    if (got < 0) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
