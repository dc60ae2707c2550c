/* loader.c — the worker pool of loader.h: one mutex, one queue
 * of batches, one condition for "work queued" and one for "item done". */
#include "runtime/image/loader.h"

#include <pthread.h>
#include <string.h>
#ifdef __linux__
#include <sys/resource.h>
#endif

struct NcImageBatch {
    NcImageLoader *loader;
    const char *const *paths;
    const uint8_t *const *data; /* in-memory images (nc_image_loader_submit_mem), else NULL */
    const size_t *lens;
    const NcAugment *aug;  /* augmented batch (nc_image_loader_submit_aug), else NULL */
    const uint64_t *seeds; /* its per-image seeds */
    float *outs[NC_LOADER_MAX_TRANSFORMS];
    NcImageResult *results;
    int n;
    int next;            /* next file to hand out */
    int done;            /* files finished */
    int failed;          /* of those, failed */
    NcImageBatch *qnext; /* in the loader's queue while next < n */
};

struct NcImageLoader {
    pthread_mutex_t mu;
    pthread_cond_t work; /* a batch was queued, or stop */
    pthread_cond_t done; /* a file was finished */
    NcImageBatch *head, *tail;
    int stop;
    int outstanding; /* batches submitted and not yet waited for */
    int nthreads;
    pthread_t *threads;
    int ntransforms;
    NcTransform transforms[NC_LOADER_MAX_TRANSFORMS];
    int64_t max_pixels;
    int nice; /* the workers' nice value (nc_image_loader_set_nice) */
};

static void process(NcImageLoader *l, NcImageBatch *b, int i) {
    NcImageResult *r = &b->results[i];
    memset(r, 0, sizeof *r);
    NcImage img;
    int ok = b->data ? nc_image_decode(b->data[i], b->lens[i], b->paths[i], l->max_pixels, &img, &r->err) == 0
                     : nc_image_read(b->paths[i], l->max_pixels, &img, &r->err) == 0;
    if (ok) {
        r->width = img.width;
        r->height = img.height;
        if (b->aug) { /* one output: the augmentation's, of the first transform's size */
            const NcTransform *tr = &l->transforms[0];
            size_t per = (size_t)3 * tr->height * tr->width;
            if (nc_augment_apply(b->aug, &img, b->seeds[i], b->outs[0] + per * (size_t)i, &r->err) != 0) {
                nc_error_prefix(&r->err, "%s", b->paths[i]);
                ok = 0;
            }
        }
        for (int t = 0; t < l->ntransforms && ok && !b->aug; t++) {
            const NcTransform *tr = &l->transforms[t];
            size_t per = (size_t)3 * tr->height * tr->width;
            if (nc_image_transform(&img, tr, b->outs[t] + per * (size_t)i, &r->err) != 0) {
                nc_error_prefix(&r->err, "%s", b->paths[i]);
                ok = 0;
            }
        }
        nc_image_free(&img);
    }
    r->ok = ok;
    if (!ok) {
        r->width = r->height = 0;
        for (int t = 0; t < (b->aug ? 1 : l->ntransforms); t++) {
            const NcTransform *tr = &l->transforms[t];
            size_t per = (size_t)3 * tr->height * tr->width;
            memset(b->outs[t] + per * (size_t)i, 0, per * sizeof(float));
        }
    }
}

static void *worker(void *arg) {
    NcImageLoader *l = arg;
    int nice = 0;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        while (!l->head && !l->stop) pthread_cond_wait(&l->work, &l->mu);
        if (!l->head) break; /* stop, and nothing left */
#ifdef __linux__
        if (nice != l->nice) { /* Linux gives each thread its own nice value: 0 is the calling thread */
            nice = l->nice;
            setpriority(PRIO_PROCESS, 0, nice);
        }
#endif
        NcImageBatch *b = l->head;
        int i = b->next++;
        if (b->next == b->n) { /* all handed out: leave the queue */
            l->head = b->qnext;
            if (!l->head) l->tail = NULL;
            b->qnext = NULL;
        }
        pthread_mutex_unlock(&l->mu);
        process(l, b, i);
        pthread_mutex_lock(&l->mu);
        b->failed += !b->results[i].ok;
        b->done++;
        if (b->done == b->n) pthread_cond_broadcast(&l->done);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

int nc_image_loader_open(NcImageLoader **out, int threads, int ntransforms, const NcTransform *transforms,
                         int64_t max_pixels, NcError *e) {
    *out = NULL;
    if (threads < 1 || threads > NC_LOADER_MAX_THREADS)
        return nc_errorf(e, "image loader: %d worker threads (expected 1..%d)", threads, NC_LOADER_MAX_THREADS);
    if (ntransforms < 1 || ntransforms > NC_LOADER_MAX_TRANSFORMS)
        return nc_errorf(e, "image loader: %d transforms (expected 1..%d)", ntransforms, NC_LOADER_MAX_TRANSFORMS);
    for (int t = 0; t < ntransforms; t++)
        if (nc_transform_check(&transforms[t], e) != 0) return -1;
    NcImageLoader *l = nc_calloc(1, sizeof *l);
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->work, NULL);
    pthread_cond_init(&l->done, NULL);
    l->ntransforms = ntransforms;
    memcpy(l->transforms, transforms, sizeof *transforms * (size_t)ntransforms);
    l->max_pixels = max_pixels > 0 ? max_pixels : NC_IMAGE_MAX_PIXELS_DEFAULT;
    l->threads = nc_calloc((size_t)threads, sizeof(pthread_t));
    for (int i = 0; i < threads; i++) {
        int rc = pthread_create(&l->threads[i], NULL, worker, l);
        if (rc != 0) {
            nc_errorf(e, "image loader: cannot start worker thread %d: %s", i + 1, strerror(rc));
            nc_image_loader_close(l);
            return -1;
        }
        l->nthreads++;
    }
    *out = l;
    return 0;
}

