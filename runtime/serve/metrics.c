/* metrics.c — counters behind one mutex: a request takes it once when it
 * ends and the compute thread once per batch, far below what would contend. */
#include "runtime/serve/metrics.h"

#include <string.h>

#include "runtime/support/base.h"

static const int statuses[METRICS_STATUSES] = {200, 400, 401, 404, 405, 413, 415, 429, 500, 503, 499, 0};
static const double lat_le[METRICS_LAT_BUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                   0.25,  0.5,    1,     2.5,  5,     10,   30};
static const int batch_le[METRICS_BATCH_BUCKETS] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512};
static const char *const names[ROUTE_COUNT] = {"health_live", "health_ready", "server_metadata", "model_metadata",
                                               "model_ready", "infer",        "classify",        "features",
                                               "metrics",     "unknown"};

void metrics_init(Metrics *m) {
    memset(m, 0, sizeof *m);
    pthread_mutex_init(&m->mu, NULL);
}

void metrics_free(Metrics *m) { pthread_mutex_destroy(&m->mu); }

const char *route_name(Route r) { return names[r]; }

void metrics_request(Metrics *m, Route r, int status, double seconds) {
    int s = 0;
    while (s < METRICS_STATUSES - 1 && statuses[s] != status) s++; /* the last slot: any other status */
    int k = 0;
    while (k < METRICS_LAT_BUCKETS && seconds > lat_le[k]) k++;
    pthread_mutex_lock(&m->mu);
    m->requests[r][s]++;
    m->lat[r][k]++;
    m->lat_sum[r] += seconds;
    pthread_mutex_unlock(&m->mu);
}

void metrics_batch(Metrics *m, int images) {
    int k = 0;
    while (k < METRICS_BATCH_BUCKETS && images > batch_le[k]) k++;
    const int64_t now = (int64_t)nc_now();
    pthread_mutex_lock(&m->mu);
    m->batch[k]++;
    m->batches++;
    m->batch_images += (uint64_t)images;
    m->images += (uint64_t)images;
    const int slot = (int)(now % METRICS_WINDOW);
    if (m->second[slot] != now) m->second[slot] = now, m->per_second[slot] = 0;
    m->per_second[slot] += (uint64_t)images;
    pthread_mutex_unlock(&m->mu);
}

void metrics_gauges(Metrics *m, int queue_depth, int in_flight) {
    pthread_mutex_lock(&m->mu);
    m->queue_depth = queue_depth, m->in_flight = in_flight;
    pthread_mutex_unlock(&m->mu);
}

void metrics_print(Metrics *m, FILE *f) {
    const int64_t now = (int64_t)nc_now();
    pthread_mutex_lock(&m->mu);
    fprintf(f, "# HELP netc_requests_total HTTP requests by route and status (499: the client went away).\n"
               "# TYPE netc_requests_total counter\n");
    for (int r = 0; r < ROUTE_COUNT; r++)
        for (int s = 0; s < METRICS_STATUSES; s++)
            if (m->requests[r][s]) {
                if (statuses[s])
                    fprintf(f, "netc_requests_total{route=\"%s\",status=\"%d\"} %llu\n", names[r], statuses[s],
                            (unsigned long long)m->requests[r][s]);
                else
                    fprintf(f, "netc_requests_total{route=\"%s\",status=\"other\"} %llu\n", names[r],
                            (unsigned long long)m->requests[r][s]);
            }
    fprintf(f, "# HELP netc_errors_total HTTP requests answered with a status of 400 or more, by route.\n"
               "# TYPE netc_errors_total counter\n");
    for (int r = 0; r < ROUTE_COUNT; r++) {
        uint64_t n = 0;
        for (int s = 0; s < METRICS_STATUSES; s++) n += statuses[s] >= 400 || !statuses[s] ? m->requests[r][s] : 0;
        fprintf(f, "netc_errors_total{route=\"%s\"} %llu\n", names[r], (unsigned long long)n);
    }
    fprintf(f, "# HELP netc_request_seconds Time from a request's first byte to its response, by route.\n"
               "# TYPE netc_request_seconds histogram\n");
    for (int r = 0; r < ROUTE_COUNT; r++) {
        uint64_t cum = 0;
        for (int k = 0; k <= METRICS_LAT_BUCKETS; k++) {
            cum += m->lat[r][k];
            if (k < METRICS_LAT_BUCKETS)
                fprintf(f, "netc_request_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n", names[r], lat_le[k],
                        (unsigned long long)cum);
            else
                fprintf(f, "netc_request_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n", names[r],
                        (unsigned long long)cum);
        }
        fprintf(f, "netc_request_seconds_sum{route=\"%s\"} %.6f\nnetc_request_seconds_count{route=\"%s\"} %llu\n",
                names[r], m->lat_sum[r], names[r], (unsigned long long)cum);
    }
    fprintf(f, "# HELP netc_batch_images Images per run of the model (dynamic batching).\n"
               "# TYPE netc_batch_images histogram\n");
    uint64_t cum = 0;
    for (int k = 0; k <= METRICS_BATCH_BUCKETS; k++) {
        cum += m->batch[k];
        if (k < METRICS_BATCH_BUCKETS)
            fprintf(f, "netc_batch_images_bucket{le=\"%d\"} %llu\n", batch_le[k], (unsigned long long)cum);
        else
            fprintf(f, "netc_batch_images_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
    }
    fprintf(f, "netc_batch_images_sum %llu\nnetc_batch_images_count %llu\n", (unsigned long long)m->batch_images,
            (unsigned long long)m->batches);
    uint64_t recent = 0;
    for (int k = 0; k < METRICS_WINDOW; k++)
        if (m->second[k] < now && m->second[k] >= now - METRICS_WINDOW) recent += m->per_second[k];
    fprintf(f,
            "# HELP netc_queue_depth Requests waiting for the model.\n# TYPE netc_queue_depth gauge\n"
            "netc_queue_depth %d\n"
            "# HELP netc_in_flight Requests begun and not yet answered.\n# TYPE netc_in_flight gauge\n"
            "netc_in_flight %d\n"
            "# HELP netc_images_total Images run through the model.\n# TYPE netc_images_total counter\n"
            "netc_images_total %llu\n"
            "# HELP netc_images_per_second Images per second over the last %d whole seconds.\n"
            "# TYPE netc_images_per_second gauge\nnetc_images_per_second %.2f\n",
            m->queue_depth, m->in_flight, (unsigned long long)m->images, METRICS_WINDOW,
            (double)recent / METRICS_WINDOW);
    pthread_mutex_unlock(&m->mu);
}
