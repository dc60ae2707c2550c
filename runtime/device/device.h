/* device.h — the device layer: allocate, copy, launch, GEMM, synchronise.
 *
 * Two implementations behind one interface:
 *  - "emulate" (device_emu.c): device memory is host memory, a launch calls
 *    the kernel's CPU lowering (codegen/cuda/cu_kernel.h: the same
 *    description as the PTX, looping over blocks, phases and threads), GEMM is
 *    a plain triple loop in double; runs anywhere, for CI.
 *  - "cuda" (device_cuda.c): the CUDA driver API, reached through
 *    dlopen("libcuda.so.1") so that netc builds and runs without it; opening it
 *    on a machine without a driver or a GPU fails with a message saying so.
 *    Its GEMM is cuBLAS's SGEMM through dlopen; a GEMM with a bias (+ relu)
 *    epilogue goes through cuBLASLt (device_cublaslt.c) where it loads.
 * Shapes are static; kernel parameters are float pointers only. */
#ifndef NETC_DEVICE_H
#define NETC_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/support/base.h"

typedef struct NcDevice NcDevice;

/* One kernel in both forms: its PTX (with the .entry `name`) for the GPU, and
 * its CPU lowering for the emulator.  Either may be NULL where that device is
 * not used.  cubin: the PTX assembled ahead of time for the program's
 * architecture (codegen/cuda/cu_ptxas.h), loaded in its place where the GPU
 * takes it; NULL where netc found no ptxas. */
typedef struct NcDevKernel {
    const char *name;
    const char *ptx;
    void (*cpu)(float *const *params);
    int64_t grid, block;
    int nparams;
    const unsigned char *cubin;
    int64_t cubin_bytes;
} NcDevKernel;

/* kind "emulate" or "cuda"; NULL with a message when it cannot be opened. */
NcDevice *nc_dev_open(const char *kind, NcError *e);
void nc_dev_close(NcDevice *d);
const char *nc_dev_name(const NcDevice *d); /* "CPU emulator", or the GPU's name */

/* Device memory (a device address, not to be dereferenced on the host). */
int nc_dev_alloc(NcDevice *d, void **p, size_t bytes, NcError *e);
void nc_dev_free(NcDevice *d, void *p);
int nc_dev_upload(NcDevice *d, void *dst, const void *src, size_t bytes, NcError *e);
int nc_dev_download(NcDevice *d, void *dst, const void *src, size_t bytes, NcError *e);
/* Runs k over params (device addresses, k->nparams of them). */
int nc_dev_launch(NcDevice *d, const NcDevKernel *k, float *const *params, NcError *e);
/* C[m, n] = A[m, k] . B[k, n], row-major, device addresses. */
int nc_dev_gemm(NcDevice *d, int64_t m, int64_t n, int64_t k, const float *a, const float *b, float *c, NcError *e);

/* A batch of products C_i = A_i . op(B_i), i < batch, row-major and dense:
 * A_i [m, k] at a + i * stride_a, B_i [k, n] at b + i * stride_b (with
 * trans_b: stored [n, k] and read transposed, as a linear layer's weights
 * are), C_i [m, n] at c + i * stride_c; strides in floats, 0 shares one
 * operand across the batch (a convolution's filter across images). */
typedef struct NcDevGemm {
    int64_t m, n, k;
    int32_t trans_b, accumulate; /* accumulate: C += A . op(B) (a batch in chunks) */
    int64_t batch, stride_a, stride_b, stride_c;
    int32_t tf32;      /* the GPU may round the operands to TF32 for its tensor cores (--precision tf32) */
    int32_t bf16;      /* a and b are bf16 (uint16_t, strides in elements), accumulation and c f32 (--precision bf16) */
    int32_t epilogue;  /* NcDevEpilogue: nc_dev_gemm_epi's bias (+ relu) after the product */
    int32_t bias_rows; /* the bias is indexed by C's row (a conv's output channel) rather than its column (a linear
                          layer's output) */
} NcDevGemm;

/* A GEMM's epilogue, applied as netc's elementwise kernel applies it after a
 * plain GEMM: c = (float)(A . op(B)) + bias (a float add), then relu as
 * c < 0 ? 0 : c.  One bias for the whole batch; never with accumulate. */
