/* bundle.h — the compiled-model file format, shared by the compiler (which
 * writes it) and the runtime inside every compiled program (which reads it).
 *
 * A bundle holds one or more programs (one per resolution) and one weights
 * region they share (cf. Glow's AOT bundles: constant weights, one mutable
 * activation arena, static offsets).  Layout, all little-endian, every
 * section 64-byte aligned:
 *
 *   NcBundleHeader
 *   per program: NcProgramHeader, NcBundleValue[nvalues], NcBundleNode[nnodes],
 *                scope strings (NUL-separated, one per node)
 *   weights (may live in a separate file with its own NcWeightsHeader)
 *
 * Every offset and size is checked when a bundle is opened; a file that lies
 * gets a message, never a crash.
 */
#ifndef NETC_BUNDLE_H
#define NETC_BUNDLE_H

#include "ir/ir.h"

#define NC_BUNDLE_MAGIC        "NETCBNDL"
#define NC_WEIGHTS_MAGIC       "NETCWGTS"
/* 2: conv input scale, squeeze_excite; 3: members, labels, features; 4: value layouts, relayout;
 * 5: one kernel contract (runtime/kernels.h), no NCHW generated kernels; 6: training ops and their attributes;
 * 7: kernel table entries name their ISA and precision;
 * 8: parameters in reduced precision (NcBundleValue.dtype, nbytes: bf16, int8 blobs) */
#define NC_BUNDLE_VERSION      8
#define NC_BUNDLE_MAX_PROGRAMS 16
#define NC_BUNDLE_MAX_MEMBERS  8

/* How an ensemble's members are merged (per image, after each member has
 * merged its own resolutions and TTA views). */
typedef enum { NC_MERGE_MEAN = 0, NC_MERGE_MEDIAN, NC_MERGE_VOTE, NC_MERGE_WEIGHTED } NcMergeKind;

/* One model of the bundle: a single model is an ensemble of one. */
typedef struct NcBundleMember {
    char name[64];
    float weight;   /* NC_MERGE_WEIGHTED */
    float crop_pct; /* image preprocessing (timm's pretrained_cfg) */
    int32_t interp; /* 0 bicubic, 1 bilinear */
    float mean[3], std[3];
    int32_t nclasses;
    int32_t nfeatures; /* width of the pooled penultimate features, 0 if unknown */
    char pad[40];
} NcBundleMember;

typedef struct NcBundleHeader {
    char magic[8];
    uint32_t version;
    uint32_t nprograms;
    uint64_t program_offset[NC_BUNDLE_MAX_PROGRAMS]; /* from the start of the bundle */
    uint64_t weights_offset;                         /* 0 = weights are external */
    uint64_t weights_bytes;
    uint64_t weights_checksum; /* nc_bundle_checksum of the weights, checked at every open */
    char model[64];            /* the program's name: the model, or the ensemble */
    uint32_t nmembers;
    int32_t merge;    /* NcMergeKind */
    int32_t on_probs; /* 1: members' outputs are softmaxed before merging */
    int32_t nclasses;
    uint64_t labels_offset, labels_bytes; /* nclasses NUL-terminated class names; 0 = none */
    NcBundleMember members[NC_BUNDLE_MAX_MEMBERS];
} NcBundleHeader;

typedef struct NcProgramHeader {
    int32_t height, width, batch, member; /* member: index into the header's members */
    int32_t features, pad1;               /* features: value id of the pooled penultimate features, -1 none */
    uint32_t nvalues, nnodes, ninputs, noutputs;
    int32_t inputs[8], outputs[4]; /* inputs[0]: the image batch; a training step has more (NcTrainHeader) */
    uint64_t arena_bytes;
    uint64_t values_offset, nodes_offset, scopes_offset, scopes_bytes; /* from the program header */
    uint64_t train_offset; /* from the program header: its NcTrainHeader; 0 = an inference program */
    uint64_t pad2;
} NcProgramHeader;

/* A training step (passes/autodiff.h made the graph): its inputs besides the
 * image, its loss and logits, every parameter with its name and, where it
 * trains, its gradient, and each batch norm's running and batch statistics. */
typedef struct NcTrainHeader {
    int32_t loss_kind; /* NcLossKind */
    float smoothing, gamma;
    int32_t freeze_features;
    int32_t loss, logits;                          /* value ids */
    int32_t target, loss_grad, class_weight, seed; /* input value ids, -1 where absent */
    uint32_t nparams, nbn;
    uint64_t params_offset, bns_offset, names_offset, names_bytes; /* from this header */
} NcTrainHeader;

typedef struct NcTrainParam {
    int32_t value; /* the parameter */
    int32_t grad;  /* its gradient, an intermediate; -1: it does not train (BN statistics, frozen features) */
    uint32_t name; /* offset of its timm name in the names */
    int32_t pad;
} NcTrainParam;

typedef struct NcTrainBn {
    int32_t running_mean, running_var; /* parameters */
    int32_t batch_mean, batch_var;     /* intermediates: the step's statistics (var biased) */
    int64_t count;                     /* values per channel in a batch (N H W) */
} NcTrainBn;

typedef struct NcBundleValue {
    int32_t kind; /* NcValKind */
    int32_t ndim;
    int32_t layout; /* NcLayout: an activation is NCHW or NHWC (ir/ref_layout.c) */
    int32_t dtype;  /* NcDtype: a parameter packed in bf16 or int8 (netc compile --precision) is read by its
                     * generated kernel alone; its bytes: nbytes (0: numel x the dtype's size) */
    int64_t nbytes;
    int64_t shape[NC_MAXDIM];
    int64_t offset; /* NC_VAL_NODE: arena offset; NC_VAL_PARAM: weights offset; inputs: -1 */
} NcBundleValue;

