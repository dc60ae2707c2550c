/* netc ensemble — several frozen models, each with its own weights and
 * resolutions, compiled into one program that merges their answers (the
 * seed's inference: mean, median or vote of architectures, or weights).
 *
 *   netc ensemble a.nn:a.safetensors@448,512 b.nn:b.safetensors@448 \
 *       --merge mean|median|vote|weighted:0.5,0.5 [--on probs] -o ens
 *
 * A job of N members for nc_compile (compile_job.h), the path of `netc
 * compile`; the members become the programs of one bundle, tagged with their
 * member index, their weights side by side in its weights region. */
#include <string.h>

#include "tools/netc/cli.h"

static const char *help =
    "usage: netc ensemble MODEL.nn:WEIGHTS[@R[,R...]]... --merge KIND -o OUT [options]\n"
    "       (a member may be MODEL.onnx[:WEIGHTS][@R...]: its own initializers unless WEIGHTS)\n\n"
    "Compiles several models into one program (commands as for netc compile: classify, features,\n"
    "eval, run, bench, info; OUT --help).  Each model: a description, its weights (a safetensors\n"
    "file with timm names, or 'det' for the deterministic initialiser) and its resolutions\n"
    "(default 224).  classify runs each image through every model at each of its resolutions;\n"
    "each model sums its resolutions' logits (--merge mean at run time to average), then the\n"
    "models merge by KIND:\n"
    "  mean       the average                 median   per class\n"
    "  vote       the most frequent argmax; no single one: the argmax with the highest score\n"
    "  weighted:W1,W2,...   a weighted average, one weight per model\n\n"
    "options:\n"
    "  --on logits|probs   merge logits (default) or softmax probabilities\n"
    "  --batch N        the largest batch each program takes (default 1)\n"
    "  --labels FILE    class names, one per line\n"
    "  --name NAME      the program's name (default: the models' names joined by '+')\n"
    "  --passes P, --cpu NAME, --winograd MODE, --im2col on|off, --layout MODE, --no-codegen, --verbose, "
    "--weights-external, --emit KIND, --target cpu|cuda[:sm_NN], --emulate, --precision P, --calibrate DIR\n"
    "                   as for netc compile\n";

/* "a.nn:w.safetensors@448,512" -> one member of the job. */
static int parse_member(const char *spec, NcJobMember *m, char **path) {
    memset(m, 0, sizeof *m);
    const char *at = strrchr(spec, '@');
    size_t len = strlen(spec);
    const char *res = "224";
    if (at && strspn(at + 1, "0123456789x,") == strlen(at + 1) && at[1]) {
        res = at + 1;
        len = (size_t)(at - spec);
    }
    char *s = *path = nc_strndup(spec, len);
    /* an ONNX file carries its weights: MODEL.onnx[:WEIGHTS] */
    char *onnx = strstr(s, ".onnx");
    if (onnx && (!onnx[5] || onnx[5] == ':')) {
        m->path = s;
        if (onnx[5] == ':') {
            onnx[5] = 0;
            if (!strcmp(onnx + 6, "det"))
                m->init_det = 1;
            else if (onnx[6])
                m->weights = onnx + 6;
        }
        NcError e;
        if ((m->nres = nc_parse_res_list(res, m->res, NC_BUNDLE_MAX_PROGRAMS, &e)) < 0) {
            cli_error("ensemble: resolutions of %s: %s", s, e.msg);
            return -1;
        }
        return 0;
    }
    char *colon = strstr(s, ".nn:");
    if (!colon || !colon[4]) {
        cli_error("ensemble: '%s': expected MODEL.nn:WEIGHTS[@RES,...] (WEIGHTS: a .safetensors file or 'det')", spec);
        return -1;
    }
    colon[3] = 0;
    m->path = s, m->weights = strcmp(colon + 4, "det") ? colon + 4 : NULL;
    NcError e;
    if ((m->nres = nc_parse_res_list(res, m->res, NC_BUNDLE_MAX_PROGRAMS, &e)) < 0) {
        cli_error("ensemble: resolutions of %s: %s", s, e.msg);
        return -1;
    }
    return 0;
}

