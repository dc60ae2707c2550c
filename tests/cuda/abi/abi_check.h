/* abi_check.h — what abi_cuda.c, abi_cublaslt.c and abi_cudnn.c share: the device files' own declarations of
 * NVIDIA's API (runtime/device/device_cuda.c, device_cublaslt.c, device_cudnn.c, which include no NVIDIA header)
 * checked against the real headers at compile time, and their dlsym tables against the real libraries at run
 * time.  Each abi_*.c includes its device file and then the real header (tests/cuda.cmake's test_cuda_abi,
 * built where the toolkit's headers are found), so that the check reads the file's own struct of function
 * pointers, constants, layouts and tables, not a copy of them.
 *
 * A function pointer is checked by a wrapper (NC_ABI_WRAP) whose parameters are the device file's — asserted
 * to be exactly its member's type (NC_ABI_TYPE) — and which calls the real function with them.  The compiler then
 * checks the arity, and, with the diagnostics below made errors inside the wrappers, each argument's kind: an
 * integer where the header has a pointer or the reverse (-Wint-conversion), a pointer to another type
 * (-Wincompatible-pointer-types; void * converts to any), an integer of another width than the parameter's
 * (-Wtraditional-conversion: passing an int where the header has size_t, int64_t or long long, or the
 * reverse), a signed integer where the header has an unsigned one (the same; but an int for an enum, which is how
 * the device files pass enums, is taken), a float where the header has a double or the reverse
 * (-Wdouble-promotion, -Wfloat-conversion).  The
 * return's kind (integer or enum by size, pointer, floating by size) is asserted.  Where the device file has its
 * own opaque type for a pointer the header types (a Desc * for a cudnnTensorDescriptor_t *, a Perf * for a
 * cudnnConvolutionFwdAlgoPerf_t *), NC_ABI_AS converts it after checking that the argument has the file's type;
 * the struct layouts behind such pointers are asserted apart (size, and each member's offset the file reads).
 * The name each wrapper calls — cuda.h's API name, through its macros (cuMemAlloc is cuMemAlloc_v2) — is
 * compared at run time with the name the file's table dlsym's into that member (nc_abi_match). */
#ifndef NETC_TESTS_CUDA_ABI_CHECK_H
#define NETC_TESTS_CUDA_ABI_CHECK_H

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "runtime/device/dl_sym.h"

#if !defined(__GNUC__) || defined(__clang__)
#error "tests/cuda/abi/ needs GCC (-Wtraditional-conversion checks the parameters' widths)"
#endif

#define NC_ABI_STR(x)  #x
#define NC_ABI_XSTR(x) NC_ABI_STR(x)

