/* serve.h — `PROGRAM serve`: the program as an Open Inference Protocol
 * (KServe v2) HTTP server.  main.c (runtime/program/, the layer below)
 * dispatches to it by this declaration, repeated there. */
#ifndef NETC_SERVE_SERVE_H
#define NETC_SERVE_SERVE_H

#include "runtime/bundle.h"

int cmd_serve(const NcBundle *b, const char *prog, int argc, char **argv);

#endif