/* "0.5,0.3,0.2": n non-negative weights, not all zero. */
static int parse_weights(const char *s, float *w, int n) {
    int k;
    NcError e;
    char **items = nc_list_split(s, &k, &e);
    double sum = 0;
    for (int i = 0; items && i < k && k == n; i++) {
        char *end;
        double v = strtod(items[i], &end);
        if (*end || !(v >= 0 && v < 1e6))
            k = -1;
        else
            w[i] = (float)v, sum += v;
    }
    const int ok = items && k == n && sum > 0;
    free(items);
    return ok ? 0 : -1;
}

int cmd_ensemble(int argc, char **argv) {
    if (cli_help(argc, argv, help)) return 0;
    NcCompileJob job;
    memset(&job, 0, sizeof job);
    job.batch = 1;
    char *paths[NC_BUNDLE_MAX_MEMBERS] = {0};
    int rc = 0;
    const char *merge = NULL, *on = "logits";
    for (int i = 1; i < argc && !rc; i++) {
        const char *a = argv[i];
        const int more = i + 1 < argc;
        int r = cli_compile_option(&job, argc, argv, &i);
        if (r < 0)
            rc = NC_EXIT_BADINPUT;
        else if (r > 0)
            continue;
        else if (more && !strcmp(a, "--merge"))
            merge = argv[++i];
        else if (more && !strcmp(a, "--on"))
            on = argv[++i];
        else if (more && !strcmp(a, "--name"))
            job.name = argv[++i];
        else if (a[0] == '-') {
            cli_error("ensemble: unknown or incomplete option '%s' (see netc ensemble --help)", a);
            rc = NC_EXIT_BADINPUT;
        } else if (job.nmembers == NC_BUNDLE_MAX_MEMBERS) {
            cli_error("ensemble: at most %d models", NC_BUNDLE_MAX_MEMBERS);
            rc = NC_EXIT_BADINPUT;
        } else if (parse_member(a, &job.member[job.nmembers], &paths[job.nmembers])) {
            rc = NC_EXIT_BADINPUT;
        } else {
            job.nmembers++;
        }
    }
    const int nm = job.nmembers;
    if (!rc && (!job.out || nm < 1 || !merge)) {
        cli_error("ensemble: give the models, --merge KIND and -o OUT (see netc ensemble --help)");
        rc = NC_EXIT_BADINPUT;
    }
    if (!rc) {
        if (!strcmp(merge, "mean"))
            job.merge = NC_MERGE_MEAN;
        else if (!strcmp(merge, "median"))
            job.merge = NC_MERGE_MEDIAN;
        else if (!strcmp(merge, "vote"))
            job.merge = NC_MERGE_VOTE;
        else if (!strncmp(merge, "weighted:", 9) && !parse_weights(merge + 9, job.weight, nm))
            job.merge = NC_MERGE_WEIGHTED;
        else {
            cli_error("--merge '%s': expected mean, median, vote or weighted:W1,...,W%d (%d non-negative weights, "
                      "not all zero)",
                      merge, nm, nm);
            rc = NC_EXIT_BADINPUT;
        }
        if (strcmp(on, "logits") && strcmp(on, "probs")) {
            cli_error("--on '%s': expected logits or probs", on);
            rc = NC_EXIT_BADINPUT;
        }
        job.on_probs = !strcmp(on, "probs");
    }
    if (!rc && cli_check_precision(&job)) rc = NC_EXIT_BADINPUT;
    NcError e;
    NcCompileInfo info;
    if (!rc && (rc = nc_compile(&job, &info, &e))) fprintf(stderr, "netc: %s\n", e.msg);
    if (!rc)
        fprintf(stderr, "netc: compiled %d models (%d programs), merged by %s on %s, into %s\n", nm, info.nprograms,
                merge, on, job.out);
    for (int k = 0; k < NC_BUNDLE_MAX_MEMBERS; k++) free(paths[k]);
    return rc;
}
