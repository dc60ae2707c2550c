/* netc info — what a model costs: parameters (counted as timm counts them),
 * multiply-accumulates of convolutions and linear layers, activation memory,
 * and the same per stage. */
#include <ctype.h>
#include <string.h>

#include "ir/ops.h"
#include "passes/autodiff.h"
#include "passes/pass.h"
#include "runtime/support/json.h"
#include "tools/netc/cli.h"

static const char *help =
    "usage: netc info FILE.nn [options]\n\n"
    "Prints the parameter count, GMACs (convolutions and linear layers), activation memory\n"
    "and a per-stage table of a model at one resolution.\n\noptions:\n" CLI_MODEL_OPTIONS_HELP
    "  --json           one JSON object instead of the table\n"
    "  --params         list every parameter: its timm name and shape\n"
    "  --plan           run the default passes and plan activation memory: the arena against\n"
    "                   the naive sum of all intermediates\n"
    "  --train          plan a training step instead (netc compile --train; its options too:\n"
    "                   --loss, --freeze-features, --drop-rate, ...): the step's arena\n"
    "                   (activations kept for the backward pass, gradients) against the\n"
    "                   naive sum, and what the parameters, gradients and optimizer state take\n" CLI_PASS_OPTIONS_HELP;

static int count_acts(const NcGraph *g) {
    int n = 0;
    for (int i = 0; i < g->nodes.len; i++) n += g->nodes.data[i].op == NC_OP_RELU || g->nodes.data[i].op == NC_OP_CLAMP;
    return n;
}

/* --train: the step's graph and plan, and the memory of a training run. */
static int train_info(CliModel *m, const NcTrainSpec *spec, int json) {
    m->opt.train = 1;
    NcGraph *g = cli_load(m, 0);
    if (!g) return NC_EXIT_BADINPUT;
    int fwd_nodes = g->nodes.len;
    NcTrainInfo ti;
    NcPlan plan;
    memset(&plan, 0, sizeof plan);
    NcError e;
    /* the CPU program's step: its plan is the arena a training run holds; the relus and clamps its passes fold
     * into batch norms and adds leave the forward (the backward holds none) */
    int acts = -1;
    if (!nc_autodiff(g, spec, &ti, m->explain ? stderr : NULL, &e)) {
        acts = count_acts(g);
        if (nc_run_passes(g, NC_TRAIN_PIPELINE_CPU, NULL, NULL, NULL, &e) || nc_plan_memory(g, &plan, NULL, &e))
            acts = -1;
    }
    if (acts < 0) {
        fprintf(stderr, "netc: %s: %s\n", m->path, e.msg);
        nc_graph_free(g);
        return NC_EXIT_BADINPUT;
    }
    fwd_nodes -= acts - count_acts(g);
    int64_t trained = 0, params = 0;
    for (int i = 0; i < g->values.len; i++) {
        const NcValue *v = nc_val(g, i);
        if (v->kind == NC_VAL_PARAM) params += nc_numel(v);
    }
    for (int i = 0; i < ti.nparams; i++) trained += nc_numel(nc_val(g, nc_graph_find_param(g, ti.param[i])));
    /* a trained tensor's gradient lives in the arena; its optimizer state is 1 (SGD) or 2 (AdamW) copies */
    const double pb = 4.0 * (double)params, sgd = 4.0 * (double)trained, adamw = 8.0 * (double)trained;
    if (json) {
        printf("{\"model\": ");
        nc_json_put_str(stdout, g->name);
        printf(", \"height\": %d, \"width\": %d, \"batch\": %d, \"forward_nodes\": %d, \"step_nodes\": %d, "
               "\"trained_tensors\": %d, \"trained_values\": %lld, \"batch_norms\": %d, \"arena_bytes\": %lld, "
               "\"naive_bytes\": %lld, \"peak_live_bytes\": %lld, \"param_bytes\": %.0f, "
               "\"sgd_state_bytes\": %.0f, \"adamw_state_bytes\": %.0f}\n",
               m->opt.height, m->opt.width, m->opt.batch, fwd_nodes, g->nodes.len, ti.nparams, (long long)trained,
               ti.nbn, (long long)plan.arena_bytes, (long long)plan.naive_bytes, (long long)plan.peak_live, pb, sgd,
               adamw);
    } else {
        printf("training step  %s at %dx%d, batch %d: %d nodes (%d forward, %d loss and backward)\n", g->name,
               m->opt.height, m->opt.width, m->opt.batch, g->nodes.len, fwd_nodes, g->nodes.len - fwd_nodes);
        printf("trains         %d tensors, %lld values%s; %d batch norms on batch statistics\n", ti.nparams,
               (long long)trained, spec->freeze_features ? " (the classifier: features frozen)" : "", ti.nbn);
        printf(
            "arena          %.1f MB = %.1f%% of the naive sum of every intermediate (%.1f MB); peak live %.1f MB\n"
            "               (the activations the backward pass reads, kept until it reads them, and the gradients)\n",
            plan.arena_bytes / 1e6, 100.0 * (double)plan.arena_bytes / (double)plan.naive_bytes, plan.naive_bytes / 1e6,
            plan.peak_live / 1e6);
        printf("besides        parameters %.1f MB, optimizer state %.1f MB (SGD momentum) or %.1f MB (AdamW)\n",
               pb / 1e6, sgd / 1e6, adamw / 1e6);
        printf("in all         %.1f MB with SGD, %.1f MB with AdamW\n", (plan.arena_bytes + pb + sgd) / 1e6,
               (plan.arena_bytes + pb + adamw) / 1e6);
    }
    nc_train_info_free(&ti);
    nc_plan_free(&plan);
    nc_graph_free(g);
    return 0;
}

