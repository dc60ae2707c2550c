/* omp_wait.h — the program's OpenMP wait policy (omp_wait.c says why and how). */
#ifndef NC_OMP_WAIT_H
#define NC_OMP_WAIT_H

/* libgomp's spin count before a waiting thread sleeps: pause instructions, ~12 ns each on the
 * Xeon this was chosen on (bench/RESULTS.md, "OpenMP's wait policy"), so ~12 us; a pause takes
 * other times on other CPUs (Skylake's ~140 cycles, ~50 ns), so the count is another time there */
#define NC_OMP_SPINCOUNT "1000"

/* Unless the user set OMP_WAIT_POLICY or GOMP_SPINCOUNT: restart this program (argv as given)
 * with GOMP_SPINCOUNT=NC_OMP_SPINCOUNT, so that libgomp reads it.  Returns only if nothing was to
 * be done or the restart failed.  Call first thing in main. */
void nc_omp_wait_policy(char **argv);

#endif
