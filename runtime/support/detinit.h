/* detinit.h — the deterministic initialiser: every parameter of a model and
 * the model input get values that depend only on the tensor's timm name, its
 * shape and the element index, with identical float32 bits in C (here) and in
 * Python (tools/detinit.py).  It replaces pretrained weights in conformance
 * tests: netc and timm both fill from this recipe, and their logits must agree.
 *
 * The contract (all integer arithmetic mod 2^64, all floating point in IEEE
 * double, in exactly this order, rounded once to float32 at the end):
 *   fnv1a64(name): h = 0xcbf29ce484222325; per UTF-8 byte b: h ^= b; h *= 0x100000001b3
 *   mix(x):        z = x + 0x9E3779B97F4A7C15; z = (z ^ z>>30) * 0xBF58476D1CE4E5B9;
 *                  z = (z ^ z>>27) * 0x94D049BB133111EB; return z ^ z>>31
 *   u(name, i):    h = mix(fnv1a64(name) + i * 0x9E3779B97F4A7C15);
 *                  v = (double)(h >> 40) * 2^-24 * 2.0 - 1.0          (v in [-1, 1))
 *   element i (row-major) of parameter `name`, shape S:
 *     ndim >= 2                        v * sqrt(3.0 / fan_in), fan_in = prod(S[1:])
 *     ndim <= 1, name ends .running_var  1.0 + 0.2 * v
 *     ndim <= 1, name ends .running_mean 0.1 * v
 *     ndim <= 1, name ends .weight       1.0 + 0.2 * v   (BN gamma)
 *     ndim <= 1, anything else           0.1 * v         (.bias, ...)
 *   "num_batches_tracked" buffers (int64) are not filled.
 *   model input ("det:input"): element i of the flattened NCHW batch = u("input", i).
 */
#ifndef NETC_DETINIT_H
#define NETC_DETINIT_H

#include <stddef.h>
#include <stdint.h>

/* FNV-1a 64 of the bytes of a NUL-terminated (UTF-8) string. */
uint64_t nc_det_fnv1a64(const char *name);

/* SplitMix64 finaliser. */
uint64_t nc_det_mix(uint64_t x);

/* u(name, i) with key = nc_det_fnv1a64(name): a double in [-1, 1), a multiple
 * of 2^-23, so exact in float too. */
double nc_det_uniform(uint64_t key, uint64_t i);

/* 1 if `name` ends with "num_batches_tracked" (such buffers are not filled). */
int nc_det_is_skipped(const char *name);

/* Fill all prod(shape) elements of parameter/buffer `name` (ndim 0 means one
 * element).  Does nothing for num_batches_tracked.  Parallel (OpenMP). */
void nc_det_fill_param(const char *name, int ndim, const int64_t *shape, float *dst);

/* The model input: dst[i] = u("input", i) for i < n (whole NCHW batch). */
void nc_det_fill_input(float *dst, size_t n);

#endif
