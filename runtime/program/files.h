/* files.h — the image files a command works on: named files as given,
 * directories walked recursively for .jpg/.jpeg/.png (sorted), and list
 * files of "path [label]" lines. */
#ifndef NETC_APP_FILES_H
#define NETC_APP_FILES_H

#include "runtime/support/base.h"

typedef struct FileList {
    NC_VEC(char *) path;
    NC_VEC(int) label;      /* -1 when the line had none */
    NC_VEC(char *) skipped; /* "folder: why", one per folder that was not walked */
} FileList;

/* Appends arg: a file (even a missing one: reading it fails later, on its
 * own line), or every image under a directory.  A folder that cannot be
 * read, or that leads back into one being walked (a symbolic link loop), is
 * left out with its reason in l->skipped, and the walk goes on. */
void files_add(FileList *l, const char *arg);
/* Appends every "path label" line of a list file; relative paths are taken
 * from root (NULL: the list file's directory).  Blank and '#' lines skipped. */
int files_add_list(FileList *l, const char *list, const char *root, int need_label, int nclasses, NcError *e);
void files_free(FileList *l);

#endif
