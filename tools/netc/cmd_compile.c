/* netc compile — a description in, a standalone program out: a job of one
 * member for nc_compile (compile_job.h), which elaborates it per resolution,
 * binds the weights (the file read once), runs the passes and the layout
 * pass, plans memory, writes the bundle and links it with the runtime.
 *
 * Kernels: convolutions, linear layers, pools, SE gates and broadcast
 * add / mul run LLVM-generated kernels (codegen/cpu, an object linked into the
 * program and found through the `netc_kernels` table; 1x1 convs and linear
 * layers as GEMMs over weights repacked before the bundle is written, see
 * netc_emit); the other ops still run the op table's reference kernels. */
#include <string.h>

#include "tools/netc/cli.h"

static const char *help =
    "usage: netc compile FILE.nn (--weights W.safetensors | --init det) -o OUT [options]\n"
    "       netc compile FILE.onnx [--weights W | --init det] -o OUT [options]   (its initializers by default)\n\n"
    "Compiles the model into a standalone program OUT (commands: classify, features, eval, run, bench,\n"
    "info; OUT --help; OUT's --threads N sets the threads computing the model, --decode-threads N\n"
    "those decoding images).\n\n"
    "options:\n"
    "  --res R[,R...]   one program per resolution, sharing one copy of the weights (default 224)\n"
    "  --batch N        the largest batch the program takes (default 1)\n"
    "  --model NAME, --set NAME=VALUE, --weights W, --init det   as for netc run\n"
    "  --passes P       passes to run before the layout pass (default: default; none; or a list)\n"
    "  --dump-after P   print the IR after pass P, e.g. assign_layout ('all': after every pass)\n"
    "  --explain        say on stderr what each pass did and why it left candidates alone\n"
    "  --weights-external  keep the weights in OUT.weights beside the program\n"
    "  --labels FILE    class names, one per line in class order, for classify's output\n"
    "  --target T       cpu (default: kernels for this machine's CPU), or cuda[:sm_NN] (an NVIDIA\n"
    "                   GPU, sm_90 by default: PTX through LLVM's NVPTX target, assembled into\n"
    "                   cubins for that architecture by the CUDA toolkit's ptxas where it is found\n"
    "                   (NETC_PTXAS=PATH|none; PATH, $CUDA_HOME/bin, /usr/local/cuda/bin), the PTX\n"
    "                   kept for other GPUs; GEMMs through cuBLAS; activations NCHW; the program\n"
    "                   fails with 'cannot use a GPU' where there is none, unless run with\n"
    "                   --device emulate)\n"
    "  --emulate        with --target cuda: the program runs the GPU kernels' CPU lowering in the\n"
    "                   device emulator by default (for machines without a GPU; OUT --device cuda\n"
    "                   still runs the PTX on a GPU)\n"
    "  --ptx DIR        with --target cuda: also write every kernel's PTX to DIR (for ptxas)\n"
    "  --cpu NAME       generate code for this LLVM CPU (default: the host's, e.g. znver3)\n"
    "  --no-codegen     run every op with the reference kernels (for comparison)\n"
    "  --winograd MODE  3x3 stride-1 convs by Winograd: auto (default: F(4x4,3x3) or F(2x2,3x3)\n"
    "                   where the cost model says it pays), on (F(4x4) wherever legal), f2\n"
    "                   (F(2x2) wherever legal), off\n"
    "  --im2col on|off  stride-2 convs by im2col + GEMM (default on) or the direct kernel\n"
    "  --layout MODE    activations NHWC where the cost model says it pays (auto, default) or\n"
    "                   wherever an NHWC kernel exists (nhwc; NCHW runs the reference); --explain\n"
    "                   says why per node and region, --dump-after assign_layout shows the IR\n"
    "  --precision P    the weights of the GEMM-shaped convs (1x1, strided KxK by im2col) and linear\n"
    "                   layers: f32 (default); bf16 (stored bf16, half the bytes: widened to f32 as\n"
    "                   loaded, f32 activations and accumulation); int8 (1x1 and im2col convs: u8\n"
    "                   activations with calibrated per-tensor ranges, s8 weights per output channel,\n"
    "                   i32 accumulation, f32 epilogue; the rest stays f32). OUT info and OUT bench\n"
    "                   --per-kernel name each kernel's precision\n"
    "                   With --target cuda: f32 (default); tf32 (cuBLAS's GEMMs on TF32 tensor\n"
    "                   cores, as PyTorch runs convolutions by default: about 1e-3 relative); bf16\n"
    "                   (every GEMM, --train's backward too, on bf16 operands rounded from f32 by a\n"
    "                   kernel before it, f32 accumulation and output, tensor cores: about 5e-3\n"
    "                   relative on logits; activations between kernels and every other kernel stay\n"
    "                   f32; no loss scaling needed; not yet timed on a GPU)\n"
    "  --calibrate DIR  int8: the images (.jpg, .jpeg, .png; the model's eval transform) whose\n"
    "                   activations set the ranges (min and max over all of them), measured by the\n"
    "                   model's f32 kernels generated for this host (NETC_CALIBRATE=reference: by the\n"
    "                   reference interpreter, ~50x slower; the same ranges within float rounding)\n"
    "  --verbose        say which kernels were generated: each node's strategy, ISA and precision, and\n"
    "                   the target (CPU, ISA, vector width, the ISA its blocks were chosen for); with\n"
    "                   --calibrate, its times and the ranges it measured\n"
    "  --emit KIND      exe (default), obj (OUT.o + OUT.h to link into another program, with\n"
    "                   libnetc_rt.a), or bundle (the bundle file alone)\n\n"
    "training (OUT train --help says how to run it):\n"
    "  --train          compile a training step instead: forward, loss, backward (one resolution;\n"
    "                   --batch is the training batch; BN uses batch statistics)\n"
    "  --loss KIND      ce (default: cross-entropy on soft targets; label smoothing and CutMix\n"
    "                   are in the targets), weighted (torch's CrossEntropyLoss(weight=...) with\n"
    "                   --label-smoothing S; the weights are given to OUT train), focal\n"
    "                   (--focal-gamma G, default 2)\n"
    "  --freeze-features  train only the classifier (BN statistics stay frozen)\n"
    "  --drop-rate R, --drop-path-rate R  dropout before the classifier and stochastic depth, as\n"
    "                   timm.create_model takes them (per-block rates as timm computes them)\n";

