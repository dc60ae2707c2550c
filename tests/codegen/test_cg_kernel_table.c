/* test_cg_kernel_table.c — the `netc_kernels` table as the runtime reads it:
 * NcCgKernel entries made into LLVM constants (codegen/cpu/cg_kernel.c),
 * compiled to an object file, linked by the JIT, and every field of every
 * entry read back through runtime/kernels.h's NcKernelEntry. */
#include "codegen/cpu/cg_kernel.h"
#include "runtime/kernels.h"
#include "tests/codegen/cg_test.h"

/* a tile function that writes its tile range: out[0][0] = t0, out[0][1] = t1 + tag */
static void emit_stub(NcCgModule *m, const char *name, int tag) {
    LLVMValueRef fn = nc_cg_begin_tile_fn(m, name);
    LLVMValueRef y = cgb_arg_ptr(m, LLVMGetParam(fn, 1), 0);
    LLVMBuildStore(m->b, LLVMBuildSIToFP(m->b, LLVMGetParam(fn, 2), m->f32, ""), cgb_gep(m, y, cgb_i64(m, 0)));
    LLVMValueRef t1 = LLVMBuildNSWAdd(m->b, LLVMGetParam(fn, 3), cgb_i64(m, tag), "");
    LLVMBuildStore(m->b, LLVMBuildSIToFP(m->b, t1, m->f32, ""), cgb_gep(m, y, cgb_i64(m, 1)));
    LLVMBuildRetVoid(m->b);
}

int main(void) {
    NcError e;
    NcCgTarget t;
    cgt_host_target(&t);
    static const char *names[5] = {"s0", "s1", "s2", "wp", "tile"};
    NcCgModule m;
    nc_cg_module_init(&m, &t, "table");
    for (int i = 0; i < 5; i++) emit_stub(&m, names[i], 100 * i);
    /* a three-stage kernel with a weight transform, every number distinct;
     * a one-stage kernel; the reference's empty entry */
    NcCgKernel k[2];
    memset(k, 0, sizeof k);
    for (int s = 0; s < 3; s++) k[0].stage[s] = LLVMGetNamedFunction(m.mod, names[s]), k[0].tiles[s] = 11 + s;
    k[0].scratch = (int64_t)1 << 40, k[0].wprep = LLVMGetNamedFunction(m.mod, "wp"), k[0].wprep_tiles = 17;
    k[0].wfloats = 19, k[0].kind = "nhwc winograd F4", k[0].isa = "avx512-bf16", k[0].precision = "bf16";
    k[1].stage[0] = LLVMGetNamedFunction(m.mod, "tile"), k[1].tiles[0] = 23, k[1].kind = "elementwise";
    LLVMValueRef entries[3] = {nc_cg_kernel_const(&m, &k[0]), nc_cg_kernel_const(&m, &k[1]),
                               nc_cg_kernel_const(&m, NULL)};
    nc_cg_kernel_table(&m, "netc_kernels", entries, 3);
    char path[] = "/tmp/netc_test_table_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd >= 0) close(fd);
    NcCgJit *jit = nc_cg_jit_new(&e);
    int rc = !jit || nc_cg_module_emit_object(&m, path, &e) || nc_cg_jit_add_object(jit, path, &e);
    unlink(path);
    nc_cg_module_dispose(&m);
    CHECK_MSG(rc == 0, "%s", e.msg);
    const NcKernelEntry *tab = rc ? NULL : nc_cg_jit_lookup(jit, "netc_kernels", &e);
    CHECK_MSG(tab != NULL, "%s", e.msg);
    if (tab) {
        void *fn[5];
        for (int i = 0; i < 5; i++) {
            fn[i] = nc_cg_jit_lookup(jit, names[i], &e);
            CHECK(fn[i] != NULL);
        }
        for (int s = 0; s < 3; s++) {
            CHECK_MSG((void *)tab[0].stage[s] == fn[s], "entry 0 stage %d", s);
            CHECK_MSG(tab[0].tiles[s] == 11 + s, "entry 0 tiles[%d] = %lld", s, (long long)tab[0].tiles[s]);
        }
        CHECK(tab[0].scratch == (int64_t)1 << 40);
        CHECK((void *)tab[0].wprep == fn[3] && tab[0].wprep_tiles == 17 && tab[0].wfloats == 19);
        CHECK(tab[0].kind && !strcmp(tab[0].kind, "nhwc winograd F4"));
        CHECK(tab[0].isa && !strcmp(tab[0].isa, "avx512-bf16") && tab[0].precision &&
              !strcmp(tab[0].precision, "bf16"));
        /* unset: the target's ISA and f32 */
        CHECK_MSG(tab[1].isa && !strcmp(tab[1].isa, t.isa), "entry 1 isa %s, target %s", tab[1].isa, t.isa);
        CHECK(tab[1].precision && !strcmp(tab[1].precision, "f32"));
        CHECK((void *)tab[1].stage[0] == fn[4] && !tab[1].stage[1] && !tab[1].stage[2]);
        CHECK(tab[1].tiles[0] == 23 && !tab[1].tiles[1] && !tab[1].tiles[2] && !tab[1].scratch);
        CHECK(!tab[1].wprep && !tab[1].wprep_tiles && !tab[1].wfloats);
        CHECK(tab[1].kind && !strcmp(tab[1].kind, "elementwise"));
        NcKernelEntry zero;
        memset(&zero, 0, sizeof zero);
        CHECK_MSG(!memcmp(&tab[2], &zero, sizeof zero), "the reference's entry is not all zero");
        /* the pointers are the functions: call one through the table */
        float y[2] = {0, 0};
        float *out[1] = {y};
        tab[0].stage[2](NULL, out, 3, 5);
        CHECK(y[0] == 3.0f && y[1] == 205.0f);
    }
    nc_cg_jit_free(jit);
    nc_cg_target_free(&t);
    TEST_MAIN_END();
}
