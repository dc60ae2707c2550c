/* ref_train_pending.c — TEMPORARY: the training ops' reference kernels are being written
 * (ir/ref_train.c, ir/ref_grad_*.c); until then each stops the program. */
#include "ir/ops.h"

void nc_ref_batch_norm_train(const NcKernelArgs *k) { (void)k; NC_FATAL("batch_norm_train: reference kernel not written yet"); }
void nc_ref_dropout(const NcKernelArgs *k) { (void)k; NC_FATAL("dropout: reference kernel not written yet"); }
void nc_ref_cross_entropy(const NcKernelArgs *k) { (void)k; NC_FATAL("cross_entropy: reference kernel not written yet"); }
void nc_ref_zeros(const NcKernelArgs *k) { (void)k; NC_FATAL("zeros: reference kernel not written yet"); }
void nc_ref_sum_to(const NcKernelArgs *k) { (void)k; NC_FATAL("sum_to: reference kernel not written yet"); }
void nc_ref_act_grad(const NcKernelArgs *k) { (void)k; NC_FATAL("act_grad: reference kernel not written yet"); }
void nc_ref_conv2d_grad_input(const NcKernelArgs *k) { (void)k; NC_FATAL("conv2d_grad_input: reference kernel not written yet"); }
void nc_ref_conv2d_grad_weight(const NcKernelArgs *k) { (void)k; NC_FATAL("conv2d_grad_weight: reference kernel not written yet"); }
void nc_ref_linear_grad_input(const NcKernelArgs *k) { (void)k; NC_FATAL("linear_grad_input: reference kernel not written yet"); }
void nc_ref_linear_grad_weight(const NcKernelArgs *k) { (void)k; NC_FATAL("linear_grad_weight: reference kernel not written yet"); }
void nc_ref_batch_norm_train_grad(const NcKernelArgs *k) { (void)k; NC_FATAL("batch_norm_train_grad: reference kernel not written yet"); }
void nc_ref_max_pool2d_grad(const NcKernelArgs *k) { (void)k; NC_FATAL("max_pool2d_grad: reference kernel not written yet"); }
void nc_ref_avg_pool2d_grad(const NcKernelArgs *k) { (void)k; NC_FATAL("avg_pool2d_grad: reference kernel not written yet"); }
void nc_ref_global_avg_pool_grad(const NcKernelArgs *k) { (void)k; NC_FATAL("global_avg_pool_grad: reference kernel not written yet"); }
void nc_ref_softmax_grad(const NcKernelArgs *k) { (void)k; NC_FATAL("softmax_grad: reference kernel not written yet"); }
void nc_ref_radix_softmax_grad(const NcKernelArgs *k) { (void)k; NC_FATAL("radix_softmax_grad: reference kernel not written yet"); }
void nc_ref_radix_gap_grad(const NcKernelArgs *k) { (void)k; NC_FATAL("radix_gap_grad: reference kernel not written yet"); }
void nc_ref_radix_combine_grad(const NcKernelArgs *k) { (void)k; NC_FATAL("radix_combine_grad: reference kernel not written yet"); }
void nc_ref_cross_entropy_grad(const NcKernelArgs *k) { (void)k; NC_FATAL("cross_entropy_grad: reference kernel not written yet"); }
