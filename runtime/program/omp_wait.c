/* omp_wait.c — the program's one OpenMP wait policy, for every command.
 *
 * Between two parallel regions (one per kernel, a few hundred a training step) and at the barrier
 * that ends each one, an OpenMP thread with nothing to do either spins or sleeps.  Spinning is what
 * an idle machine wants (a sleeping thread costs a futex wake and a reschedule: with
 * OMP_WAIT_POLICY=passive the Fashion-MNIST step was 6% slower on Zen 3, 11% on a Xeon); sleeping is
 * what a loaded one wants (threads spinning while the thread they wait for is descheduled took a
 * quarter of resnet50's step CPU).  A bounded spin does both: libgomp spins GOMP_SPINCOUNT pause
 * instructions, then sleeps.  Its default (300000 pauses, ~4 ms here, more than most kernels) acts
 * as active on a loaded machine (4-11x slower than passive, bench/RESULTS.md); NC_OMP_SPINCOUNT
 * covers the serial gaps between a step's parallel regions (median ~1 us, 99th percentile ~10-50
 * us) and short waits at a region's end, and gives the core up soon after.  RESULTS.md has the
 * sweep (300 to 300000, passive, active; idle and loaded) it was chosen from.
 *
 * libgomp reads the variables once, in its own ELF constructor, which runs before any of this
 * executable's (a constructor's priority orders only within one object) and even a .preinit_array
 * function's setenv is lost: libc's own initialiser, which runs after it, resets `environ` to the
 * stack's.  So the variable reaches libgomp only through a fresh start of this program with it in
 * the environment: one execv at the start of main, before anything is opened (a few ms: a tiny
 * program's `info` took 10-15 ms instead of 6-9 on the loaded 2-core Xeon).
 * The user's own OMP_WAIT_POLICY or GOMP_SPINCOUNT wins: then nothing is set and nothing restarts.
 * If the exec fails (no /proc), the program goes on with libgomp's default.  A program linked with
 * LLVM's libomp instead (CC=clang) ignores GOMP_SPINCOUNT (its knob is KMP_BLOCKTIME, default 200
 * ms): there the restart changes nothing. */
#include <stdlib.h>
#include <unistd.h>

#include "runtime/program/omp_wait.h"

void nc_omp_wait_policy(char **argv) {
    if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT")) return;
    if (setenv("GOMP_SPINCOUNT", NC_OMP_SPINCOUNT, 1)) return;
    execv("/proc/self/exe", argv);
    unsetenv("GOMP_SPINCOUNT"); /* not inherited by anything this run starts */
}
