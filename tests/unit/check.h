/* check.h — the unit-test harness: CHECK records a failure with file:line and
 * goes on; TEST_MAIN_END prints the closing line ctest logs read and sets the
 * exit status. Kept tiny on purpose: tests are plain C programs. */
#ifndef NETC_CHECK_H
#define NETC_CHECK_H
#include <math.h>
#include <stdio.h>

static int check_passed_, check_failed_;

#define CHECK(cond)                                                                                                    \
    do {                                                                                                               \
        if (cond) {                                                                                                    \
            check_passed_++;                                                                                           \
        } else {                                                                                                       \
            check_failed_++;                                                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);                                   \
        }                                                                                                              \
    } while (0)

#define CHECK_MSG(cond, ...)                                                                                           \
    do {                                                                                                               \
        if (cond) {                                                                                                    \
            check_passed_++;                                                                                           \
        } else {                                                                                                       \
            check_failed_++;                                                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);                                   \
            fprintf(stderr, __VA_ARGS__);                                                                              \
            fputc('\n', stderr);                                                                                       \
        }                                                                                                              \
    } while (0)

#define CHECK_NEAR(a, b, tol) CHECK_MSG(fabs((double)(a) - (double)(b)) <= (tol), "%g vs %g", (double)(a), (double)(b))

#define TEST_MAIN_END()                                                                                                \
    do {                                                                                                               \
        printf("%d passed, %d failed\n", check_passed_, check_failed_);                                                \
        return check_failed_ ? 1 : 0;                                                                                  \
    } while (0)
#endif