/* The stage a layer belongs to: its first name component, or the first two
 * when the second is a stage index over numbered blocks (blocks.3.1.conv_pw
 * -> blocks.3, but layer1.0.conv1 -> layer1). */
static void stage_of(const char *scope, char *out, size_t len) {
    const char *dot1 = strchr(scope, '.');
    size_t n = dot1 ? (size_t)(dot1 - scope) : strlen(scope);
    if (dot1 && isdigit((unsigned char)dot1[1])) {
        const char *dot2 = strchr(dot1 + 1, '.');
        if (dot2 && isdigit((unsigned char)dot2[1])) n = (size_t)(dot2 - scope);
    }
    if (n == 0) {
        snprintf(out, len, "(top)");
        return;
    }
    snprintf(out, len, "%.*s", (int)(n < len - 1 ? n : len - 1), scope);
}

typedef struct Stage {
    char name[64];
    int64_t params;
    double macs;
    int last_value;
} Stage;

static void fmt_thousands(int64_t v, char *buf, size_t len) {
    char raw[32];
    snprintf(raw, sizeof raw, "%lld", (long long)v);
    size_t n = strlen(raw), k = 0;
    for (size_t i = 0; i < n && k + 1 < len; i++) {
        buf[k++] = raw[i];
        if ((n - i - 1) % 3 == 0 && i + 1 < n && k + 1 < len) buf[k++] = ',';
    }
    buf[k] = 0;
}

/* `key` (the separator and the quoted name) and v, or null when v is not finite. */
static void json_num(const char *key, const char *fmt, double v) {
    fputs(key, stdout);
    nc_json_put_num(stdout, fmt, v);
}

