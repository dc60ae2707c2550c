/* images.h — the commands of a compiled program that read image files. */
#ifndef NETC_APP_IMAGES_H
#define NETC_APP_IMAGES_H

#include <stdio.h>

#include "runtime/bundle.h"

int cmd_classify(const NcBundle *b, const char *prog, int argc, char **argv);
int cmd_features(const NcBundle *b, const char *prog, int argc, char **argv);
int cmd_eval(const NcBundle *b, const char *prog, int argc, char **argv);

#endif
