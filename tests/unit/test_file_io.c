/* test_file_io.c — runtime/support/file_out.c and file_in.c: what an output
 * replaces and what it refuses, what an abort or a signal leaves behind, the
 * vouching order of a set of outputs, and inputs that must not block. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "runtime/support/file_in.h"
#include "runtime/support/file_out.h"

static char dir[64];

static char *at(const char *name) { return nc_sprintf("%s/%s", dir, name); }

static void put(const char *name, const char *text) {
    char *p = at(name);
    FILE *f = fopen(p, "wb");
    fputs(text, f);
    fclose(f);
    free(p);
}

static char *get(const char *name) {
    char *p = at(name), *data = NULL;
    size_t len;
    NcError e;
    if (nc_read_file(p, &data, &len, &e)) data = NULL;
    free(p);
    return data;
}

/* Files in the folder whose names start with '.': temporaries left behind. */
static int hidden_files(void) {
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *de; (de = readdir(d));)
        n += de->d_name[0] == '.' && strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
    closedir(d);
    return n;
}

static int same_text(const char *name, const char *want) {
    char *got = get(name);
    int ok = got && !strcmp(got, want);
    free(got);
    return ok;
}

static void test_replace_and_abort(void) {
    NcError e;
    char *p = at("out.bin");
    put("out.bin", "old");
    NcOut o;
    CHECK(nc_out_begin(&o, p, 0, &e) == 0 && o.tmp && strstr(o.tmp, "/.out.bin."));
    CHECK(nc_out_write(&o, "new", 3, &e) == 0);
    CHECK(same_text("out.bin", "old")); /* nothing shows before the commit */
    nc_out_abort(&o);
    CHECK(same_text("out.bin", "old") && hidden_files() == 0);
    nc_out_abort(&o); /* twice is safe */
    CHECK(nc_write_file_atomic(p, "new", 3, &e) == 0 && same_text("out.bin", "new") && hidden_files() == 0);
    struct stat st;
    CHECK(stat(p, &st) == 0 && (st.st_mode & 0111) == 0);
    CHECK(nc_out_begin(&o, p, NC_OUT_EXEC, &e) == 0 && nc_out_commit(&o, &e) == 0);
    CHECK(stat(p, &st) == 0 && (st.st_mode & 0100) && st.st_size == 0);
    free(p);
    p = at("no/such/dir/x");
    CHECK(nc_write_file_atomic(p, "x", 1, &e) != 0 && strstr(e.msg, "no/such/dir/x: cannot write: No such file"));
    free(p);
    NcOut z = {0};
    nc_out_abort(&z); /* a zeroed NcOut owns nothing, not even descriptor 0 */
    CHECK(fcntl(0, F_GETFD) != -1 || errno != EBADF);
}

static void test_refused_targets(void) {
    NcError e;
    NcOut o;
    put("victim", "keep");
    char *victim = at("victim"), *link = at("link"), *fifo = at("fifo"), *sub = at("sub");
    CHECK(symlink(victim, link) == 0 && mkfifo(fifo, 0600) == 0 && mkdir(sub, 0700) == 0);
    CHECK(nc_write_file_atomic(link, "x", 1, &e) != 0 && strstr(e.msg, "link: is a symbolic link"));
    struct stat st;
    CHECK(lstat(link, &st) == 0 && S_ISLNK(st.st_mode) && same_text("victim", "keep"));
    CHECK(nc_out_begin(&o, fifo, 0, &e) != 0 && strstr(e.msg, "fifo: not a regular file (a FIFO)"));
    CHECK(lstat(fifo, &st) == 0 && S_ISFIFO(st.st_mode));
    CHECK(nc_out_begin(&o, sub, 0, &e) != 0 && strstr(e.msg, "(a directory)"));
    CHECK(nc_write_file_atomic("/dev/null", "x", 1, &e) == 0);
    CHECK(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode));
    CHECK(nc_write_file_atomic("/dev/full", "x", 1, &e) != 0 && strstr(e.msg, "/dev/full: write failed: No space"));
    CHECK(stat("/dev/full", &st) == 0 && S_ISCHR(st.st_mode));
    /* a link planted at every name of the old scheme, and the new one is not guessed */
    char *out = at("y.npy");
    for (int pid = getpid() - 5; pid < getpid() + 5; pid++) {
        char *planted = nc_sprintf("%s.tmp.%d", out, pid);
        CHECK(symlink(victim, planted) == 0);
        free(planted);
    }
    CHECK(nc_write_file_atomic(out, "y", 1, &e) == 0 && same_text("y.npy", "y") && same_text("victim", "keep"));
    for (int pid = getpid() - 5; pid < getpid() + 5; pid++) {
        char *planted = nc_sprintf("%s.tmp.%d", out, pid);
        unlink(planted);
        free(planted);
    }
    free(out);
    free(victim), free(link), free(fifo), free(sub);
}

