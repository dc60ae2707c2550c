/* plan.h — the low-level, memory-planned form of a graph: where every value
 * lives in one arena.  passes/plan_memory.c computes it; the interpreter
 * (ir/interp.c) checks it by running in it, and codegen lays out bundles by it. */
#ifndef NETC_PLAN_H
#define NETC_PLAN_H

#include "ir/ir.h"

typedef struct NcPlan {
    int64_t *offset;      /* per value: byte offset in the arena, or -1 (inputs, params) */
    int *alias_of;        /* per value: the value whose storage it shares, or itself */
    int64_t arena_bytes;  /* the planned arena */
    int64_t naive_bytes;  /* the sum of every intermediate */
    int64_t peak_live;    /* the largest sum of live storages (a lower bound for any plan) */
    int inplace, aliased; /* how many values reuse their input's storage */
} NcPlan;

void nc_plan_free(NcPlan *plan);

#endif
