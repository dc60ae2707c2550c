/* dev_conv_tactic.h — each conv's form (netc's kernels — im2col + GEMM, or
 * direct for depthwise — or cuDNN's conv),
 * chosen at a program's first run as TensorRT chooses its tactics: both
 * forms timed on the device, the faster kept, the choices cached in a file
 * beside the program so that later runs skip the timing.
 *
 * NETC_CONV_TACTIC=gemm|cudnn|auto forces a choice; unset, a GPU chooses
 * (auto) and the emulator keeps the GEMM form (its tests unchanged), though
 * auto in the emulator times its forms and writes the cache all the same, so
 * that the choosing and the file are tested without a GPU.  Where the device
 * runs no convs (no libcudnn.so.9), every conv keeps the GEMM form, with a
 * one-line notice.
 *
 * The cache (text): `netc-conv-tactics 1`, `device NAME`, per program of the
 * bundle `program P FINGERPRINT N FORMS` (FORMS: N letters, g or c, one per
 * conv; FINGERPRINT: a hash of the convs' shapes, so that a recompiled program
 * does not take another's choices), `end`.  Another version or another
 * device's file is ignored with a notice and rewritten; a malformed or
 * truncated one is an error naming the file.  Written atomically (a
 * temporary beside it, renamed over it). */
#ifndef NETC_DEV_CONV_TACTIC_H
#define NETC_DEV_CONV_TACTIC_H

#include "runtime/device/dev_program.h"

typedef struct NcDevTactics {
    NcDevice *dev;
    const NcDevProgram *prog;
    int index;                  /* the program's index in its bundle */
    const NcDevKernel *kernels; /* the program's kernel table */
    float *const *params;       /* per step, NC_DEV_MAXPARAMS resolved operands */
    const char *cache;          /* the cache file, or NULL: none */
    const char *default_mode;   /* "auto" or "gemm": where NETC_CONV_TACTIC is unset */
    const char *who;            /* the program's name, for notices */
} NcDevTactics;

/* How many convs of program p have two forms (their steps' tactic, 1-based). */
int32_t nc_dev_conv_tactic_count(const NcDevProgram *p);
/* form[t] (nc_dev_conv_tactic_count of them) set to each conv's NcDevForm;
 * every conv that runs as cuDNN's is prepared (nc_dev_conv_prepare).  -1
 * with a message: a corrupt cache, a bad NETC_CONV_TACTIC, a device error. */
int nc_dev_conv_tactics_choose(const NcDevTactics *t, int32_t *form, NcError *e);

#endif
