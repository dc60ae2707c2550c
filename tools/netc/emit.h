/* emit.h — the back half of `netc compile` and `netc ensemble`: planned
 * graphs in, a program (or object + header, or bundle) out. */
#ifndef NETC_EMIT_H
#define NETC_EMIT_H

#include "codegen/bundle_writer.h"
#include "codegen/cpu/cg.h"

typedef struct EmitJob {
    const char *out;  /* -o */
    const char *emit; /* "exe", "obj" or "bundle" */
    int external;     /* weights in OUT.weights */
    int codegen;      /* 0: reference kernels only */
    NcCgOptions cgo;
} EmitJob;

/* Writes the bundle, generates the kernels, links.  Nothing is left behind
 * on failure (temporary files are renamed into place last).  Returns 0 or an
 * NC_EXIT_* code, message printed. */
int netc_emit(const EmitJob *job, const NcBundleSpec *spec, NcGraph *const *graphs, const NcPlan *plans, int n);

/* --winograd auto|on|f2|off into NcCgOptions.winograd (0, 1, 2, -1); -1 if none of them. */
int netc_parse_winograd(const char *s, int *mode);

/* on|off into 0 / -1 (NcCgOptions.im2col); -1 if neither. */
int netc_parse_onoff(const char *s, int *mode);

/* --layout auto|nhwc into NcCgOptions.layout (0, 1); -1 if neither. */
int netc_parse_layout(const char *s, int *mode);

/* The CPU layout pass over one model's programs (codegen/cpu/cg_layout.h),
 * unless codegen is off; prints the IR after it when dump_after is
 * "assign_layout" or "all", its reasons on stderr with explain.  Returns 0
 * or an NC_EXIT_* code, message printed. */
int netc_layout(NcGraph *const *graphs, int n, const NcCgOptions *cgo, int codegen, const char *dump_after, int explain);

/* --labels FILE: read it whole (NULL when path is NULL); -1 on error, message printed. */
int netc_read_labels(const char *path, char **text);

#endif
