/* device_cudnn.h — cuDNN's convolutions (forward, input and weight gradients,
 * device.h's NcDevConv) for the CUDA device
 * (device_cuda.c), reached through dlopen("libcudnn.so.9") like cuBLAS, so
 * that netc neither builds nor runs against it. */
#ifndef NETC_DEVICE_CUDNN_H
#define NETC_DEVICE_CUDNN_H

#include "runtime/device/device.h"

typedef struct NcCudnn NcCudnn;

/* cuDNN on device d's stream (a CUstream); NULL with the reason where
 * libcudnn.so.9 (NETC_CUDNN_LIB names another) cannot be loaded or started. */
NcCudnn *nc_cudnn_open(NcDevice *d, void *stream, NcError *e);
void nc_cudnn_close(NcCudnn *c);
/* Descriptors and the fastest algorithm for c (cuDNN's own timing, within a
 * fixed workspace), once per shape: outside any graph capture. */
int nc_cudnn_prepare(NcCudnn *cd, const NcDevConv *c, float *x, float *w, float *y, NcError *e);
int nc_cudnn_conv(NcCudnn *cd, const NcDevConv *c, float *x, float *w, float *y, NcError *e);

#endif
