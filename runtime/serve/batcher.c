/* batcher.c — the queue and the compute thread.  The thread is the only one
 * that touches the bundle's arenas and the base engine's buffers, so views of
 * the engine can share them. */
#include "runtime/serve/batcher.h"

#include <omp.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "runtime/kernels.h"

struct Batcher {
    Server *s;
    pthread_mutex_t mu;
    pthread_cond_t work; /* a job was queued, or stop */
    Job *head, *tail;
    int depth, busy, stop, threads;
    pthread_t thread;
    NcImageLoader *loader;
};

static void deadline_at(struct timespec *ts, double t) {
    ts->tv_sec = (time_t)t;
    ts->tv_nsec = (long)((t - (double)ts->tv_sec) * 1e9);
}

/* Queued jobs that would join the head's batch: same kind and key, in order, up to max images. */
static int companions(const Batcher *bt, int max, int *images) {
    int k = 0, m = 0;
    for (const Job *j = bt->head; j; j = j->next) {
        if (j->kind != bt->head->kind || j->key != bt->head->key) continue;
        if (k && m + j->n > max) break;
        m += j->n, k++;
    }
    *images = m;
    return k;
}

static void run_tensors(Batcher *bt, Job **jobs, int k) {
    const NcBundle *b = bt->s->b;
    Engine *en = &bt->s->base;
    const int p = jobs[0]->program;
    const NcProgramHeader *h = b->programs[p].h;
    const int64_t per = 3LL * h->height * h->width, C = en->nclasses;
    const int64_t F = b->h->members[h->member].nfeatures;
    int m = 0;
    for (int i = 0; i < k; i++) {
        memcpy(en->x + m * per, jobs[i]->x, (size_t)(jobs[i]->n * per) * sizeof(float));
        m += jobs[i]->n;
    }
    memset(en->x + m * per, 0, (size_t)((h->batch - m) * per) * sizeof(float));
    nc_bundle_run(b, p, en->x, en->y, en->arena[p]);
    const float *f = F ? nc_bundle_features(b, p, en->arena[p]) : NULL;
    for (int i = 0, at = 0; i < k; at += jobs[i]->n, i++) {
        memcpy(jobs[i]->logits, en->y + at * C, (size_t)(jobs[i]->n * C) * sizeof(float));
        if (jobs[i]->features && f) memcpy(jobs[i]->features, f + at * F, (size_t)(jobs[i]->n * F) * sizeof(float));
    }
}

static void run_images(Batcher *bt, Job **jobs, int k, int m) {
    Engine *base = &bt->s->base;
    float *in[NC_BUNDLE_MAX_PROGRAMS] = {0};
    for (int t = 0; t < base->ntf; t++) {
        const size_t per = 3 * (size_t)base->tf[t].height * (size_t)base->tf[t].width;
        in[t] = nc_malloc((size_t)m * per * sizeof(float) + 1);
        for (int i = 0, at = 0; i < k; at += jobs[i]->n, i++)
            memcpy(in[t] + (size_t)at * per, jobs[i]->bufs[t], (size_t)jobs[i]->n * per * sizeof(float));
    }
    Engine *v = &jobs[0]->view;
    const int C = v->nclasses, F = v->nfeatures;
    const int feats = jobs[0]->feats != NULL;
    float *scores = nc_malloc((size_t)m * (size_t)C * sizeof(float));
    float *fo = feats ? nc_malloc((size_t)m * (size_t)F * sizeof(float) + 1) : NULL;
    engine_run(v, in, m, scores, fo);
    for (int i = 0, at = 0; i < k; at += jobs[i]->n, i++) {
        memcpy(jobs[i]->scores, scores + (size_t)at * C, (size_t)jobs[i]->n * (size_t)C * sizeof(float));
        if (feats) memcpy(jobs[i]->feats, fo + (size_t)at * F, (size_t)jobs[i]->n * (size_t)F * sizeof(float));
    }
    for (int t = 0; t < base->ntf; t++) free(in[t]);
    free(scores);
    free(fo);
}

