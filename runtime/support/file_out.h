/* file_out.h — every file netc and its programs write goes through here.
 *
 * A regular target (or a new one) is written to a temporary beside it, made
 * with O_CREAT|O_EXCL under an unguessable name (so a link planted there is
 * never followed), then fsync'd, renamed over the target and the folder
 * fsync'd: the target is the old file or the whole new one, never a part.
 * A character device (/dev/null, /dev/full) is written in place, as are
 * /dev/stdout, /dev/stderr and /dev/fd/N (the stream itself).  Any other
 * target is refused with a message and left alone: a symbolic link (netc does
 * not write through links), a FIFO, a socket, a block device, a directory.
 *
 * Live temporaries are listed where a SIGINT, SIGTERM or SIGHUP handler finds
 * them: it stops a child started by nc_spawn_wait, removes them, and dies of
 * the signal as it would have.  The handler is installed only over the default
 * action, never over a program's own or an ignored signal. */
#ifndef NETC_FILE_OUT_H
#define NETC_FILE_OUT_H

#include "runtime/support/base.h"

typedef struct NcOut {
    char *path; /* the target, as given */
    char *tmp;  /* the temporary; NULL when the target is written in place */
    int fd;     /* open from begin to commit or abort */
    int slot;   /* where tmp is listed for the signal handler, -1 if nowhere */
    int target; /* 0 for a scratch file, which only abort ends */
} NcOut;

enum { NC_OUT_EXEC = 1 }; /* an executable: mode 0777 less the umask, not 0666 */

/* Opens a target for writing (see above).  Errors name the path: "y.npy:
 * cannot write: No such file or directory", "out: is a symbolic link; ...". */
int nc_out_begin(NcOut *o, const char *path, int flags, NcError *e);

/* A scratch file beside `near` (its folder, a name made from it, the given
 * suffix: ".s", ".o"), listed for the signal handler like a temporary; for
 * files another program writes.  Removed by nc_out_abort. */
int nc_out_scratch(NcOut *o, const char *near, const char *suffix, NcError *e);

/* The name to give a writer that opens by name (a linker, the LLVM object
 * writer, nc_write_file_atomic): the temporary, or the target written in place. */
const char *nc_out_name(const NcOut *o);

int nc_out_write(NcOut *o, const void *data, size_t len, NcError *e);

/* Puts the temporary in place: fsync it (by name, so a file a child
 * re-created is covered too), rename it over the target, fsync the folder.
 * On failure the temporary is removed and the target untouched. */
int nc_out_commit(NcOut *o, NcError *e);

/* Commits outputs that belong together, in order, with SIGINT, SIGTERM and
 * SIGHUP held off between the first rename and the last.  With last_vouches
 * the last target is removed before the first rename, so whoever finds the
 * last file finds the others from the same run (a SIGKILL or a crash half way
 * leaves the set without its last file, never mixed).  Every output is
 * committed or aborted on return. */
int nc_out_commit_all(NcOut *const *outs, int n, int last_vouches, NcError *e);

/* Removes the temporary (or scratch file); the target is untouched.  Safe on
 * a zeroed NcOut and twice. */
void nc_out_abort(NcOut *o);

/* Runs argv[0] (found on PATH) and waits: its exit status, or -1 if it could
 * not be run or died of a signal.  The child is in its own process group,
 * which a signal that stops us stops too, before our temporaries go. */
int nc_spawn_wait(const char *const *argv);

#endif
