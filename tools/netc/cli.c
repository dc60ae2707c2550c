#include "tools/netc/cli.h"

#include <stdarg.h>
#include <string.h>

#include "frontend/onnx/onnx.h"
#include "passes/pass.h"
#include "ir/weights.h"
#include "runtime/support/list.h"

void cli_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "netc: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int cli_help(int argc, char **argv, const char *help) {
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return fputs(help, stdout), 1;
    return 0;
}

int cli_model_option(CliModel *m, int argc, char **argv, int *i) {
    const char *a = argv[*i];
    const char *val = *i + 1 < argc ? argv[*i + 1] : NULL;
    if (m->options_ended || !strcmp(a, "--")) { /* after "--", FILE.nn even if it starts with '-' */
        if (!m->options_ended) return m->options_ended = 1;
        if (m->path) return 0;
        m->path = a;
        return 1;
    }
    if (!strcmp(a, "--explain")) {
        m->explain = 1;
        return 1;
    }
    int takes_value = !strcmp(a, "--passes") || !strcmp(a, "--dump-after") || !strcmp(a, "--res") ||
                      !strcmp(a, "--batch") || !strcmp(a, "--model") || !strcmp(a, "--set") ||
                      !strcmp(a, "--weights") || !strcmp(a, "--init");
    if (!takes_value) {
        if (a[0] != '-' && !m->path) {
            m->path = a;
            return 1;
        }
        return 0;
    }
    if (!val) {
        cli_error("%s needs a value", a);
        return -1;
    }
    (*i)++;
    if (!strcmp(a, "--res")) {
        NcRes r;
        NcError e;
        if (nc_parse_res(val, &r, &e)) {
            cli_error("--res %s", e.msg);
            return -1;
        }
        m->opt.height = r.h, m->opt.width = r.w;
        m->res_given = 1;
    } else if (!strcmp(a, "--batch")) {
        if (cli_parse_batch(val, &m->opt.batch)) return -1;
    } else if (!strcmp(a, "--model")) {
        m->opt.model = val;
    } else if (!strcmp(a, "--set")) {
        if (m->opt.nset == 64) {
            cli_error("too many --set options");
            return -1;
        }
        m->sets[m->opt.nset++] = val;
        m->opt.set = m->sets;
    } else if (!strcmp(a, "--passes")) {
        m->passes = val;
    } else if (!strcmp(a, "--dump-after")) {
        m->dump_after = val;
        if (strcmp(val, "all") && !nc_pass_find(val)) {
            cli_error("--dump-after '%s': no such pass", val);
            return -1;
        }
    } else if (!strcmp(a, "--weights")) {
        m->weights = val;
    } else if (!strcmp(a, "--init")) {
        if (strcmp(val, "det")) {
            cli_error("--init '%s': the only initialiser is 'det'", val);
            return -1;
        }
        m->init_det = 1;
    }
    return 1;
}

int cli_check_weights(const CliModel *m) {
    /* an ONNX file carries its weights; --weights or --init det replace them */
    if (!m->weights && !m->init_det && !nc_is_onnx_path(m->path)) {
        cli_error("say where the weights come from: --weights W.safetensors or --init det");
        return -1;
    }
    if (m->weights && m->init_det) {
        cli_error("--weights and --init det exclude each other");
        return -1;
    }
    return 0;
}

NcGraph *cli_load(CliModel *m, int want_weights) {
    if (!m->path) {
        cli_error("no model file given (see --help)");
        return NULL;
    }
    if (!m->opt.height) m->opt.height = m->opt.width = 224;
    if (!m->opt.batch) m->opt.batch = 1;
    if (want_weights && cli_check_weights(m)) return NULL;
    NcError e;
    NcGraph *g = nc_load_model(m->path, &m->opt, &e);
    if (!g) {
        fprintf(stderr, "%s\n", e.msg);
        return NULL;
    }
    if (want_weights) {
        if (m->init_det) {
            nc_weights_init_det(g);
        } else if (m->weights && nc_weights_load(g, m->weights, &e)) {
            fprintf(stderr, "netc: %s\n", e.msg);
            nc_graph_free(g);
            return NULL;
        }
    }
    if (m->dump_after && !m->passes) m->passes = "default";
    const NcPassRun run = {m->dump_after, stdout, m->explain ? stderr : NULL, m->layout};
    if (m->passes && nc_run_pipeline(g, m->passes, &run, &e)) {
        fprintf(stderr, "netc: %s: %s\n", m->path, e.msg);
        nc_graph_free(g);
        return NULL;
    }
    return g;
}
