/* loader.h — decode + transform image files on a pool of worker threads
 * into the caller's batch buffers, in order, with a status per file.
 *
 * A batch is queued with nc_image_loader_submit and returns at once; the
 * workers take its files one at a time (batches in the order they were
 * submitted) and write image i into outs[t] + i * 3 * H_t * W_t for every
 * transform t, so one decode can feed several resolutions. A file that fails
 * gets ok = 0 and its message in results[i].err ("path: truncated JPEG ..."),
 * its slots are zero-filled, and the rest of the batch goes on.
 * nc_image_batch_wait blocks until the batch is complete. For double
 * buffering, submit batch k+1 into a second buffer before computing on batch
 * k:
 *
 *     NcImageBatch *next = nc_image_loader_submit(l, paths0, n0, bufA, resA);
 *     for (k = 0; ...; k++) {
 *         nc_image_batch_wait(next);                       // batch k ready in A
 *         next = nc_image_loader_submit(l, paths(k+1), n, bufB, resB);
 *         compute(bufA); swap(A, B);                       // overlaps decode of k+1
 *     }
 *
 * paths, outs (and the buffers they point to) and results must stay valid
 * until the batch has been waited for. Every submitted batch must be waited
 * for exactly once (that frees it), before nc_image_loader_close.
 */
#ifndef NETC_IMAGE_LOADER_H
#define NETC_IMAGE_LOADER_H

#include <stdint.h>

#include "runtime/support/base.h"
#include "runtime/image/augment.h"
#include "runtime/image/transform.h"

#define NC_LOADER_MAX_TRANSFORMS 8
#define NC_LOADER_MAX_THREADS    256

typedef struct {
    int ok;            /* 1: decoded and transformed; 0: failed, see err */
    int width, height; /* the decoded image (after EXIF orientation); 0 on failure */
    NcError err;       /* on failure: "path: reason" */
} NcImageResult;

typedef struct NcImageLoader NcImageLoader;
typedef struct NcImageBatch NcImageBatch;

/* Start `threads` workers (1..NC_LOADER_MAX_THREADS) that apply the given
 * transforms (1..NC_LOADER_MAX_TRANSFORMS, copied) to every file, refusing
 * images over max_pixels (<= 0: NC_IMAGE_MAX_PIXELS_DEFAULT). */
int nc_image_loader_open(NcImageLoader **out, int threads, int ntransforms, const NcTransform *transforms,
                         int64_t max_pixels, NcError *e);

/* Queue n files (n >= 0). outs[t] holds n * 3 * transforms[t].height *
 * transforms[t].width floats; results holds n entries. Never blocks. */
NcImageBatch *nc_image_loader_submit(NcImageLoader *l, const char *const *paths, int n, float *const *outs,
                                     NcImageResult *results);

/* The same for n images held in memory: data[i] (lens[i] bytes) decoded as
 * a file's content would be, names[i] used in messages ("part 2: truncated
 * JPEG ..."). data, lens and names must stay valid until the batch has been
 * waited for. */
NcImageBatch *nc_image_loader_submit_mem(NcImageLoader *l, const uint8_t *const *data, const size_t *lens,
                                         const char *const *names, int n, float *const *outs, NcImageResult *results);

/* Training: n files each decoded and augmented (augment.h) with its own
 * seeds[i] into out + i * 3 * H * W, H x W the first transform's size (which
 * must be the augmentation's output size). a, seeds and out must stay valid
 * until the batch has been waited for. The bytes depend on the seeds alone,
 * whatever the number of threads. */
NcImageBatch *nc_image_loader_submit_aug(NcImageLoader *l, const char *const *paths, int n, const NcAugment *a,
                                         const uint64_t *seeds, float *out, NcImageResult *results);

/* Run the workers at this nice value (Linux; from their next file on), so
 * that a compute thread pool sharing the cores is not starved by them. */
void nc_image_loader_set_nice(NcImageLoader *l, int nice);

/* 1 when every file of the batch is done (non-blocking). */
int nc_image_batch_done(NcImageBatch *b);

/* Wait for the batch, free it, and return how many of its files failed. */
int nc_image_batch_wait(NcImageBatch *b);

/* submit + wait. */
int nc_image_loader_run(NcImageLoader *l, const char *const *paths, int n, float *const *outs, NcImageResult *results);

/* Stop the workers and free the loader (NULL is fine). All batches must have
 * been waited for. */
void nc_image_loader_close(NcImageLoader *l);

#endif