int cmd_compile(int argc, char **argv) {
    if (cli_help(argc, argv, help)) return 0;
    CliModel m = {0};
    NcCompileJob job;
    memset(&job, 0, sizeof job);
    NcJobMember *mb = &job.member[0];
    job.nmembers = 1;
    const char *res_list = "224";
    CliTrain train = {0};
    train.spec.gamma = -1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--res")) {
            if (i + 1 >= argc) {
                cli_error("--res needs a value");
                return NC_EXIT_BADINPUT;
            }
            res_list = argv[++i];
            continue;
        }
        int r = cli_compile_option(&job, argc, argv, &i);
        if (r == 0) r = cli_train_option(&train, &m, argc, argv, &i);
        if (r == 0) r = cli_model_option(&m, argc, argv, &i);
        if (r < 0) return NC_EXIT_BADINPUT;
        if (r == 0) {
            cli_error("compile: unknown option '%s' (see netc compile --help)", argv[i]);
            return NC_EXIT_BADINPUT;
        }
    }
    NcError e;
    if ((mb->nres = nc_parse_res_list(res_list, mb->res, NC_BUNDLE_MAX_PROGRAMS, &e)) < 0) {
        cli_error("--res %s", e.msg);
        return NC_EXIT_BADINPUT;
    }
    if (!m.path) {
        cli_error("no model file given (see --help)");
        return NC_EXIT_BADINPUT;
    }
    if (cli_check_weights(&m)) return NC_EXIT_BADINPUT;
    if (!job.out) {
        cli_error("compile: say where to write with -o OUT");
        return NC_EXIT_BADINPUT;
    }
    mb->path = m.path, mb->model = m.opt.model, mb->sets = m.sets, mb->nsets = m.opt.nset;
    mb->weights = m.init_det ? NULL : m.weights;
    mb->init_det = m.init_det;
    if (train.on) job.train = &train.spec; /* for cli_check_precision; set again below */
    if (cli_check_precision(&job)) return NC_EXIT_BADINPUT;
    job.train = NULL;
    if (!job.batch) job.batch = 1;
    job.dump_after = m.dump_after, job.dump_out = stdout;
    job.explain = m.explain ? stderr : NULL;
    if (train.on) {
        if (train.spec.gamma >= 0 && train.spec.loss != NC_LOSS_FOCAL) {
            cli_error("--focal-gamma goes with --loss focal");
            return NC_EXIT_BADINPUT;
        }
        if (train.spec.smoothing > 0 && train.spec.loss != NC_LOSS_WEIGHTED) {
            cli_error("--label-smoothing at compile time is the weighted loss's; with --loss %s it is an option of "
                      "OUT train",
                      train.spec.loss == NC_LOSS_FOCAL ? "focal" : "ce");
            return NC_EXIT_BADINPUT;
        }
        if (train.spec.gamma < 0) train.spec.gamma = train.spec.loss == NC_LOSS_FOCAL ? 2.0f : 0.0f;
        job.train = &train.spec;
        /* generated kernels for the step's NCHW convolutions and their gradients only (codegen/cpu/cg_nchw_train.h):
         * no layout pass, nothing packed at compile time (the parameters change every step) */
        job.cgo.train = 1;
    }
    NcCompileInfo info;
    int rc = nc_compile(&job, &info, &e);
    if (rc) {
        fprintf(stderr, "netc: %s\n", e.msg);
        return rc;
    }
    if (train.on)
        fprintf(stderr, "netc: compiled %s (a training step at %dx%d, batch %d, and its inference program) into %s%s\n",
                info.name, mb->res[0].h, mb->res[0].w, job.batch, job.out, job.external ? " + .weights" : "");
    else
        fprintf(stderr, "netc: compiled %s (%d resolution%s, batch %d) into %s%s\n", info.name, info.nprograms,
                info.nprograms > 1 ? "s" : "", job.batch, job.out, job.external ? " + .weights" : "");
    return 0;
}
