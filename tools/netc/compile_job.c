#include "tools/netc/compile_job.h"

#include <math.h>
#include <string.h>

#include "codegen/cpu/cg_layout.h"
#include "frontend/nn.h"
#include "frontend/onnx/onnx.h"
#include "ir/weights.h"
#include "tools/netc/calibrate.h"
#include "tools/netc/emit.h"

char *nc_pipeline_with_layout(const char *passes) {
    if (!passes) passes = "default";
    return !strcmp(passes, "none") ? nc_strdup("assign_layout,assign_dtype,epilogue_inplace")
                                   : nc_sprintf("%s,assign_layout,assign_dtype,epilogue_inplace", passes);
}

NcGraph *nc_load_model(const char *path, const NcElabOptions *opt, NcError *e) {
    return nc_is_onnx_path(path) ? nc_onnx_import(path, opt, e) : nc_nn_elaborate(path, opt, e);
}

/* The weights files of a job, each read once however many members and
 * resolutions it binds. */
typedef struct WeightFiles {
    const char *path[NC_BUNDLE_MAX_MEMBERS];
    NcSafetensors st[NC_BUNDLE_MAX_MEMBERS];
    int n;
} WeightFiles;

static const NcSafetensors *weights_file(WeightFiles *wf, const char *path, NcError *e) {
    for (int i = 0; i < wf->n; i++)
        if (!strcmp(wf->path[i], path)) return &wf->st[i];
    if (nc_st_open(path, &wf->st[wf->n], e)) return NULL;
    wf->path[wf->n] = path;
    return &wf->st[wf->n++];
}

/* The job so far: every program made, each with its member. */
typedef struct Programs {
    NcGraph *graph[NC_BUNDLE_MAX_PROGRAMS];
    NcPlan plan[NC_BUNDLE_MAX_PROGRAMS];
    int member_of[NC_BUNDLE_MAX_PROGRAMS];
    NcTrainInfo train[NC_BUNDLE_MAX_PROGRAMS];
    int n;
} Programs;

/* One resolution of member k: graph, weights, passes, plan.  The first
 * resolution decides the layout; the others follow it (lead). */
static int build_program(const NcCompileJob *job, int k, NcRes res, const NcSafetensors *st, const char *pipeline,
                         const NcGraph *lead, int step, Programs *ps, NcError *e) {
    const NcJobMember *m = &job->member[k];
    if (ps->n == NC_BUNDLE_MAX_PROGRAMS) {
        nc_errorf(e, "at most %d programs (model x resolution) in all", NC_BUNDLE_MAX_PROGRAMS);
        return NC_EXIT_BADINPUT;
    }
    const NcElabOptions opt = {.height = res.h,
                               .width = res.w,
                               .batch = job->batch > 0 ? job->batch : 1,
                               .model = m->model,
                               .nset = m->nsets,
                               .set = m->sets,
                               .train = step};
    NcGraph *g = nc_load_model(m->path, &opt, e);
    if (!g) return NC_EXIT_BADINPUT;
    /* a program takes RGB images (runtime/bundle.c); only an imported model can ask for other channels */
    if (g->inputs.len && nc_val(g, g->inputs.data[0])->shape[1] != 3) {
        nc_errorf(e, "%s: the input has %lld channels; compiled programs take 3 (RGB images)", m->path,
                  (long long)nc_val(g, g->inputs.data[0])->shape[1]);
        nc_graph_free(g);
        return NC_EXIT_BADINPUT;
    }
    const int i = ps->n++;
    ps->graph[i] = g, ps->member_of[i] = k;
    if (st) {
        if (nc_weights_bind(g, st, e)) return NC_EXIT_BADINPUT;
    } else if (m->init_det || !nc_is_onnx_path(m->path)) {
        nc_weights_init_det(g); /* an ONNX file's initializers are its weights unless --init det */
    }
    if (job->train) {
        /* a training program: the step, and the model in inference (eval
         * mode, for validation) on the same parameters, NCHW: no layout
         * pass, and no pass that folds parameters into constants (they
         * change every step).  Their convolutions get the NCHW training
         * kernels (NcCgOptions.train, set by netc_emit), the rest runs the
         * reference kernels.  On the CPU an activation's gradient goes into
         * the batch norm's gradient before it, and a relu or clamp into the
         * batch norm (the GPU's kernels take them apart). */
        const NcPassRun run = {job->dump_after, job->dump_out, job->explain, NULL};
        if ((step && nc_autodiff(g, job->train, &ps->train[i], job->explain, e)) ||
            nc_run_pipeline(g, step && !job->cuda ? NC_TRAIN_PIPELINE_CPU : "dce", &run, e)) {
            nc_error_prefix(e, "%s", m->path);
            return NC_EXIT_BADINPUT;
        }
        return nc_plan_memory(g, &ps->plan[i], NULL, e) ? NC_EXIT_FAIL : 0;
    }
    NcLayoutHooks hooks = {0};
    /* the CPU backend refuses what it cannot target (an unknown --cpu, --layout nchw): bad input; the GPU
     * target keeps every activation NCHW: no layout pass */
    const int layout = !job->no_codegen && !job->cuda;
    if (layout && nc_cg_layout_hooks(&hooks, &job->cgo, lead, e)) return NC_EXIT_BADINPUT;
    const NcPassRun run = {job->dump_after, job->dump_out, job->explain, layout ? &hooks : NULL};
    const int bad = nc_run_pipeline(g, pipeline, &run, e);
    if (layout) nc_cg_layout_hooks_free(&hooks);
    if (bad) {
        nc_error_prefix(e, "%s", m->path);
        return NC_EXIT_BADINPUT;
    }
    return nc_plan_memory(g, &ps->plan[i], NULL, e) ? NC_EXIT_FAIL : 0;
}

