/* metrics.h — what /metrics reports, in Prometheus' text format: requests
 * and errors by route and status, latency and batch-size histograms, queue
 * depth, images done and images/s over the last 10 s. */
#ifndef NETC_SERVE_METRICS_H
#define NETC_SERVE_METRICS_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

typedef enum Route {
    ROUTE_LIVE,
    ROUTE_READY,
    ROUTE_SERVER_META,
    ROUTE_MODEL_META,
    ROUTE_MODEL_READY,
    ROUTE_INFER,
    ROUTE_CLASSIFY,
    ROUTE_FEATURES,
    ROUTE_METRICS,
    ROUTE_UNKNOWN,
    ROUTE_COUNT
} Route;

#define METRICS_STATUSES      12
#define METRICS_LAT_BUCKETS   14
#define METRICS_BATCH_BUCKETS 10
#define METRICS_WINDOW        10 /* seconds of images/s */

typedef struct Metrics {
    pthread_mutex_t mu;
    uint64_t requests[ROUTE_COUNT][METRICS_STATUSES];
    uint64_t lat[ROUTE_COUNT][METRICS_LAT_BUCKETS + 1]; /* cumulative per bucket at print time; +Inf last */
    double lat_sum[ROUTE_COUNT];
    uint64_t batch[METRICS_BATCH_BUCKETS + 1], batches, batch_images;
    uint64_t images;
    int64_t second[METRICS_WINDOW]; /* which second each slot counts */
    uint64_t per_second[METRICS_WINDOW];
    int queue_depth, in_flight;
} Metrics;

void metrics_init(Metrics *m);
void metrics_free(Metrics *m);
const char *route_name(Route r);
/* One request finished: its route, status, and seconds from first byte to response. */
void metrics_request(Metrics *m, Route r, int status, double seconds);
/* One run of the model on `images` images. */
void metrics_batch(Metrics *m, int images);
void metrics_gauges(Metrics *m, int queue_depth, int in_flight);
/* The whole exposition, into f. */
void metrics_print(Metrics *m, FILE *f);

#endif
