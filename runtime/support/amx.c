/* amx.c — asking Linux for AMX tile state (amx.h). */
#define _DEFAULT_SOURCE /* syscall() */
#include "runtime/support/amx.h"

#include <errno.h>
#include <string.h>

#if defined(__linux__) && defined(__x86_64__)
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ARCH_GET_XCOMP_PERM 0x1022
#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA  18

int nc_amx_cpu_has_bf16(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (d >> 24 & 1) && (d >> 22 & 1); /* AMX-TILE, AMX-BF16 */
}

int nc_amx_enable(NcError *e) {
    static int done; /* racing first callers both ask: asking twice is harmless */
    if (done) return 0;
    unsigned long perm = 0;
    if (syscall(SYS_arch_prctl, ARCH_GET_XCOMP_PERM, &perm) == 0 && (perm >> XFEATURE_XTILEDATA & 1)) {
        done = 1;
        return 0;
    }
    if (syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) != 0) {
        const int err = errno;
        return nc_errorf(e,
                         "this program's kernels use AMX tiles, but the kernel refuses them "
                         "(arch_prctl(ARCH_REQ_XCOMP_PERM, XTILEDATA): %s)%s",
                         strerror(err),
                         !nc_amx_cpu_has_bf16() ? "; this CPU has no AMX: compile for it (netc compile without --cpu)"
                         : err == EINVAL        ? "; Linux 5.16 or later is needed"
                                                : "");
    }
    done = 1;
    return 0;
}
#else
int nc_amx_cpu_has_bf16(void) { return 0; }
int nc_amx_enable(NcError *e) {
    return nc_errorf(e, "this program's kernels use AMX tiles, which netc enables on Linux x86-64 only");
}
#endif
