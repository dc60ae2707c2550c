/* train_data.c — a training set and its order per epoch. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/program/train.h"

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* ImageFolder: the sub-folders, sorted, are the classes. */
static int load_folder(FileList *l, const char *dir, int nclasses, NcError *e) {
    DIR *d = opendir(dir);
    if (!d) return nc_errorf(e, "%s: cannot read the folder", dir);
    NC_VEC(char *) classes = {0};
    for (struct dirent *de; (de = readdir(d));) {
        if (de->d_name[0] == '.') continue;
        char *p = nc_sprintf("%s/%s", dir, de->d_name);
        struct stat st;
        if (stat(p, &st) == 0 && S_ISDIR(st.st_mode))
            nc_vec_push(&classes, p);
        else
            free(p);
    }
    closedir(d);
    int rc = 0;
    if (classes.len != nclasses)
        rc = nc_errorf(e, "%s: %d class folders, but the model has %d classes", dir, classes.len, nclasses);
    if (classes.len) qsort(classes.data, (size_t)classes.len, sizeof(char *), cmp_str);
    for (int c = 0; c < classes.len && !rc; c++) {
        const int before = l->path.len;
        files_add(l, classes.data[c]);
        for (int i = before; i < l->path.len; i++) l->label.data[i] = c;
    }
    for (int c = 0; c < classes.len; c++) free(classes.data[c]);
    free(classes.data);
    return rc;
}

int train_data_load(FileList *l, const char *spec, const char *root, int nclasses, NcError *e) {
    struct stat st;
    if (stat(spec, &st) != 0) return nc_errorf(e, "%s: no such list file or folder", spec);
    int rc = S_ISDIR(st.st_mode) ? load_folder(l, spec, nclasses, e) : files_add_list(l, spec, root, 1, nclasses, e);
    if (!rc && !l->path.len) rc = nc_errorf(e, "%s: no images", spec);
    for (int i = 0; i < l->skipped.len && !rc; i++) fprintf(stderr, "warning: %s\n", l->skipped.data[i]);
    return rc;
}
