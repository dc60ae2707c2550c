/* netc compare — are two .npy outputs the same within a tolerance? */
#include <math.h>
#include <string.h>

#include "runtime/support/npy.h"
#include "tools/netc/cli.h"

static const char *help = "usage: netc compare REFERENCE.npy OTHER.npy [--rtol T]\n\n"
                          "Prints max|other - reference| and that over max|reference|; exits 0 when the relative\n"
                          "difference is at most T (default 1e-4), 1 when it is larger, 2 on bad input.\n";

int cmd_compare(int argc, char **argv) {
    if (cli_help(argc, argv, help)) return 0;
    const char *files[2] = {NULL, NULL};
    double rtol = 1e-4;
    int nf = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--rtol") && i + 1 < argc) {
            char *end;
            rtol = strtod(argv[++i], &end);
            if (*end || !(rtol >= 0)) {
                cli_error("--rtol '%s': expected a non-negative number", argv[i]);
                return NC_EXIT_BADINPUT;
            }
        } else if (nf < 2 && argv[i][0] != '-') {
            files[nf++] = argv[i];
        } else {
            cli_error("compare: unexpected '%s' (see netc compare --help)", argv[i]);
            return NC_EXIT_BADINPUT;
        }
    }
    if (nf != 2) {
        cli_error("compare: two .npy files are needed");
        return NC_EXIT_BADINPUT;
    }
    NcNpy a, b;
    NcError e;
    if (nc_npy_read(files[0], &a, &e)) {
        fprintf(stderr, "netc: %s\n", e.msg);
        return NC_EXIT_BADINPUT;
    }
    if (nc_npy_read(files[1], &b, &e)) {
        fprintf(stderr, "netc: %s\n", e.msg);
        nc_npy_free(&a);
        return NC_EXIT_BADINPUT;
    }
    int rc = 0;
    if (a.ndim != b.ndim || memcmp(a.shape, b.shape, (size_t)a.ndim * sizeof(int64_t))) {
        char s1[128], s2[128];
        cli_error("compare: shapes differ: %s is %s, %s is %s", files[0], nc_shape_str(a.ndim, a.shape, s1, sizeof s1),
                  files[1], nc_shape_str(b.ndim, b.shape, s2, sizeof s2));
        rc = NC_EXIT_BADINPUT;
    } else {
        double maxref = 0, maxerr = 0;
        for (int64_t i = 0; i < a.numel; i++) {
            maxref = fmax(maxref, fabs(a.data[i]));
            double d = fabs((double)a.data[i] - b.data[i]);
            if (d > maxerr || isnan(d)) maxerr = isnan(d) ? INFINITY : d;
        }
        double rel = maxref > 0 ? maxerr / maxref : maxerr;
        rc = rel <= rtol ? 0 : NC_EXIT_FAIL;
        printf("max|reference| %.6g, max|difference| %.3g, relative %.3g (tolerance %.3g): %s\n", maxref, maxerr, rel,
               rtol, rc ? "DIFFERENT" : "same");
    }
    nc_npy_free(&a);
    nc_npy_free(&b);
    return rc;
}