typedef enum { NC_DEV_EPI_NONE, NC_DEV_EPI_BIAS, NC_DEV_EPI_BIAS_RELU } NcDevEpilogue;
/* With g->bf16, a and b point at bf16 values (cast to float * for the call). */
int nc_dev_gemm_ex(NcDevice *d, const NcDevGemm *g, const float *a, const float *b, float *c, NcError *e);
/* The GEMM with g->epilogue fused (bias: device address, f32, m values with
 * bias_rows, else n): 0 when done; 1 when this device does not fuse it —
 * nothing done, the caller runs nc_dev_gemm_ex and the epilogue as a kernel
 * (no cuBLASLt, cuBLASLt refused the shape, or NETC_GEMM_EPILOGUE=0); -1
 * with a message. */
int nc_dev_gemm_epi(NcDevice *d, const NcDevGemm *g, const float *a, const float *b, float *c, const float *bias,
                    NcError *e);
int nc_dev_sync(NcDevice *d, NcError *e);

/* A convolution on NCHW f32 tensors (netc's device layout), no bias or
 * epilogue (netc's elementwise kernel follows it): x [n, c, h, w], w [k,
 * c / groups, r, s], y [n, k, p, q].  `kind` says which of the three is
 * computed from the other two: the forward y = conv(x, w); the input
 * gradient x = conv^T(y, w) (y holding dy, x receiving dx); the weight
 * gradient w from x and y (dy).  The result is overwritten, never
 * accumulated.  Padding is symmetric (cuDNN's: pad[0] above and below, pad[1]
 * left and right); a conv with TF "same" padding keeps the GEMM form.  tf32:
 * the GPU may round the operands to TF32 (--precision tf32); otherwise exact
 * f32 FMA math.  bf16: x, w and y are bf16 (uint16_t, cast to float * for the
 * calls), the products summed in f32 and the result rounded to bf16 (cuDNN's
 * PSEUDO_BFLOAT16). */
typedef enum { NC_DEV_CONV_FWD, NC_DEV_CONV_BWD_DATA, NC_DEV_CONV_BWD_FILTER } NcDevConvKind;
typedef struct NcDevConv {
    int64_t n, c, h, w, k, r, s, p, q;
    int32_t stride[2], pad[2], dilation[2], groups, tf32, bf16, kind; /* kind: NcDevConvKind */
} NcDevConv;
/* Whether the device runs convolutions: 0, or -1 with the reason (cuDNN not
 * loadable; the emulator without a reference conv).  Loads cuDNN once. */
int nc_dev_conv_available(NcDevice *d, NcError *e);
/* Sets the conv up at its operands' addresses (algorithm, workspace): before
 * a conv is run or captured, never while capturing. */
int nc_dev_conv_prepare(NcDevice *d, const NcDevConv *c, float *x, float *w, float *y, NcError *e);
int nc_dev_conv(NcDevice *d, const NcDevConv *c, float *x, float *w, float *y, NcError *e);
/* The emulator's conv: the interpreter's reference conv, which the device layer
 * cannot link (it builds with runtime/support alone), registered by the program
 * (runtime/program/dev_conv_ref.c); a stand-in cuDNN finds it by this name. */
typedef void (*NcDevConvRef)(const NcDevConv *c, float *x, float *w, float *y);
void nc_dev_set_conv_reference(NcDevConvRef f);
NcDevConvRef nc_dev_conv_reference(void);

/* Timing device work, for choosing between forms of a step: start, issue the
 * work, stop gives the milliseconds between (the GPU's events where the
 * driver has them, else the host's clock around a synchronisation). */
int nc_dev_timer_start(NcDevice *d, NcError *e);
int nc_dev_timer_stop(NcDevice *d, double *ms, NcError *e);

/* Graphs: the launches and GEMMs issued between begin and end are recorded,
 * not run, and replayed together by one launch (a CUDA graph: one submission
 * instead of one per kernel).  Only where nc_dev_has_graphs; the recorded
 * work must not allocate, copy or synchronise. */
int nc_dev_has_graphs(const NcDevice *d);
int nc_dev_graph_begin(NcDevice *d, NcError *e);
int nc_dev_graph_end(NcDevice *d, void **graph, NcError *e);
int nc_dev_graph_launch(NcDevice *d, void *graph, NcError *e);
void nc_dev_graph_free(NcDevice *d, void *graph);