/* A scalar's kind as the calling convention sees it: the type class (enums as integers) and the size. */
#define NC_ABI_CLASS(e) (__builtin_classify_type(e) == 3 ? 1 : __builtin_classify_type(e))
#define NC_ABI_KIND(e)  (NC_ABI_CLASS(e) * 1000 + (int)sizeof(e))
#define NC_ABI_SAME_KIND(netc_type, real_type)                                                                         \
    _Static_assert(NC_ABI_KIND((netc_type)0) == NC_ABI_KIND((real_type)0), #netc_type " is not " #real_type)

/* a, of the device file's type from, as the header's type to (only pointers: the pointees' layouts apart) */
#define NC_ABI_AS(a, from, to) ((to)(1 ? (a) : (from)0))

/* X-macro entries: X(member, api, ret, (params), (args)): the member of the device file's struct, the API name
 * (cuda.h's macros apply), the file's return type and parameters, the arguments passed on. */
#define NC_ABI_WRAP(member, api, ret, params, args)                                                                    \
    static inline __attribute__((unused)) ret nc_abi_w_##api params { /* inline: never emitted */                      \
        _Static_assert(NC_ABI_KIND(api args) == NC_ABI_KIND((ret)0), #api ": its return is not netc's");               \
        return (ret)(api args);                                                                                        \
    }
#define NC_ABI_NAME(member, api, ret, params, args) NC_ABI_XSTR(api),
/* after the header's macros over the members' names are undefined (NC_ABI_STRUCT: the file's struct) */
#define NC_ABI_TYPE(member, api, ret, params, args)                                                                    \
    _Static_assert(                                                                                                    \
        __builtin_types_compatible_p(__typeof__(&nc_abi_w_##api), __typeof__(((NC_ABI_STRUCT *)0)->member)),           \
        #member ": the check's parameters are not the device file's");
#define NC_ABI_OFFSET(member, api, ret, params, args) offsetof(NC_ABI_STRUCT, member),
#define NC_ABI_COUNT(...)                             +1

/* X(netc's constant, the header's) */
#define NC_ABI_CONST(netc, real) _Static_assert((long long)(netc) == (long long)(real), #netc " is not " #real);
#define NC_ABI_LAYOUT(netc_type, real_type)                                                                            \
    _Static_assert(sizeof(netc_type) == sizeof(real_type) && _Alignof(netc_type) == _Alignof(real_type),               \
                   #netc_type ": not the size and alignment of " #real_type)
#define NC_ABI_FIELD(netc_type, netc_field, real_type, real_field)                                                     \
    _Static_assert(offsetof(netc_type, netc_field) == offsetof(real_type, real_field) &&                               \
                       NC_ABI_KIND(((netc_type *)0)->netc_field) == NC_ABI_KIND(((real_type *)0)->real_field),         \
                   #netc_type "." #netc_field ": not where, or not what, " #real_type "." #real_field " is")

/* Diagnostics made errors inside the wrappers (NC_ABI_CHECKED_BEGIN ... NC_ABI_CHECKED_END). */
#define NC_ABI_PRAGMA(x) _Pragma(#x)
#define NC_ABI_CHECKED_BEGIN                                                                                           \
    NC_ABI_PRAGMA(GCC diagnostic push)                                                                                 \
    NC_ABI_PRAGMA(GCC diagnostic error "-Wtraditional-conversion")                                                     \
    NC_ABI_PRAGMA(GCC diagnostic error "-Wconversion")                                                                 \
    NC_ABI_PRAGMA(GCC diagnostic ignored "-Wsign-conversion")                                                          \
    NC_ABI_PRAGMA(GCC diagnostic error "-Wfloat-conversion")                                                           \
    NC_ABI_PRAGMA(GCC diagnostic error "-Wdouble-promotion")                                                           \
    NC_ABI_PRAGMA(GCC diagnostic error "-Wint-conversion")                                                             \
    NC_ABI_PRAGMA(GCC diagnostic error "-Wincompatible-pointer-types")                                                 \
    NC_ABI_PRAGMA(GCC diagnostic error "-Wdiscarded-qualifiers")
#define NC_ABI_CHECKED_END NC_ABI_PRAGMA(GCC diagnostic pop)

/* The file's dlsym tables against its checked members: every entry point it loads checked, under the name the
 * header's declaration has (0), else the mismatches, printed. */
static inline int nc_abi_match(const char *file, const NcDlSym *const *tables, const size_t *sizes, size_t ntables,
                               const size_t *offsets, const char *const *names, size_t n) {
    int bad = 0;
    size_t loaded = 0;
    for (size_t t = 0; t < ntables; t++)
        for (size_t i = 0; i < sizes[t]; i++, loaded++) {
            const NcDlSym *s = &tables[t][i];
            size_t j = 0;
            while (j < n && offsets[j] != s->offset) j++;
            if (j == n)
                printf("FAIL %s: %s is loaded but not checked against the header\n", file, s->name), bad++;
            else if (strcmp(names[j], s->name))
                printf("FAIL %s: dlsym(\"%s\"), but the header declares %s\n", file, s->name, names[j]), bad++;
        }
    if (loaded != n) printf("FAIL %s: %zu entry points checked, %zu loaded\n", file, n, loaded), bad++;
    return bad;
}

/* The entry points of each file's NC_ABI_CHECK build: the failures, printed (0: all passed). */
int nc_abi_cuda(const char *driver, const char *cublas);
int nc_abi_cublaslt(const char *lib);
int nc_abi_cudnn(const char *lib);

#endif