static void test_set_vouching(void) {
    NcError e;
    put("f.npy", "old rows");
    put("f.txt", "old list");
    char *a_path = at("f.npy"), *t_path = at("f.txt");
    NcOut a, t;
    CHECK(nc_out_begin(&a, a_path, 0, &e) == 0 && nc_out_begin(&t, t_path, 0, &e) == 0);
    CHECK(nc_out_write(&a, "new rows", 8, &e) == 0 && nc_out_write(&t, "new list", 8, &e) == 0);
    NcOut *both[2] = {&a, &t};
    CHECK(nc_out_commit_all(both, 2, 1, &e) == 0);
    CHECK(same_text("f.npy", "new rows") && same_text("f.txt", "new list") && hidden_files() == 0);
    /* a commit that fails before the first rename changes neither file */
    CHECK(nc_out_begin(&a, a_path, 0, &e) == 0 && nc_out_begin(&t, t_path, 0, &e) == 0);
    unlink(a.tmp);
    CHECK(nc_out_commit_all(both, 2, 1, &e) != 0 && strstr(e.msg, "f.npy: write failed"));
    CHECK(same_text("f.npy", "new rows") && same_text("f.txt", "new list") && hidden_files() == 0);
    free(a_path), free(t_path);
}

/* A child that dies of SIGTERM while it holds a temporary and runs a grandchild
 * that would write into the folder later: neither file may remain. */
static void test_signal_cleanup(void) {
    char *p = at("big.out"), *late = at("late.out");
    int ready[2];
    CHECK(pipe(ready) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        NcError e;
        NcOut o;
        if (nc_out_begin(&o, p, 0, &e) || nc_out_write(&o, "partial", 7, &e)) _exit(3);
        char *script = nc_sprintf("sleep 2; echo late > '%s'", late);
        const char *argv[] = {"sh", "-c", script, NULL};
        if (write(ready[1], "x", 1) != 1) _exit(4);
        nc_spawn_wait(argv);
        _exit(5);
    }
    char c;
    CHECK(read(ready[0], &c, 1) == 1);
    usleep(200000); /* the shell has started */
    kill(pid, SIGTERM);
    int status;
    CHECK(waitpid(pid, &status, 0) == pid && WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
    sleep(3);
    struct stat st;
    CHECK(hidden_files() == 0 && stat(p, &st) != 0 && stat(late, &st) != 0);
    close(ready[0]), close(ready[1]);
    free(p), free(late);
}

static void test_inputs(void) {
    NcError e;
    char *data;
    size_t len;
    char *fifo = at("in.fifo");
    CHECK(mkfifo(fifo, 0600) == 0);
    CHECK(nc_read_file(fifo, &data, &len, &e) != 0 && strstr(e.msg, "in.fifo: not a regular file (a FIFO)"));
    CHECK(nc_read_file("/dev/zero", &data, &len, &e) != 0 && strstr(e.msg, "(a character device)"));
    CHECK(nc_read_file(dir, &data, &len, &e) != 0 && strstr(e.msg, "is a directory"));
    char *big = at("big.npy");
    CHECK(truncate(big, 0) != 0); /* not there yet */
    put("big.npy", "");
    CHECK(truncate(big, (off_t)NC_LIMIT_NPY + (1 << 28)) == 0); /* sparse: no disk used */
    CHECK(nc_read_file_max(big, NC_LIMIT_NPY, "a .npy file", &data, &len, &e) != 0 &&
          strstr(e.msg, "big.npy: 4.2 GiB is over the 4.0 GiB limit for a .npy file"));
    unlink(big);
    put("small.txt", "abc");
    char *small = at("small.txt");
    CHECK(nc_read_file(small, &data, &len, &e) == 0 && len == 3 && !strcmp(data, "abc"));
    free(data);
    int fd;
    uint64_t size;
    CHECK(nc_open_input(small, 2, "a test file", &fd, &size, &e) != 0 && strstr(e.msg, "3 bytes is over the 2 bytes"));
    CHECK(nc_open_input(small, 3, "a test file", &fd, &size, &e) == 0 && size == 3);
    CHECK(!(fcntl(fd, F_GETFL) & O_NONBLOCK));
    close(fd);
    free(fifo), free(big), free(small);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/netc_file_io_XXXXXX");
    if (!mkdtemp(dir)) return 1;
    test_replace_and_abort();
    test_refused_targets();
    test_set_vouching();
    test_signal_cleanup();
    test_inputs();
    char *cmd = nc_sprintf("rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    free(cmd);
    TEST_MAIN_END();
}
