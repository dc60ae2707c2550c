/* test_cuda_abi.c — the device files' private copies of NVIDIA's API against the real headers and libraries,
 * without a GPU (tests/cuda/abi/abi_check.h says how).  Built by tests/cuda.cmake where the toolkit's headers
 * are found, with runtime/device/device_cuda.c, device_cublaslt.c and device_cudnn.c compiled again inside
 * tests/cuda/abi/abi_*.c: what the headers decide is checked as the program compiles (a mismatch does not
 * build); this runs the rest against the libraries.
 *   test_cuda_abi DRIVER CUBLAS CUBLASLT CUDNN    (paths; "-" for one not found: its part skipped, saying so) */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tests/cuda/abi/abi_check.h"

/* The library at path, kept loaded for the whole run: the files' own dlclose then leaves it mapped, so that what
 * it allocated for itself (libstdc++'s exception pool in cuDNN's and cuBLASLt's) stays reachable and
 * LeakSanitizer (the sanitizer build) does not count it as netc's leak. */
static const char *present(const char *what, const char *path) {
    if (strcmp(path, "-") && access(path, R_OK) == 0 && dlopen(path, RTLD_NOW | RTLD_LOCAL)) return path;
    printf("test_cuda_abi: %s not found (%s): its library checks skipped\n", what, path);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: test_cuda_abi DRIVER CUBLAS CUBLASLT CUDNN\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    int bad = nc_abi_cuda(present("libcuda (the toolkit's stub is enough)", argv[1]), present("libcublas", argv[2]));
    bad += nc_abi_cublaslt(present("libcublasLt", argv[3]));
    bad += nc_abi_cudnn(present("libcudnn", argv[4]));
    printf("test_cuda_abi: %s\n", bad ? "FAILED" : "all passed");
    return bad ? 1 : 0;
}
