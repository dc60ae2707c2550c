/* device.c — nc_dev_*: the interface over the two implementations. */
#include <stdlib.h>
#include <string.h>

#include "runtime/device/device.h"

NcDevice *nc_dev_open(const char *kind, NcError *e) {
    if (!strcmp(kind, "emulate")) return nc_dev_open_emulator(e);
    if (!strcmp(kind, "cuda")) return nc_dev_open_cuda(e);
    nc_errorf(e, "unknown device '%s' (known: emulate, cuda)", kind);
    return NULL;
}

void nc_dev_close(NcDevice *d) {
    if (d) d->ops->close(d);
}
const char *nc_dev_name(const NcDevice *d) { return d->name; }
int nc_dev_alloc(NcDevice *d, void **p, size_t bytes, NcError *e) { return d->ops->alloc(d, p, bytes, e); }
void nc_dev_free(NcDevice *d, void *p) {
    if (p) d->ops->free(d, p);
}
int nc_dev_upload(NcDevice *d, void *dst, const void *src, size_t bytes, NcError *e) {
    return d->ops->upload(d, dst, src, bytes, e);
}
int nc_dev_download(NcDevice *d, void *dst, const void *src, size_t bytes, NcError *e) {
    return d->ops->download(d, dst, src, bytes, e);
}
int nc_dev_launch(NcDevice *d, const NcDevKernel *k, float *const *params, NcError *e) {
    return d->ops->launch(d, k, params, e);
}
int nc_dev_gemm(NcDevice *d, int64_t m, int64_t n, int64_t k, const float *a, const float *b, float *c, NcError *e) {
    const NcDevGemm g = {.m = m, .n = n, .k = k, .batch = 1};
    return d->ops->gemm(d, &g, a, b, c, e);
}
int nc_dev_gemm_ex(NcDevice *d, const NcDevGemm *g, const float *a, const float *b, float *c, NcError *e) {
    if (g->m < 1 || g->n < 1 || g->k < 1 || g->batch < 1 || g->stride_a < 0 || g->stride_b < 0 || g->stride_c < 0)
        return nc_errorf(e, "GEMM %lldx%lldx%lld (batch %lld): bad shape", (long long)g->m, (long long)g->n,
                         (long long)g->k, (long long)g->batch);
    if (g->epilogue)
        return nc_errorf(e, "GEMM %lldx%lldx%lld: an epilogue outside nc_dev_gemm_epi", (long long)g->m,
                         (long long)g->n, (long long)g->k);
    return d->ops->gemm(d, g, a, b, c, e);
}
/* NETC_GEMM_EPILOGUE=0: no device fuses (the A/B switch: each GEMM then its elementwise kernel) */
static int epilogues_off(void) {
    static int off = -1;
    if (off < 0) {
        const char *s = getenv("NETC_GEMM_EPILOGUE");
        off = s && !strcmp(s, "0");
    }
    return off;
}
int nc_dev_gemm_epi(NcDevice *d, const NcDevGemm *g, const float *a, const float *b, float *c, const float *bias,
                    NcError *e) {
    if (g->epilogue < NC_DEV_EPI_BIAS || g->epilogue > NC_DEV_EPI_BIAS_RELU || g->accumulate || !bias)
        return nc_errorf(e, "GEMM %lldx%lldx%lld: bad epilogue %d", (long long)g->m, (long long)g->n, (long long)g->k,
                         g->epilogue);
    if (g->m < 1 || g->n < 1 || g->k < 1 || g->batch < 1 || g->stride_a < 0 || g->stride_b < 0 || g->stride_c < 0)
        return nc_errorf(e, "GEMM %lldx%lldx%lld (batch %lld): bad shape", (long long)g->m, (long long)g->n,
                         (long long)g->k, (long long)g->batch);
    if (!d->ops->gemm_epi || epilogues_off()) return 1;
    return d->ops->gemm_epi(d, g, a, b, c, bias, e);
}
int nc_dev_sync(NcDevice *d, NcError *e) { return d->ops->sync(d, e); }
int nc_dev_has_graphs(const NcDevice *d) { return d->ops->graph_begin != NULL; }
int nc_dev_graph_begin(NcDevice *d, NcError *e) {
    return d->ops->graph_begin ? d->ops->graph_begin(d, e) : nc_errorf(e, "%s has no graphs", d->name);
}
int nc_dev_graph_end(NcDevice *d, void **graph, NcError *e) { return d->ops->graph_end(d, graph, e); }
int nc_dev_graph_launch(NcDevice *d, void *graph, NcError *e) { return d->ops->graph_launch(d, graph, e); }
void nc_dev_graph_free(NcDevice *d, void *graph) {
    if (graph) d->ops->graph_free(d, graph);
}