/* Counts the batch as outstanding and queues it for the workers (when it has files). */
static NcImageBatch *enqueue(NcImageLoader *l, NcImageBatch *b) {
    pthread_mutex_lock(&l->mu);
    l->outstanding++;
    if (b->n > 0) {
        if (l->tail)
            l->tail->qnext = b;
        else
            l->head = b;
        l->tail = b;
        pthread_cond_broadcast(&l->work);
    }
    pthread_mutex_unlock(&l->mu);
    return b;
}

static NcImageBatch *new_batch(NcImageLoader *l, const char *const *names, int n, float *const *outs,
                               NcImageResult *results) {
    NC_CHECK(l && n >= 0 && (n == 0 || (names && outs && results)));
    NcImageBatch *b = nc_calloc(1, sizeof *b);
    b->loader = l;
    b->paths = names;
    b->results = results;
    b->n = n;
    for (int t = 0; t < l->ntransforms && n > 0; t++) b->outs[t] = outs[t];
    return b;
}

NcImageBatch *nc_image_loader_submit(NcImageLoader *l, const char *const *paths, int n, float *const *outs,
                                     NcImageResult *results) {
    return enqueue(l, new_batch(l, paths, n, outs, results));
}

NcImageBatch *nc_image_loader_submit_mem(NcImageLoader *l, const uint8_t *const *data, const size_t *lens,
                                         const char *const *names, int n, float *const *outs, NcImageResult *results) {
    NC_CHECK(n == 0 || (data && lens));
    NcImageBatch *b = new_batch(l, names, n, outs, results);
    b->data = data, b->lens = lens;
    return enqueue(l, b);
}

NcImageBatch *nc_image_loader_submit_aug(NcImageLoader *l, const char *const *paths, int n, const NcAugment *a,
                                         const uint64_t *seeds, float *out, NcImageResult *results) {
    NC_CHECK(a && (n == 0 || seeds));
    float *outs[NC_LOADER_MAX_TRANSFORMS] = {out};
    NcImageBatch *b = new_batch(l, paths, n, outs, results);
    b->aug = a, b->seeds = seeds;
    return enqueue(l, b);
}

void nc_image_loader_set_nice(NcImageLoader *l, int nice) {
    pthread_mutex_lock(&l->mu);
    l->nice = nice;
    pthread_mutex_unlock(&l->mu);
}

int nc_image_batch_done(NcImageBatch *b) {
    NcImageLoader *l = b->loader;
    pthread_mutex_lock(&l->mu);
    int d = b->done == b->n;
    pthread_mutex_unlock(&l->mu);
    return d;
}

int nc_image_batch_wait(NcImageBatch *b) {
    NcImageLoader *l = b->loader;
    pthread_mutex_lock(&l->mu);
    while (b->done < b->n) pthread_cond_wait(&l->done, &l->mu);
    int failed = b->failed;
    l->outstanding--;
    pthread_mutex_unlock(&l->mu);
    free(b);
    return failed;
}

int nc_image_loader_run(NcImageLoader *l, const char *const *paths, int n, float *const *outs, NcImageResult *results) {
    return nc_image_batch_wait(nc_image_loader_submit(l, paths, n, outs, results));
}

void nc_image_loader_close(NcImageLoader *l) {
    if (!l) return;
    pthread_mutex_lock(&l->mu);
    NC_CHECK(l->outstanding == 0); /* a batch was submitted and never waited for */
    l->stop = 1;
    pthread_cond_broadcast(&l->work);
    pthread_mutex_unlock(&l->mu);
    for (int i = 0; i < l->nthreads; i++) pthread_join(l->threads[i], NULL);
    pthread_cond_destroy(&l->work);
    pthread_cond_destroy(&l->done);
    pthread_mutex_destroy(&l->mu);
    free(l->threads);
    free(l);
}
