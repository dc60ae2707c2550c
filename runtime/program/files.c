#include "runtime/program/files.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "runtime/support/file_in.h"

static int is_image_name(const char *name) {
    const char *dot = strrchr(name, '.');
    return dot && (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg") || !strcasecmp(dot, ".png"));
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void push(FileList *l, char *path, int label) {
    nc_vec_push(&l->path, path);
    nc_vec_push(&l->label, label);
}

/* A folder being walked, for noticing a link back to one of them. */
typedef struct Ancestor {
    dev_t dev;
    ino_t ino;
    const struct Ancestor *up;
} Ancestor;

/* A folder that cannot be walked is reported and left out; the rest go on. */
static void skip(FileList *l, char *msg) { nc_vec_push(&l->skipped, msg); }

static void walk(FileList *l, const char *dir, const Ancestor *up, int depth) {
    struct stat self;
    if (stat(dir, &self) != 0) {
        skip(l, nc_sprintf("%s: cannot read the folder: %s", dir, strerror(errno)));
        return;
    }
    for (const Ancestor *a = up; a; a = a->up)
        if (a->dev == self.st_dev && a->ino == self.st_ino) {
            skip(l, nc_sprintf("%s: a link back to a folder it is inside (a loop), not walked again", dir));
            return;
        }
    if (depth > 64) {
        skip(l, nc_sprintf("%s: folders nested more than 64 deep, not walked", dir));
        return;
    }
    DIR *d = opendir(dir);
    if (!d) {
        skip(l, nc_sprintf("%s: cannot read the folder: %s", dir, strerror(errno)));
        return;
    }
    NC_VEC(char *) names = {0};
    for (struct dirent *de; (de = readdir(d));) {
        if (de->d_name[0] == '.') continue; /* ., .., hidden files */
        nc_vec_push(&names, nc_sprintf("%s/%s", dir, de->d_name));
    }
    closedir(d);
    if (names.len) qsort(names.data, (size_t)names.len, sizeof(char *), cmp_str);
    const Ancestor here = {self.st_dev, self.st_ino, up};
    for (int i = 0; i < names.len; i++) {
        struct stat st;
        if (stat(names.data[i], &st) == 0 && S_ISDIR(st.st_mode))
            walk(l, names.data[i], &here, depth + 1);
        else if (is_image_name(names.data[i])) {
            push(l, names.data[i], -1);
            continue;
        }
        free(names.data[i]);
    }
    free(names.data);
}

void files_add(FileList *l, const char *arg) {
    struct stat st;
    /* a file that cannot be read is the loader's to report, with the rest going on */
    if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode)) {
        char *dir = nc_strdup(arg);
        size_t n = strlen(dir);
        while (n > 1 && dir[n - 1] == '/') dir[--n] = 0;
        walk(l, dir, NULL, 0);
        free(dir);
        return;
    }
    push(l, nc_strdup(arg), -1);
}

int files_add_list(FileList *l, const char *list, const char *root, int need_label, int nclasses, NcError *e) {
    char *text;
    size_t len;
    if (nc_read_file_max(list, NC_LIMIT_LIST, "a list file", &text, &len, e)) return -1;
    char *dir = NULL;
    if (!root) {
        const char *slash = strrchr(list, '/');
        dir = slash ? nc_strndup(list, (size_t)(slash - list)) : nc_strdup(".");
        root = dir;
    }
    int rc = 0, lineno = 0;
    for (char *line = text, *next; line && *line && !rc; line = next) {
        char *nl = strchr(line, '\n');
        next = nl ? nl + 1 : NULL;
        if (nl) *nl = 0;
        lineno++;
        size_t n = strlen(line);
        while (n && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t')) line[--n] = 0;
        if (!n || line[0] == '#') continue;
        /* the label is the last field, so paths may hold spaces */
        char *sp = strrchr(line, ' '), *tab = strrchr(line, '\t');
        char *cut = tab > sp ? tab : sp;
        int label = -1;
        if (cut) {
            char *end;
            long v = strtol(cut + 1, &end, 10);
            if (*end == 0 && cut[1]) {
                if (v < 0 || v >= nclasses) {
                    rc = nc_errorf(e, "%s:%d: label %ld is not a class of this model (0..%d)", list, lineno, v,
                                   nclasses - 1);
                    break;
                }
                label = (int)v;
                *cut = 0;
                while (cut > line && (cut[-1] == ' ' || cut[-1] == '\t')) *--cut = 0;
            }
        }
        if (need_label && label < 0) {
            rc = nc_errorf(e, "%s:%d: expected 'path label' (label: a class index)", list, lineno);
            break;
        }
        push(l, line[0] == '/' ? nc_strdup(line) : nc_sprintf("%s/%s", root, line), label);
    }
    if (!rc && need_label && !l->path.len) rc = nc_errorf(e, "%s: no images listed", list);
    free(dir);
    free(text);
    return rc;
}

void files_free(FileList *l) {
    for (int i = 0; i < l->path.len; i++) free(l->path.data[i]);
    free(l->path.data);
    free(l->label.data);
    for (int i = 0; i < l->skipped.len; i++) free(l->skipped.data[i]);
    free(l->skipped.data);
    memset(l, 0, sizeof *l);
}