int cmd_info(int argc, char **argv) {
    if (cli_help(argc, argv, help)) return 0;
    CliModel m = {0};
    CliTrain train = {0};
    int json = 0, list_params = 0, want_plan = 0;
    for (int i = 1; i < argc; i++) {
        const int opt = !m.options_ended;
        if (opt && !strcmp(argv[i], "--json")) {
            json = 1;
            continue;
        }
        if (opt && !strcmp(argv[i], "--params")) {
            list_params = 1;
            continue;
        }
        if (opt && !strcmp(argv[i], "--plan")) {
            want_plan = 1;
            continue;
        }
        int r = opt ? cli_train_option(&train, &m, argc, argv, &i) : 0;
        if (r == 0) r = cli_model_option(&m, argc, argv, &i);
        if (r < 0) return NC_EXIT_BADINPUT;
        if (r == 0) {
            cli_error("info: unknown option '%s' (see netc info --help)", argv[i]);
            return NC_EXIT_BADINPUT;
        }
    }
    if (train.on) return train_info(&m, &train.spec, json);
    /* The statistics describe the model as written; the plan, the graph the
     * passes make of it. */
    CliModel planned = m;
    m.passes = NULL, m.dump_after = NULL;
    double t0 = nc_now();
    NcGraph *g = cli_load(&m, 0);
    if (!g) return NC_EXIT_BADINPUT;
    double elab_s = nc_now() - t0;
    NcPlan plan;
    memset(&plan, 0, sizeof plan);
    if (want_plan) {
        if (!planned.passes) planned.passes = "default";
        NcGraph *pg = cli_load(&planned, 0);
        NcError pe;
        int rc = !pg ? NC_EXIT_BADINPUT : nc_plan_memory(pg, &plan, m.explain ? stderr : NULL, &pe) ? NC_EXIT_FAIL : 0;
        if (rc == NC_EXIT_FAIL) fprintf(stderr, "netc: %s\n", pe.msg);
        nc_graph_free(pg);
        if (rc) {
            nc_graph_free(g);
            return rc;
        }
        m.passes = planned.passes;
    }
    if (list_params) {
        for (int i = 0; i < g->values.len; i++) {
            const NcValue *v = nc_val(g, i);
            if (v->kind != NC_VAL_PARAM) continue;
            printf("%s", v->name);
            for (int d = 0; d < v->ndim; d++) printf(" %lld", (long long)v->shape[d]);
            printf("\n");
        }
        nc_graph_free(g);
        return 0;
    }

    /* Activations: the sum of every intermediate, and the peak of what is live
     * when each is freed after its last reader (node order as given). */
    int nv = g->values.len;
    int *last = nc_malloc((size_t)nv * sizeof(int));
    for (int i = 0; i < nv; i++) last[i] = -1;
    for (int ni = 0; ni < g->nodes.len; ni++)
        for (int j = 0; j < g->nodes.data[ni].ninputs; j++) last[g->nodes.data[ni].inputs[j]] = ni;
    for (int i = 0; i < g->outputs.len; i++) last[g->outputs.data[i]] = g->nodes.len;
    double sum = 0, live = 0, peak = 0, largest = 0;
    for (int ni = 0; ni < g->nodes.len; ni++) {
        const NcNode *n = &g->nodes.data[ni];
        for (int j = 0; j < n->noutputs; j++) {
            double b = 4.0 * (double)nc_numel(nc_val(g, n->outputs[j]));
            sum += b, live += b;
            if (b > largest) largest = b;
        }
        if (live > peak) peak = live;
        for (int j = 0; j < n->ninputs + n->noutputs; j++) {
            int id = j < n->ninputs ? n->inputs[j] : n->outputs[j - n->ninputs];
            if (nc_val(g, id)->kind == NC_VAL_NODE && last[id] <= ni && last[id] != -2) {
                live -= 4.0 * (double)nc_numel(nc_val(g, id));
                last[id] = -2; /* freed */
            }
        }
    }
    free(last);

    /* Per stage, in order of first appearance. */
    NC_VEC(Stage) stages = {0};
    char key[64];
    for (int ni = 0; ni < g->nodes.len; ni++) {
        const NcNode *n = &g->nodes.data[ni];
        /* Unnamed nodes (activations, pools) belong with the layer before them. */
        if (n->scope[0] || !stages.len)
            stage_of(n->scope, key, sizeof key);
        else
            snprintf(key, sizeof key, "%s", stages.data[stages.len - 1].name);
        int s = stages.len - 1;
        while (s >= 0 && strcmp(stages.data[s].name, key)) s--;
        if (s < 0) {
            Stage st;
            memset(&st, 0, sizeof st);
            snprintf(st.name, sizeof st.name, "%s", key);
            nc_vec_push(&stages, st);
            s = stages.len - 1;
        }
        Stage *st = &stages.data[s];
        st->last_value = n->outputs[0];
        const NcOpInfo *info = nc_op_info(n->op);
        const NcValue *in[NC_MAXIN], *out[NC_MAXOUT];
        for (int j = 0; j < n->ninputs; j++) {
            in[j] = nc_val(g, n->inputs[j]);
            if (in[j]->kind == NC_VAL_PARAM && in[j]->role != NC_PARAM_BN_MEAN && in[j]->role != NC_PARAM_BN_VAR)
                st->params += nc_numel(in[j]);
        }
        for (int j = 0; j < n->noutputs; j++) out[j] = nc_val(g, n->outputs[j]);
        if (info->macs) st->macs += info->macs(in, out, &n->attrs);
    }

    int64_t params = nc_graph_param_count(g);
    int64_t ptensors = 0, buffers = 0;
    for (int i = 0; i < nv; i++) {
        const NcValue *v = nc_val(g, i);
        if (v->kind != NC_VAL_PARAM) continue;
        ptensors++;
        if (v->role == NC_PARAM_BN_MEAN || v->role == NC_PARAM_BN_VAR) buffers += nc_numel(v);
    }
    double macs = nc_graph_macs(g) / m.opt.batch;
    char buf[64], shp[96];
    if (json) {
        printf("{\"model\": ");
        nc_json_put_str(stdout, g->name);
        printf(", \"file\": ");
        nc_json_put_str(stdout, m.path);
        printf(", \"height\": %d, \"width\": %d, \"batch\": %d, \"params\": %lld, \"param_tensors\": %lld, "
               "\"bn_buffers\": %lld",
               m.opt.height, m.opt.width, m.opt.batch, (long long)params, (long long)ptensors, (long long)buffers);
        json_num(", \"macs_per_image\": ", "%.0f", macs);
        json_num(", \"gmacs_per_image\": ", "%.4f", macs / 1e9);
        json_num(", \"activation_bytes_sum\": ", "%.0f", sum);
        json_num(", \"activation_bytes_peak\": ", "%.0f", peak);
        printf(", \"nodes\": %d", g->nodes.len);
        json_num(", \"elaborate_seconds\": ", "%.4f", elab_s);
        if (want_plan) {
            printf(", \"plan\": {\"passes\": ");
            nc_json_put_str(stdout, m.passes);
            printf(", \"arena_bytes\": %lld, \"naive_bytes\": %lld, \"peak_live_bytes\": %lld, \"in_place\": %d, "
                   "\"views\": %d}",
                   (long long)plan.arena_bytes, (long long)sum, (long long)plan.peak_live, plan.inplace, plan.aliased);
        }
        const NcPreprocess *pp = &g->pre;
        json_num(", \"preprocess\": {\"crop_pct\": ", "%.4g", pp->crop_pct);
        printf(", \"interpolation\": \"%s\"", pp->interp ? "bilinear" : "bicubic");
        for (int c = 0; c < 6; c++) /* mean then std, three each */
            json_num(c == 0   ? ", \"mean\": ["
                     : c == 3 ? "], \"std\": ["
                              : ", ",
                     "%.4g", c < 3 ? pp->mean[c] : pp->std[c - 3]);
        printf("]}, \"stages\": [");
        for (int s = 0; s < stages.len; s++) {
            const NcValue *v = nc_val(g, stages.data[s].last_value);
            printf("%s{\"name\": ", s ? ", " : "");
            nc_json_put_str(stdout, stages.data[s].name);
            printf(", \"params\": %lld", (long long)stages.data[s].params);
            json_num(", \"macs_per_image\": ", "%.0f", stages.data[s].macs / m.opt.batch);
            printf(", \"output\": %s}", nc_shape_str(v->ndim, v->shape, shp, sizeof shp));
        }
        printf("]}\n");
    } else {
        printf("model        %s (%s) at %dx%d, batch %d\n", g->name, m.path, m.opt.height, m.opt.width, m.opt.batch);
        fmt_thousands(params, buf, sizeof buf);
        printf("parameters   %s in %lld tensors (%.1f MB as f32; BN statistics add %lld values)\n", buf,
               (long long)ptensors, 4.0 * (double)(params + buffers) / 1e6, (long long)buffers);
        printf("GMACs        %.3f per image (convolutions and linear layers)\n", macs / 1e9);
        printf("activations  %.1f MB if every intermediate is kept, %.1f MB peak when freed after last use,\n"
               "             largest single tensor %.1f MB (batch %d, f32)\n",
               sum / 1e6, peak / 1e6, largest / 1e6, m.opt.batch);
        printf("preprocess   crop_pct %.4g, %s, mean (%.4g, %.4g, %.4g), std (%.4g, %.4g, %.4g)%s\n", g->pre.crop_pct,
               g->pre.interp ? "bilinear" : "bicubic", g->pre.mean[0], g->pre.mean[1], g->pre.mean[2], g->pre.std[0],
               g->pre.std[1], g->pre.std[2], g->pre.set ? "" : " (timm's defaults)");
        printf("graph        %d nodes, %d values, elaborated in %.3f s\n", g->nodes.len, g->values.len, elab_s);
        if (want_plan)
            printf("plan         arena %.2f MB = %.1f%% of the naive sum of every intermediate (%.1f MB);\n"
                   "             after passes '%s': %.1f MB of intermediates, peak live %.2f MB, %d ops in place, %d "
                   "views\n",
                   plan.arena_bytes / 1e6, 100.0 * (double)plan.arena_bytes / sum, sum / 1e6, m.passes,
                   plan.naive_bytes / 1e6, plan.peak_live / 1e6, plan.inplace, plan.aliased);
        printf("\n");
        printf("%-14s %14s %10s  %s\n", "stage", "params", "GMACs", "output");
        for (int s = 0; s < stages.len; s++) {
            const NcValue *v = nc_val(g, stages.data[s].last_value);
            fmt_thousands(stages.data[s].params, buf, sizeof buf);
            printf("%-14s %14s %10.3f  %s\n", stages.data[s].name, buf, stages.data[s].macs / m.opt.batch / 1e9,
                   nc_shape_str(v->ndim, v->shape, shp, sizeof shp));
        }
    }
    free(stages.data);
    nc_plan_free(&plan);
    nc_graph_free(g);
    return 0;
}
