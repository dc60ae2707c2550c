/* dev_exec.h — running a program compiled with `netc compile --target cuda`:
 * its forward passes go through the device layer (runtime/device/) instead
 * of the CPU kernels, by the steps codegen/cuda/ linked into it
 * (runtime/device/dev_program.h), behind the bundle's executor hook
 * (NcBundleExec), so every command runs as it does on the CPU. */
#ifndef NETC_APP_DEV_EXEC_H
#define NETC_APP_DEV_EXEC_H

#include "runtime/bundle.h"
#include "runtime/device/device.h"

/* The emulator's conv (and the stand-in cuDNN's): the interpreter's reference
 * conv behind the device layer's descriptor (dev_conv_ref.c). */
void nc_dev_exec_register_conv_reference(void);

/* Is this program compiled for a device (its steps linked in)? */
int nc_dev_exec_compiled(void);

/* On a device program: opens `device` ("emulate" or "cuda"; NULL: the one it
 * was compiled to open — `cuda`, or `emulate` with --emulate), uploads the
 * weights once and installs the executor in b.  On a CPU program: nothing,
 * unless a device was asked for.  Returns 0, or NC_EXIT_BADINPUT (an unknown
 * device; --device on a CPU program) / NC_EXIT_FAIL (the device cannot be
 * opened: "cannot use a GPU: ...") with the message in e.  prog names the
 * program in the messages of a device failing mid-run (exit 1). */
int nc_dev_exec_attach(NcBundle *b, const char *prog, const char *device, NcError *e);
/* The executor without a device (info): it names each node's strategy and
 * describes the program, but cannot run it.  Nothing on a CPU program. */
int nc_dev_exec_attach_tables(NcBundle *b, const char *prog, NcError *e);
void nc_dev_exec_detach(NcBundle *b);

/* train: the host's weights (updated by the optimizer, the running statistics, a checkpoint loaded) to the
 * device's copy, whole.  0, or -1 with the device's message in e.  Nothing on a CPU program. */
int nc_dev_exec_upload_weights(const NcBundle *b, NcError *e);

/* bench: a training step's results stay on the device (the whole arena is
 * downloaded after each step otherwise, for run --train to read: gigabytes
 * at a real batch, which would be timed with the step).  Nothing on a CPU
 * program. */
void nc_dev_exec_keep_on_device(const NcBundle *b);

/* train's optimizer on the device (dev_optim.h): the device (NULL on a CPU
 * program or without one attached), the device address of program p's value
 * v (a parameter in the device's weights, an intermediate in its arena), a
 * kernel of the program by name (NULL where it has none: a program compiled
 * before the optimizer's kernels existed), and a training step that leaves
 * its gradients on the device (the loss, logits and batch statistics are
 * still downloaded). */
NcDevice *nc_dev_exec_device(const NcBundle *b);
void *nc_dev_exec_value(const NcBundle *b, int p, int32_t v);
const NcDevKernel *nc_dev_exec_kernel(const char *name);
void nc_dev_exec_keep_grads(const NcBundle *b);

/* bench --per-kernel: the device steps (launches, GEMMs, convs) program p's
 * last run issued, and the init steps issued at load (dev_program.h: an
 * inference program's bf16 weights, stored once).  0 on a CPU program. */
int nc_dev_exec_steps(const NcBundle *b, int p, int64_t *per_run, int64_t *at_load);

/* Overlapped runs (classify, eval, features): while the device runs one batch, the host prepares the next
 * in pinned memory and its upload goes on the copy stream (runtime/device/device.h's streams), the compute
 * stream waiting for it; the output and features come down asynchronously.  NULL where the program is not a
 * device program, the device has no streams, NETC_DEV_OVERLAP=0 asks for the sequential runs, or
 * NETC_DEV_BISECT compares with the emulator.  Two slots (0, 1): input(slot) waits until the slot's last
 * upload has finished and gives its pinned input (the program's input, [batch, 3, H, W]); submit(p, slot)
 * queues program p's run on it and returns; finish(p, slot, output, arena) waits for that run and leaves its
 * output in output (or the arena, output NULL) and its features in the arena, as nc_bundle_run does.  A
 * slot's run must be finished before the slot is submitted again.  The same values as nc_bundle_run's. */
typedef struct NcDevPipe NcDevPipe;
NcDevPipe *nc_dev_pipe_open(const NcBundle *b);
void nc_dev_pipe_close(NcDevPipe *q);
float *nc_dev_pipe_input(NcDevPipe *q, int slot);
void nc_dev_pipe_submit(NcDevPipe *q, int p, int slot);
void nc_dev_pipe_finish(NcDevPipe *q, int p, int slot, float *output, void *arena);

/* The training step's feed (train on a device program): while the device runs step i, the host prepares batch
 * i + 1 in a slot's pinned buffer (input 0, the images) and its upload goes on the copy stream into the slot's
 * staging buffer; the step waits for that upload's event and copies it into the program's input on the device,
 * outside the captured graph.  NULL where nc_dev_pipe_open would be (not a device program, no streams,
 * NETC_DEV_OVERLAP=0, NETC_DEV_BISECT).  Two slots (0, 1): input(slot) waits until the slot's last upload has
 * read its buffer and gives it; upload(slot) queues its upload; submit(slot, inputs) queues inputs 1.. (the
 * targets, the seed: small, through pinned memory), the copy of the slot's batch and the step, and returns;
 * finish(arena) waits for the step and downloads what nc_bundle_run_inputs would (loss, logits, statistics).
 * A slot is uploaded again only after the step that read it was submitted.  The same values as
 * nc_bundle_run_inputs's. */
typedef struct NcDevTrainPipe NcDevTrainPipe;
NcDevTrainPipe *nc_dev_train_pipe_open(const NcBundle *b, int p);
void nc_dev_train_pipe_close(NcDevTrainPipe *q);
float *nc_dev_train_pipe_input(NcDevTrainPipe *q, int slot);
void nc_dev_train_pipe_upload(NcDevTrainPipe *q, int slot);
void nc_dev_train_pipe_submit(NcDevTrainPipe *q, int slot, const float *const *inputs);
void nc_dev_train_pipe_finish(NcDevTrainPipe *q, void *arena);

/* What the program runs on, for info: the device attached, or what it was
 * compiled for; NULL on a CPU program. */
const char *nc_dev_exec_describe(const NcBundle *b);

#endif