typedef struct NcBundleNode {
    int32_t op, ninputs, noutputs, pad0;
    int32_t inputs[NC_MAXIN], outputs[NC_MAXOUT];
    NcAttrs attrs; /* plain data, no pointers */
} NcBundleNode;

typedef struct NcWeightsHeader {
    char magic[8];
    uint32_t version, pad0;
    uint64_t bytes, checksum;
    char pad[32];
} NcWeightsHeader;

/* A validated, in-memory view of a bundle (the runtime's side). */
typedef struct NcProgram {
    const NcProgramHeader *h;
    const NcBundleValue *values;
    const NcBundleNode *nodes;
    const char **scopes;        /* per node */
    NcValue *vals;              /* the values as the kernels see them (shapes) */
    float **wprepped;           /* per node: its weights as transformed at load time (kernels.h wprep), or NULL */
    const NcTrainHeader *train; /* a training step's, else NULL */
    const NcTrainParam *tparams;
    const NcTrainBn *tbns;
    const char *tnames;
} NcProgram;

/* Another executor of a bundle's programs: a device's (runtime/program/
 * dev_exec.c installs one in a program compiled with --target cuda).  With
 * one set, nc_bundle_run, nc_bundle_run_profiled, nc_bundle_run_inputs and
 * nc_bundle_kernel_kind go through it; run takes inputs[i] for the program's
 * input i (h->inputs order), writes the output (when not NULL) and leaves
 * the pooled features at their planned offset in the host arena, so
 * nc_bundle_features reads them as for a CPU program (a training step: the
 * whole arena, its loss and gradients among it). */
typedef struct NcBundle NcBundle;
typedef struct NcBundleExec {
    void *ctx;
    void (*run)(void *ctx, const NcBundle *b, int p, const float *const *inputs, float *output, void *arena,
                double *per_node);
    const char *(*kind)(void *ctx, const NcBundle *b, int p, uint32_t node);
} NcBundleExec;

typedef struct NcBundle {
    const NcBundleHeader *h;
    int nprograms;
    NcProgram programs[NC_BUNDLE_MAX_PROGRAMS];
    const char **labels;          /* nclasses names, or NULL when compiled without labels */
    const unsigned char *weights; /* 64-byte aligned */
    void *owned_weights;          /* when loaded from an external file */
    struct NcScratch *scratch;    /* padded conv inputs, kept between runs (one run at a time per bundle) */
    float **prepped;              /* the distinct buffers of the programs' wprepped weights */
    void **prepped_by;            /* the wprep function that made each (kernels.h) */
    int nprepped;
    const NcBundleExec *exec; /* a device's executor, or NULL (the CPU kernels) */
} NcBundle;

uint64_t nc_bundle_checksum(const void *data, size_t len);

/* Validates `len` bytes at `data` (64-byte aligned, outliving b).  Weights
 * come from the bundle or, when it has none, from `weights_path`. */
int nc_bundle_open(const void *data, size_t len, const char *weights_path, NcBundle *b, NcError *e);
void nc_bundle_close(NcBundle *b);

/* After a run of program p over `arena`: its pooled penultimate features
 * [batch, nfeatures], or NULL when the program has none. */
const float *nc_bundle_features(const NcBundle *b, int p, const void *arena);

/* Runs program p with inputs[i] for its input i (h->inputs order), leaving
 * every intermediate in the arena (a training step's gradients among them). */
void nc_bundle_run_inputs(const NcBundle *b, int p, const float *const *inputs, void *arena, double *per_node);
/* Where value v of program p lies after a run over `arena` (an intermediate
 * or a parameter). */
float *nc_bundle_value(const NcBundle *b, int p, int v, void *arena);
/* Makes the weights a private, writable copy (a training program's
 * parameters change) and returns it. */
unsigned char *nc_bundle_own_weights(NcBundle *b);

/* Runs program p over its batch: input [batch,3,H,W], output as compiled;
 * arena must hold h->arena_bytes (64-byte aligned). */
void nc_bundle_run(const NcBundle *b, int p, const float *input, float *output, void *arena);
/* Same, timing every node (seconds added into per_node[nnodes]). */
void nc_bundle_run_profiled(const NcBundle *b, int p, const float *input, float *output, void *arena, double *per_node);
/* The strategy of node `node`'s kernel in program pi ("nhwc gemm",
 * "winograd F4", ..., "reference" where the op table's kernel runs). */
const char *nc_bundle_kernel_kind(const NcBundle *b, int pi, uint32_t node);
/* The ISA its kernel was generated for ("avx512", "avx2", ...; "-" for a
 * reference kernel or a view) and the precision of its arithmetic ("f32",
 * "bf16", "int8"; reference kernels "f32"). */
const char *nc_bundle_kernel_isa(const NcBundle *b, int pi, uint32_t node);
const char *nc_bundle_kernel_precision(const NcBundle *b, int pi, uint32_t node);
/* The dtypes its activations are stored in, input 0 then output 0: "f32>f32", "f32>bf16", "bf16>bf16",
 * "bf16>f32" (passes/assign_dtype.c stores some bf16 between generated kernels). */
const char *nc_bundle_kernel_act(const NcBundle *b, int pi, uint32_t node);
/* What the generated kernels were made for: "CPU ISA VECTOR-WIDTH BLOCKING"
 * (e.g. "znver3 avx2 8 avx2"), or NULL in a program without them. */
const char *nc_bundle_target(void);
/* The CPU's fp32 FMA peak in GFLOP/s on all OpenMP threads, measured with
 * the program's own FMA loop (best of 10 short runs; 0 without one). */
double nc_bundle_peak_gflops(void);

#endif
