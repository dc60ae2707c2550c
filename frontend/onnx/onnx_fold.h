/* onnx_fold.h — constant evaluation for the ONNX importer (fold.c). */
#ifndef NETC_ONNX_FOLD_H
#define NETC_ONNX_FOLD_H

#include "frontend/onnx/onnx_int.h"

typedef enum { OX_ADD, OX_SUB, OX_MUL, OX_DIV, OX_MAX, OX_MIN } OxBinary;
typedef enum { OX_CEIL, OX_FLOOR, OX_NEG } OxUnary;

/* axis in [-ndim, ndim) to [0, ndim); an error names it otherwise. */
int ox_norm_axis(Ox *X, int64_t axis, int ndim);
/* NumPy broadcasting of two shapes. */
void ox_broadcast_shape(Ox *X, int na, const int64_t *a, int nb, const int64_t *b, int *nd, int64_t *out);
void ox_fold_binary(Ox *X, OxBinary op, const OxTensor *a, const OxTensor *b, OxTensor *out);
void ox_fold_unary(Ox *X, OxUnary op, const OxTensor *a, OxTensor *out);
void ox_fold_clip(Ox *X, const OxTensor *a, double lo, double hi, OxTensor *out);
void ox_fold_cast(Ox *X, const OxTensor *a, int to_int, OxTensor *out);
void ox_fold_gather(Ox *X, const OxTensor *data, const OxTensor *idx, int axis, OxTensor *out);
void ox_fold_concat(Ox *X, const OxTensor *const *in, int n, int axis, OxTensor *out);
void ox_fold_slice(Ox *X, const OxTensor *data, const int64_t *starts, const int64_t *ends, const int64_t *axes,
                   const int64_t *steps, int n, OxTensor *out);
/* out = a.transpose(perm), perm a permutation of a's axes. */
void ox_fold_transpose(Ox *X, const OxTensor *a, const int *perm, OxTensor *out);
/* Reshape's target: 0 copies the input's dimension (unless allowzero), -1 is inferred.  Returns its rank. */
int ox_reshape_sizes(Ox *X, int nd, const int64_t *in, const OxTensor *spec, int allowzero, int64_t *out);

#endif