/* Overlap (pinned host memory, a second stream, events): a device with
 * streams has a compute stream (NC_DEV_COMPUTE: every launch, GEMM, conv and
 * graph) and a copy stream (NC_DEV_COPY), so that an upload runs while the
 * compute stream works.  Work on one stream runs in order; across streams only
 * an event orders it (record on one, wait on the other).  An async copy
 * returns at once: its host memory must be pinned (nc_dev_host_alloc) and is
 * read or written when the copy runs, which the host learns by synchronising
 * on an event recorded after it.  Never inside a graph's capture.  Only where
 * nc_dev_has_streams; nc_dev_sync waits for both streams. */
enum { NC_DEV_COMPUTE = 0, NC_DEV_COPY = 1 };
enum { NC_DEV_H2D = 0, NC_DEV_D2H = 1, NC_DEV_D2D = 2 };
int nc_dev_has_streams(const NcDevice *d);
int nc_dev_host_alloc(NcDevice *d, void **p, size_t bytes, NcError *e);
void nc_dev_host_free(NcDevice *d, void *p);
int nc_dev_copy_async(NcDevice *d, int stream, int dir, void *dst, const void *src, size_t bytes, NcError *e);
/* An event: recorded on a stream, it completes when the work issued to that
 * stream before it has; one never recorded is complete. */
int nc_dev_event_create(NcDevice *d, void **ev, NcError *e);
void nc_dev_event_free(NcDevice *d, void *ev);
int nc_dev_event_record(NcDevice *d, void *ev, int stream, NcError *e);
int nc_dev_stream_wait(NcDevice *d, int stream, void *ev, NcError *e); /* later work on stream waits for ev */
int nc_dev_event_sync(NcDevice *d, void *ev, NcError *e);              /* the host waits for ev */

/* The implementations' own tables (device.c dispatches). */
typedef struct NcDevOps {
    void (*close)(NcDevice *d);
    int (*alloc)(NcDevice *d, void **p, size_t bytes, NcError *e);
    void (*free)(NcDevice *d, void *p);
    int (*upload)(NcDevice *d, void *dst, const void *src, size_t bytes, NcError *e);
    int (*download)(NcDevice *d, void *dst, const void *src, size_t bytes, NcError *e);
    int (*launch)(NcDevice *d, const NcDevKernel *k, float *const *params, NcError *e);
    int (*gemm)(NcDevice *d, const NcDevGemm *g, const float *a, const float *b, float *c, NcError *e);
    int (*sync)(NcDevice *d, NcError *e);
    int (*graph_begin)(NcDevice *d, NcError *e); /* the graph entries NULL where there are none */
    int (*graph_end)(NcDevice *d, void **graph, NcError *e);
    int (*graph_launch)(NcDevice *d, void *graph, NcError *e);
    void (*graph_free)(NcDevice *d, void *graph);
    int (*conv_available)(NcDevice *d, NcError *e);
    int (*conv_prepare)(NcDevice *d, const NcDevConv *c, float *x, float *w, float *y, NcError *e);
    int (*conv)(NcDevice *d, const NcDevConv *c, float *x, float *w, float *y, NcError *e);
    int (*timer_start)(NcDevice *d, NcError *e); /* NULL: the host's clock */
    int (*timer_stop)(NcDevice *d, double *ms, NcError *e);
    /* streams and events (overlap): all NULL where there are none */
    int (*host_alloc)(NcDevice *d, void **p, size_t bytes, NcError *e);
    void (*host_free)(NcDevice *d, void *p);
    int (*copy_async)(NcDevice *d, int stream, int dir, void *dst, const void *src, size_t bytes, NcError *e);
    int (*event_create)(NcDevice *d, void **ev, NcError *e);
    void (*event_free)(NcDevice *d, void *ev);
    int (*event_record)(NcDevice *d, void *ev, int stream, NcError *e);
    int (*stream_wait)(NcDevice *d, int stream, void *ev, NcError *e);
    int (*event_sync)(NcDevice *d, void *ev, NcError *e);
    int (*gemm_epi)(NcDevice *d, const NcDevGemm *g, const float *a, const float *b, float *c, const float *bias,
                    NcError *e); /* nc_dev_gemm_epi; NULL: fuses none */
} NcDevOps;

struct NcDevice {
    const NcDevOps *ops;
    char name[256];
    void *impl;
    double timer_t0; /* nc_dev_timer_start's host clock, where the device has no events */
};

NcDevice *nc_dev_open_emulator(NcError *e);
NcDevice *nc_dev_open_cuda(NcError *e);

#endif
