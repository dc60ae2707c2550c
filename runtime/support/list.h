/* list.h — comma-separated option values ("448,512", "fold_bn,dce",
 * "0.5,0.3,0.2") and the image sizes they hold ("224", "256x192"): one
 * splitter and one size parser for the driver and the compiled programs, so
 * every option rejects the same malformed lists with the same words. */
#ifndef NETC_LIST_H
#define NETC_LIST_H

#include "runtime/support/base.h"

/* Splits s at commas.  Returns a NULL-terminated array of the items (one
 * allocation: free() it) and their count in *n; NULL with a message for an
 * empty list or an empty item ("224,", "a,,b"). */
char **nc_list_split(const char *s, int *n, NcError *e);

/* One image size: "224" (square) or "256x192" (height x width), each side
 * 1..65536. */
typedef struct NcRes {
    int h, w;
} NcRes;
int nc_parse_res(const char *s, NcRes *r, NcError *e);

/* A list of distinct sizes ("448,512,256x192"), at most max of them; returns
 * how many, or -1 with a message naming the bad item. */
int nc_parse_res_list(const char *s, NcRes *out, int max, NcError *e);

#endif
