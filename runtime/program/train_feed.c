/* train_feed.c — the training batches, decoded and augmented ahead of the
 * step on the loader's worker threads.
 *
 * A ring of prefetch + 1 batch buffers: the step computes on one while the
 * workers fill the others, in order. Which images a batch holds comes from
 * the sampler's order of its epoch (seed, epoch); how each is augmented from
 * its own seed (seed, epoch, position in the epoch) — so the bytes of every
 * batch are the same whatever the number of workers, the prefetch depth, or
 * where a resumed run started. */
#include <stdlib.h>
#include <string.h>

#include "runtime/program/train.h"

static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint64_t train_seed(uint64_t seed, uint64_t tag, int64_t a, int64_t b) {
    uint64_t x = mix64(seed + 0x9E3779B97F4A7C15ull * (tag + 1));
    x = mix64(x ^ ((uint64_t)a + 0x632BE59BD9B4E019ull));
    return mix64(x ^ ((uint64_t)b + 0x8CB92BA72F3D8DD7ull));
}

/* Queue batch (pe, pb) into slot s and advance; nothing when the epochs are over. */
static void submit(TrainFeed *f, TrainFeedSlot *s) {
    s->pending = NULL;
    if (f->pe >= f->epochs) return;
    if (f->order_epoch != f->pe) {
        nc_sampler_order(f->sampler, f->order, f->data->path.len, f->data->label.data, f->K, f->seed, f->pe);
        f->order_epoch = f->pe;
    }
    for (int i = 0; i < f->B; i++) {
        const int64_t pos = f->pb * f->B + i, j = f->order[pos];
        s->paths[i] = f->data->path.data[j], s->labels[i] = f->data->label.data[j];
        s->seeds[i] = train_seed(f->seed, TRAIN_SEED_AUGMENT, f->pe, pos);
    }
    s->epoch = f->pe, s->batch = f->pb;
    if (f->aug)
        s->pending = nc_image_loader_submit_aug(f->ld, s->paths, f->B, f->aug, s->seeds, s->x, s->res);
    else {
        float *outs[1] = {s->x};
        s->pending = nc_image_loader_submit(f->ld, s->paths, f->B, outs, s->res);
    }
    if (++f->pb == f->nb) f->pe++, f->pb = 0;
}

void train_feed_open(TrainFeed *f, NcImageLoader *ld, const FileList *data, const NcAugment *aug, NcSampler sampler,
                     int K, int B, int64_t per, int64_t epochs, uint64_t seed, int prefetch, int64_t epoch,
                     int64_t batch) {
    memset(f, 0, sizeof *f);
    f->ld = ld, f->data = data, f->aug = aug, f->sampler = sampler, f->K = K, f->B = B, f->per = per;
    f->nb = data->path.len / B, f->epochs = epochs, f->seed = seed;
    f->pe = epoch, f->pb = batch, f->order_epoch = -1;
    f->order = nc_malloc((size_t)data->path.len * sizeof(int64_t));
    f->nslots = prefetch + 1;
    f->slot = nc_calloc((size_t)f->nslots, sizeof *f->slot);
    for (int k = 0; k < f->nslots; k++) {
        TrainFeedSlot *s = &f->slot[k];
        s->x = nc_aligned_alloc((size_t)(per * B) * sizeof(float));
        s->labels = nc_calloc((size_t)B, sizeof(int));
        s->paths = nc_calloc((size_t)B, sizeof(char *));
        s->seeds = nc_calloc((size_t)B, sizeof(uint64_t));
        s->res = nc_calloc((size_t)B, sizeof(NcImageResult));
        submit(f, s);
    }
}

TrainFeedSlot *train_feed_next(TrainFeed *f) {
    if (f->last) submit(f, f->last); /* the step is done with it */
    f->last = NULL;
    TrainFeedSlot *s = &f->slot[f->head];
    if (!s->pending) return NULL;
    const double t0 = nc_now();
    s->failed = nc_image_batch_wait(s->pending);
    f->wait_seconds += nc_now() - t0;
    s->pending = NULL;
    f->head = (f->head + 1) % f->nslots;
    f->last = s;
    return s;
}

void train_feed_release(TrainFeed *f) {
    if (f->last) submit(f, f->last);
    f->last = NULL;
}

void train_feed_close(TrainFeed *f) {
    for (int k = 0; k < f->nslots; k++) {
        TrainFeedSlot *s = &f->slot[k];
        if (s->pending) nc_image_batch_wait(s->pending);
        free(s->x), free(s->labels), free(s->paths), free(s->seeds), free(s->res);
    }
    free(f->slot);
    free(f->order);
    memset(f, 0, sizeof *f);
}