static NcDevConvRef conv_reference;
void nc_dev_set_conv_reference(NcDevConvRef f) { conv_reference = f; }
NcDevConvRef nc_dev_conv_reference(void) { return conv_reference; }

int nc_dev_conv_available(NcDevice *d, NcError *e) {
    return d->ops->conv_available ? d->ops->conv_available(d, e) : nc_errorf(e, "%s runs no convolutions", d->name);
}
int nc_dev_conv_prepare(NcDevice *d, const NcDevConv *c, float *x, float *w, float *y, NcError *e) {
    if (c->groups < 1 || c->c % c->groups || c->k % c->groups || c->n < 1 || c->p < 1 || c->q < 1)
        return nc_errorf(e, "conv %lldx%lldx%lldx%lld -> %lld channels, %d groups: bad shape", (long long)c->n,
                         (long long)c->c, (long long)c->h, (long long)c->w, (long long)c->k, c->groups);
    return d->ops->conv_prepare(d, c, x, w, y, e);
}
int nc_dev_conv(NcDevice *d, const NcDevConv *c, float *x, float *w, float *y, NcError *e) {
    return d->ops->conv(d, c, x, w, y, e);
}

int nc_dev_timer_start(NcDevice *d, NcError *e) {
    if (d->ops->timer_start) return d->ops->timer_start(d, e);
    if (nc_dev_sync(d, e)) return -1;
    d->timer_t0 = nc_now();
    return 0;
}
int nc_dev_timer_stop(NcDevice *d, double *ms, NcError *e) {
    if (d->ops->timer_stop) return d->ops->timer_stop(d, ms, e);
    if (nc_dev_sync(d, e)) return -1;
    *ms = (nc_now() - d->timer_t0) * 1e3;
    return 0;
}

int nc_dev_has_streams(const NcDevice *d) { return d->ops->copy_async != NULL; }
static int no_streams(const NcDevice *d, NcError *e) { return nc_errorf(e, "%s has no streams", d->name); }
int nc_dev_host_alloc(NcDevice *d, void **p, size_t bytes, NcError *e) {
    return d->ops->host_alloc ? d->ops->host_alloc(d, p, bytes, e) : no_streams(d, e);
}
void nc_dev_host_free(NcDevice *d, void *p) {
    if (p) d->ops->host_free(d, p);
}
int nc_dev_copy_async(NcDevice *d, int stream, int dir, void *dst, const void *src, size_t bytes, NcError *e) {
    if (!d->ops->copy_async) return no_streams(d, e);
    if ((stream != NC_DEV_COMPUTE && stream != NC_DEV_COPY) || dir < NC_DEV_H2D || dir > NC_DEV_D2D)
        return nc_errorf(e, "async copy: stream %d, direction %d", stream, dir);
    return bytes ? d->ops->copy_async(d, stream, dir, dst, src, bytes, e) : 0;
}
int nc_dev_event_create(NcDevice *d, void **ev, NcError *e) {
    return d->ops->event_create ? d->ops->event_create(d, ev, e) : no_streams(d, e);
}
void nc_dev_event_free(NcDevice *d, void *ev) {
    if (ev) d->ops->event_free(d, ev);
}
int nc_dev_event_record(NcDevice *d, void *ev, int stream, NcError *e) {
    return d->ops->event_record(d, ev, stream, e);
}
int nc_dev_stream_wait(NcDevice *d, int stream, void *ev, NcError *e) { return d->ops->stream_wait(d, stream, ev, e); }
int nc_dev_event_sync(NcDevice *d, void *ev, NcError *e) { return d->ops->event_sync(d, ev, e); }
