/* plan_memory.c — static memory planning: every intermediate gets a byte
 * offset in one arena.
 *
 * 1. Storage sharing.  An elementwise op (per the op table's fusion class)
 *    whose input dies at that op writes over its input (in place); a reshape
 *    is a view of its input, and so are the outputs of a split whose pieces
 *    are contiguous (nothing before the axis but size-1 dimensions: a channel
 *    split at batch 1 costs no copy).  Values sharing storage form one group
 *    whose lifetime is the union of theirs; a
 *    split's pieces sit at their byte offsets inside it.
 *    Only values of one dtype share storage (a bf16 activation,
 *    ir.h, takes 2 bytes an element and is read by its own kernels alone).
 * 2. Lifetimes are [defining node, last reading node] in schedule order; graph
 *    outputs live to the end.
 * 3. Offsets: groups in decreasing size, each placed at the lowest 64-byte
 *    aligned offset that overlaps no already-placed group alive at the same
 *    time (greedy by size, as TFLite's planner does), so the arena is close
 *    to the peak of live bytes. */
#include <string.h>

#include "ir/ops.h"
#include "passes/pass.h"

#define ALIGN 64

typedef struct Group {
    int root; /* value id owning the storage */
    int64_t bytes;
    int first, last; /* node indices */
    int64_t offset;
} Group;

static int find(int *parent, int v) {
    while (parent[v] != v) v = parent[v] = parent[parent[v]];
    return v;
}

static int cmp_size(const void *a, const void *b) {
    const Group *x = a, *y = b;
    if (x->bytes != y->bytes) return x->bytes < y->bytes ? 1 : -1;
    return x->first - y->first;
}

/* Are a split's pieces contiguous runs of its input, each starting 64-byte
 * aligned (as every planned value does)? */
static int split_is_view(const NcGraph *g, const NcNode *n) {
    const NcValue *in = nc_val(g, n->inputs[0]);
    if (in->kind != NC_VAL_NODE || nc_is_nhwc(in) || in->dtype != NC_F32 || n->attrs.axis < 0 ||
        n->attrs.axis >= in->ndim)
        return 0;
    int64_t inner = 1;
    for (int d = 0; d < n->attrs.axis; d++)
        if (in->shape[d] != 1) return 0;
    for (int d = n->attrs.axis + 1; d < in->ndim; d++) inner *= in->shape[d];
    for (int j = 0; j < n->noutputs; j++)
        if ((n->attrs.sizes[j] * inner * (int64_t)sizeof(float)) % ALIGN) return 0;
    return 1;
}