/* --labels FILE, whole. */
static int read_labels(const char *path, char **text, NcError *e) {
    *text = NULL;
    if (!path) return 0;
    size_t len;
    if (nc_read_file(path, text, &len, e)) return -1;
    if (strlen(*text) == len) return 0;
    free(*text);
    *text = NULL;
    return nc_errorf(e, "%s: holds a NUL byte; expected one class name per line", path);
}

int nc_compile(const NcCompileJob *job, NcCompileInfo *info, NcError *e) {
    Programs ps;
    memset(&ps, 0, sizeof ps);
    WeightFiles wf;
    memset(&wf, 0, sizeof wf);
    NcBundleSpec spec;
    memset(&spec, 0, sizeof spec);
    char *names[NC_BUNDLE_MAX_MEMBERS] = {0}, *labels = NULL, *joined = NULL;
    const char *passes = job->passes ? job->passes : "default";
    char *pipeline = job->no_codegen || job->cuda ? nc_strdup(passes) : nc_pipeline_with_layout(passes);
    int rc = job->nmembers < 1 || job->nmembers > NC_BUNDLE_MAX_MEMBERS ? NC_EXIT_BADINPUT : 0;
    if (rc) nc_errorf(e, "%d models: expected 1 to %d", job->nmembers, NC_BUNDLE_MAX_MEMBERS);
    if (!rc && job->cuda && (job->no_codegen || job->emit != NC_EMIT_EXE)) {
        rc = NC_EXIT_BADINPUT;
        nc_errorf(e, "--target cuda makes a program (--emit exe): %s is not supported with it yet",
                  job->no_codegen ? "--no-codegen" : "--emit obj/bundle");
    }
    if (!rc && (job->emulate || job->ptx_dir) && !job->cuda) {
        rc = NC_EXIT_BADINPUT;
        nc_errorf(e, "%s goes with --target cuda", job->emulate ? "--emulate" : "--ptx");
    }
    if (!rc && job->train && (job->nmembers != 1 || job->member[0].nres != 1)) {
        rc = NC_EXIT_BADINPUT;
        nc_errorf(e, "a training program is one model at one resolution (give --res one size)");
    }
    /* --precision int8: per member, its first resolution at batch 1, for the calibration (calibrate.h) */
    const int calibrating = job->cgo.precision == NC_PREC_INT8 && !job->no_codegen;
    Programs cal;
    memset(&cal, 0, sizeof cal);
    NcCompileJob one = *job;
    one.batch = 1, one.dump_after = NULL, one.explain = NULL;
    /* measured in f32: every activation of the calibration graph f32 (int8 stores some bf16: assign_dtype),
     * with the same layouts (those do not depend on the precision) */
    one.cgo.precision = NC_PREC_F32;
    for (int k = 0; k < job->nmembers && !rc; k++) {
        const NcJobMember *m = &job->member[k];
        const NcSafetensors *st = NULL;
        if (m->weights && !(st = weights_file(&wf, m->weights, e))) rc = NC_EXIT_BADINPUT;
        const int first = ps.n;
        for (int r = 0; r < m->nres && !rc; r++)
            rc = build_program(job, k, m->res[r], st, pipeline, r ? ps.graph[first] : NULL, job->train != NULL, &ps, e);
        if (!rc && job->train) rc = build_program(job, k, m->res[0], st, pipeline, NULL, 0, &ps, e);
        if (!rc && calibrating && m->nres) rc = build_program(&one, k, m->res[0], st, pipeline, NULL, 0, &cal, e);
        if (rc) break;
        if (!m->nres) {
            rc = NC_EXIT_BADINPUT;
            nc_errorf(e, "%s: no resolution to compile", m->path);
            break;
        }
        /* a member's name: its model's, made unique */
        const char *base = ps.graph[ps.n - 1]->name;
        int dup = 0;
        for (int j = 0; j < k; j++) dup += !strncmp(names[j], base, strlen(base));
        names[k] = dup ? nc_sprintf("%s-%d", base, dup + 1) : nc_strdup(base);
        spec.member_name[k] = names[k];
        spec.weight[k] = job->merge == NC_MERGE_WEIGHTED ? job->weight[k] : 1;
    }
    for (int i = 0; i < wf.n; i++) nc_st_close(&wf.st[i]);
    if (!rc && read_labels(job->labels_path, &labels, e)) rc = NC_EXIT_BADINPUT;
    if (!rc) {
        joined = nc_strdup(names[0]);
        for (int k = 1; k < job->nmembers; k++) {
            char *more = nc_sprintf("%s+%s", joined, names[k]);
            free(joined);
            joined = more;
        }
        spec.name = job->name ? job->name : joined;
        spec.nmembers = job->nmembers, spec.member_of = ps.member_of;
        spec.merge = job->merge, spec.on_probs = job->on_probs;
        spec.labels = labels, spec.labels_path = job->labels_path;
        if (job->train) spec.train_spec = job->train, spec.train = ps.train;
        /* int8: the activations' ranges, measured on the planned graphs before their weights are packed */
        NcCompileJob with = *job;
        NcCalibration calib;
        memset(&calib, 0, sizeof calib);
        if (calibrating) {
            const double t0 = nc_now();
            rc = nc_calibrate(job->calibrate, cal.graph, cal.plan, ps.graph, ps.member_of, ps.n, &job->cgo, &calib, e);
            with.cgo.calib = &calib;
            if (!rc && job->cgo.verbose) {
                fprintf(stderr, "calibrate: %.2f s\n", nc_now() - t0);
                /* the ranges, for tests that compare the fast calibration with the reference's */
                for (int gi = 0; gi < ps.n; gi++)
                    for (int ni = 0; ni < ps.graph[gi]->nodes.len; ni++)
                        if (!isnan(calib.lo[gi][ni]))
                            fprintf(stderr, "calibrate: program %d %s [%.9g, %.9g]\n", gi,
                                    ps.graph[gi]->nodes.data[ni].scope, calib.lo[gi][ni], calib.hi[gi][ni]);
            }
        }
        if (!rc) rc = netc_emit(&with, &spec, ps.graph, ps.plan, ps.n, e);
        nc_calibration_free(&calib);
    }
    if (!rc && info) {
        snprintf(info->name, sizeof info->name, "%s", spec.name);
        info->nprograms = ps.n;
    }
    free(joined);
    free(labels);
    free(pipeline);
    for (int k = 0; k < NC_BUNDLE_MAX_MEMBERS; k++) free(names[k]);
    for (int i = 0; i < cal.n; i++) {
        nc_plan_free(&cal.plan[i]);
        nc_graph_free(cal.graph[i]);
    }
    for (int i = 0; i < ps.n; i++) {
        nc_plan_free(&ps.plan[i]);
        nc_train_info_free(&ps.train[i]);
        nc_graph_free(ps.graph[i]);
    }
    return rc;
}
