/* cu_ptxas.c — PTX to a cubin through the toolkit's ptxas (cu_ptxas.h). */
#include "codegen/cuda/cu_ptxas.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/support/file_in.h"
#include "runtime/support/file_out.h"

static char *executable(const char *dir, const char *name) {
    char *p = nc_sprintf("%s/%s", dir, name);
    if (!access(p, X_OK)) return p;
    free(p);
    return NULL;
}

static char *search(const char **why) {
    /* PATH first, as a shell would find it, then the toolkit's usual homes */
    const char *path = getenv("PATH");
    char *dirs = nc_strdup(path ? path : ""), *save = NULL, *p = NULL;
    for (char *d = strtok_r(dirs, ":", &save); d && !p; d = strtok_r(NULL, ":", &save))
        if (*d) p = executable(d, "ptxas");
    free(dirs);
    const char *home = getenv("CUDA_HOME");
    if (!p && home && *home) {
        char *bin = nc_sprintf("%s/bin", home);
        p = executable(bin, "ptxas");
        free(bin);
    }
    if (!p) p = executable("/usr/local/cuda/bin", "ptxas");
    if (!p) *why = "ptxas not found on PATH, under $CUDA_HOME/bin or in /usr/local/cuda/bin";
    return p;
}

int nc_cu_ptxas_find(char **exe, const char **why, NcError *e) {
    const char *env = getenv("NETC_PTXAS");
    *exe = NULL;
    if (!env || !*env) return *exe = search(why), 0;
    if (!strcmp(env, "none")) return *why = "NETC_PTXAS=none", 0;
    if (access(env, X_OK))
        return nc_errorf(e, "NETC_PTXAS=%s: not an executable (set it to the CUDA toolkit's ptxas, or to none)", env);
    return *exe = nc_strdup(env), 0;
}

int nc_cu_ptxas(const char *exe, const char *name, const char *ptx, const char *sm, unsigned char **cubin, size_t *len,
                NcError *e) {
    /* scratch files in the temporary folder, listed for the signal handler: nothing is left behind */
    const char *tmpdir = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char *near = nc_sprintf("%s/netc-%s", tmpdir, name);
    NcOut in, out;
    memset(&in, 0, sizeof in);
    memset(&out, 0, sizeof out);
    int rc = nc_out_scratch(&in, near, ".ptx", e) || nc_out_scratch(&out, near, ".cubin", e) ||
             nc_write_file_atomic(nc_out_name(&in), ptx, strlen(ptx), e);
    if (!rc) {
        char arch[32];
        snprintf(arch, sizeof arch, "-arch=%s", sm);
        const char *argv[] = {exe, arch, "-o", nc_out_name(&out), nc_out_name(&in), NULL};
        const int st = nc_spawn_wait(argv);
        if (st)
            rc = nc_errorf(e, "--target cuda: %s rejected the PTX of kernel %s (exit %d): a netc bug", exe, name, st);
    }
    char *data = NULL;
    if (!rc && nc_read_file_max(nc_out_name(&out), NC_LIMIT_WEIGHTS, "a cubin", &data, len, e)) rc = -1;
    if (!rc && (*len < 20 || memcmp(data, "\177ELF", 4)))
        rc = nc_errorf(e, "--target cuda: %s wrote no ELF for kernel %s", exe, name);
    if (rc) free(data), data = NULL;
    *cubin = (unsigned char *)data;
    nc_out_abort(&in);
    nc_out_abort(&out);
    free(near);
    return rc ? -1 : 0;
}