int nc_plan_memory(const NcGraph *g, NcPlan *plan, FILE *explain, NcError *e) {
    memset(plan, 0, sizeof *plan);
    const int nv = g->values.len, nn = g->nodes.len;
    int *last = nc_malloc((size_t)nv * sizeof(int));
    int *parent = nc_malloc((size_t)nv * sizeof(int));
    int64_t *sub = nc_calloc((size_t)nv + 1, sizeof(int64_t)); /* bytes from the group's start */
    for (int i = 0; i < nv; i++) last[i] = -1, parent[i] = i;
    for (int ni = 0; ni < nn; ni++)
        for (int j = 0; j < g->nodes.data[ni].ninputs; j++) last[g->nodes.data[ni].inputs[j]] = ni;
    for (int i = 0; i < g->outputs.len; i++) last[g->outputs.data[i]] = nn;

    /* 1. sharing; a group's lifetime ends at the last use of any member, so
     *    in-place needs the whole group to die here, not just this member. */
    int *group_last = nc_malloc((size_t)nv * sizeof(int));
    for (int i = 0; i < nv; i++) group_last[i] = last[i];
    for (int ni = 0; ni < nn; ni++) {
        const NcNode *n = &g->nodes.data[ni];
        const NcOpInfo *info = nc_op_info(n->op);
        const NcValue *out = nc_val(g, n->outputs[0]);
        if (n->op == NC_OP_SPLIT && split_is_view(g, n)) {
            const NcValue *in = nc_val(g, n->inputs[0]);
            int root = find(parent, in->id);
            int64_t off = sub[in->id], inner = 1;
            for (int d = n->attrs.axis + 1; d < in->ndim; d++) inner *= in->shape[d];
            for (int j = 0; j < n->noutputs; j++) {
                parent[n->outputs[j]] = root;
                sub[n->outputs[j]] = off;
                off += n->attrs.sizes[j] * inner * (int64_t)sizeof(float);
                if (last[n->outputs[j]] > group_last[root]) group_last[root] = last[n->outputs[j]];
                plan->aliased++;
            }
            continue;
        }
        if (n->noutputs != 1) continue;
        if (n->op == NC_OP_RESHAPE && nc_val(g, n->inputs[0])->kind == NC_VAL_NODE &&
            nc_val(g, n->inputs[0])->dtype == out->dtype) {
            int root = find(parent, n->inputs[0]);
            parent[out->id] = root;
            sub[out->id] = sub[n->inputs[0]];
            if (last[out->id] > group_last[root]) group_last[root] = last[out->id];
            plan->aliased++;
            continue;
        }
        if (n->out_over > 0 && n->out_over <= n->ninputs) { /* a conv marked by epilogue_inplace */
            const int v = n->inputs[n->out_over - 1], root = find(parent, v);
            const NcValue *in = nc_val(g, v);
            int shared = 0; /* the operand's storage is also another input's: the kernel reads that after writing */
            for (int k = 0; k < n->ninputs; k++) shared |= k != n->out_over - 1 && find(parent, n->inputs[k]) == root;
            if (in->kind == NC_VAL_NODE && nc_shape_eq(in, out) && in->dtype == out->dtype && !shared &&
                group_last[root] == ni && sub[v] == 0 && nc_act_bytes(in) == nc_act_bytes(out)) {
                parent[out->id] = root;
                sub[out->id] = 0;
                group_last[root] = last[out->id];
                plan->inplace++;
            } else if (explain) {
                fprintf(explain, "plan: %s %s: not over its residual: %s\n", info->name, n->scope,
                        shared ? "the residual is also an input" : "the residual is read later");
            }
            continue;
        }
        if (info->fusion != NC_FUSE_ELEMWISE && info->fusion != NC_FUSE_BROADCAST) continue;
        /* only the op's own operands: an epilogue operand is read after the
           output is written, so the output must not overwrite it */
        const int nmain = n->attrs.nepi ? info->min_inputs : n->ninputs;
        for (int j = 0; j < nmain; j++) {
            const NcValue *in = nc_val(g, n->inputs[j]);
            if (in->kind != NC_VAL_NODE || !nc_shape_eq(in, out) || in->dtype != out->dtype) continue;
            /* nor may it overwrite an operand that is also an epilogue operand (x * hardsigmoid(x) fused reads x
               again after the first step) */
            int also_epi = 0;
            for (int k = nmain; k < n->ninputs; k++) also_epi |= find(parent, n->inputs[k]) == find(parent, in->id);
            if (also_epi) continue;
            int root = find(parent, in->id);
            if (group_last[root] != ni) {
                if (explain)
                    fprintf(explain, "plan: %s %s: not in place: its input is read later\n", info->name, n->scope);
                continue;
            }
            parent[out->id] = root;
            sub[out->id] = sub[in->id];
            group_last[root] = last[out->id];
            plan->inplace++;
            break;
        }
    }

    /* 2. groups with lifetimes */
    Group *groups = nc_calloc((size_t)nv + 1, sizeof(Group));
    int *gi = nc_malloc((size_t)nv * sizeof(int));
    int ng = 0;
    for (int i = 0; i < nv; i++) gi[i] = -1;
    for (int i = 0; i < nv; i++) {
        const NcValue *v = nc_val(g, i);
        if (v->kind != NC_VAL_NODE) continue;
        int root = find(parent, i);
        if (gi[root] < 0) {
            gi[root] = ng;
            groups[ng].root = root;
            groups[ng].first = nn + 1;
            groups[ng].last = -1;
            ng++;
        }
        Group *gr = &groups[gi[root]];
        int64_t bytes = nc_act_bytes(v);
        if (sub[i] + bytes > gr->bytes) gr->bytes = sub[i] + bytes;
        if (v->producer < gr->first) gr->first = v->producer;
        int l = last[i] < 0 ? v->producer : last[i]; /* unread outputs still get written */
        if (l > gr->last) gr->last = l;
        plan->naive_bytes += bytes;
    }

    /* peak of live bytes, for the report */
    for (int ni = 0; ni <= nn; ni++) {
        int64_t live = 0;
        for (int k = 0; k < ng; k++)
            if (groups[k].first <= ni && ni <= groups[k].last) live += groups[k].bytes;
        if (live > plan->peak_live) plan->peak_live = live;
    }

    /* 3. greedy by size */
    qsort(groups, (size_t)ng, sizeof(Group), cmp_size);
    for (int k = 0; k < ng; k++) gi[groups[k].root] = k;
    int *placed = nc_malloc((size_t)(ng ? ng : 1) * sizeof(int));
    int np = 0;
    for (int k = 0; k < ng; k++) {
        Group *gr = &groups[k];
        /* candidates: 0 and the end of every overlapping placed group, lowest first */
        int64_t best = -1;
        for (int c = -1; c < np; c++) {
            int64_t off = c < 0 ? 0 : groups[placed[c]].offset + groups[placed[c]].bytes;
            off = (off + ALIGN - 1) / ALIGN * ALIGN;
            if (best >= 0 && off >= best) continue;
            int ok = 1;
            for (int q = 0; q < np && ok; q++) {
                const Group *o = &groups[placed[q]];
                int time_overlap = !(o->last < gr->first || gr->last < o->first);
                int space_overlap = !(o->offset + o->bytes <= off || off + gr->bytes <= o->offset);
                ok = !(time_overlap && space_overlap);
            }
            if (ok) best = off;
        }
        gr->offset = best;
        placed[np++] = k;
        if (best + gr->bytes > plan->arena_bytes) plan->arena_bytes = best + gr->bytes;
    }
    plan->arena_bytes = (plan->arena_bytes + ALIGN - 1) / ALIGN * ALIGN;

    plan->offset = nc_malloc((size_t)nv * sizeof(int64_t));
    plan->alias_of = nc_malloc((size_t)nv * sizeof(int));
    for (int i = 0; i < nv; i++) {
        const NcValue *v = nc_val(g, i);
        int root = find(parent, i);
        plan->alias_of[i] = root;
        plan->offset[i] = v->kind == NC_VAL_NODE ? groups[gi[root]].offset + sub[i] : -1;
    }
    free(sub);
    free(placed);
    free(gi);
    free(groups);
    free(group_last);
    free(parent);
    free(last);
    return 0;
}