static void *compute_main(void *arg) {
    Batcher *bt = arg;
    omp_set_num_threads(bt->threads); /* a new thread starts from OMP_NUM_THREADS, not from main's setting */
    const int max = bt->s->o.max_batch;
    Job **jobs = nc_malloc((size_t)max * sizeof(Job *) + sizeof(Job *));
    pthread_mutex_lock(&bt->mu);
    for (;;) {
        while (!bt->head && !bt->stop) pthread_cond_wait(&bt->work, &bt->mu);
        if (!bt->head) break;
        /* the head waits for company until the batch is full or its delay is over */
        const double until = bt->head->queued + bt->s->o.max_delay_ms * 1e-3;
        int m, k = companions(bt, max, &m);
        while (m < max && !bt->stop && nc_now() < until) {
            struct timespec ts;
            deadline_at(&ts, until);
            pthread_cond_timedwait(&bt->work, &bt->mu, &ts);
            k = companions(bt, max, &m);
        }
        /* take them out of the queue */
        const Job *head = bt->head;
        const JobKind kind = head->kind;
        const uint64_t key = head->key;
        int taken = 0;
        for (Job **pp = &bt->head, *prev = NULL; *pp && taken < k;) {
            Job *j = *pp;
            if (j->kind == kind && j->key == key) {
                jobs[taken++] = j;
                *pp = j->next;
                if (bt->tail == j) bt->tail = prev;
            } else {
                prev = j;
                pp = &j->next;
            }
        }
        bt->depth -= taken;
        bt->busy = 1;
        metrics_gauges(&bt->s->metrics, bt->depth, atomic_load(&bt->s->in_flight));
        pthread_mutex_unlock(&bt->mu);
        for (int i = 0; i < taken; i++)
            if (jobs[i]->decode) nc_image_batch_wait(jobs[i]->decode), jobs[i]->decode = NULL;
        if (kind == JOB_TENSOR)
            run_tensors(bt, jobs, taken);
        else
            run_images(bt, jobs, taken, m);
        metrics_batch(&bt->s->metrics, m);
        for (int i = 0; i < taken; i++) jobs[i]->batch_images = m, jobs[i]->done(jobs[i]);
        pthread_mutex_lock(&bt->mu);
        bt->busy = 0;
    }
    pthread_mutex_unlock(&bt->mu);
    free(jobs);
    return NULL;
}

int batcher_open(Batcher **out, Server *s, NcError *e) {
    Batcher *bt = nc_calloc(1, sizeof *bt);
    bt->s = s;
    bt->threads = s->o.compute_threads;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* deadlines are nc_now() times */
    pthread_cond_init(&bt->work, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&bt->mu, NULL);
    if (nc_image_loader_open(&bt->loader, s->o.decode_threads, s->base.ntf, s->base.tf, s->o.max_pixels, e)) {
        free(bt);
        return -1;
    }
    int rc = pthread_create(&bt->thread, NULL, compute_main, bt);
    if (rc) {
        nc_image_loader_close(bt->loader);
        free(bt);
        return nc_errorf(e, "cannot start the compute thread: %s", strerror(rc));
    }
    *out = bt;
    return 0;
}

int batcher_submit(Batcher *bt, Job *j) {
    pthread_mutex_lock(&bt->mu);
    if (bt->stop || bt->depth >= bt->s->o.queue) {
        pthread_mutex_unlock(&bt->mu);
        return -1;
    }
    j->queued = nc_now();
    j->next = NULL;
    if (j->kind == JOB_IMAGES)
        j->decode = nc_image_loader_submit_mem(bt->loader, j->data, j->lens, j->names, j->n, j->bufs, j->results);
    if (bt->tail)
        bt->tail->next = j;
    else
        bt->head = j;
    bt->tail = j;
    bt->depth++;
    metrics_gauges(&bt->s->metrics, bt->depth, atomic_load(&bt->s->in_flight));
    pthread_cond_broadcast(&bt->work);
    pthread_mutex_unlock(&bt->mu);
    return 0;
}

int batcher_depth(Batcher *bt) {
    pthread_mutex_lock(&bt->mu);
    int d = bt->depth;
    pthread_mutex_unlock(&bt->mu);
    return d;
}

int batcher_busy(Batcher *bt) {
    pthread_mutex_lock(&bt->mu);
    int d = bt->depth > 0 || bt->busy;
    pthread_mutex_unlock(&bt->mu);
    return d;
}

void batcher_close(Batcher *bt) {
    if (!bt || !bt->loader) return;
    pthread_mutex_lock(&bt->mu);
    bt->stop = 1; /* the thread still runs what is queued, then leaves */
    pthread_cond_broadcast(&bt->work);
    pthread_mutex_unlock(&bt->mu);
    pthread_join(bt->thread, NULL);
    nc_image_loader_close(bt->loader);
    bt->loader = NULL;
}

void batcher_free(Batcher *bt) {
    if (!bt) return;
    pthread_cond_destroy(&bt->work);
    pthread_mutex_destroy(&bt->mu);
    free(bt);
}
