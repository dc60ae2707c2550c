/* dl_sym.h — the entry points a device file takes from a library it dlopens, as one table of (the function
 * pointer's offset in the file's own struct, the symbol's name), so that the loading and
 * tests/cuda/abi/'s checks against NVIDIA's headers and libraries read the same list. */
#ifndef NETC_DEVICE_DL_SYM_H
#define NETC_DEVICE_DL_SYM_H

#include <dlfcn.h>
#include <stddef.h>
#include <string.h>

typedef struct NcDlSym {
    size_t offset; /* of a function pointer in the struct the table is for */
    const char *name;
} NcDlSym;

/* Each of t's n names looked up in lib into obj's function pointers; the first name lib lacks (those
 * after it left unset), or NULL when it has all. */
static inline const char *nc_dl_resolve(void *lib, void *obj, const NcDlSym *t, size_t n) {
    for (size_t i = 0; i < n; i++) {
        void *p = dlsym(lib, t[i].name);
        if (!p) return t[i].name;
        memcpy((char *)obj + t[i].offset, &p, sizeof p); /* a function pointer, stored as dlsym gives it */
    }
    return NULL;
}

#endif
