/* demo.h - GET /demo/whoami: the edge gate's demonstration behind auth_request. */
#ifndef PATGATE_DEMO_H
#define PATGATE_DEMO_H

#include "request.h"

enum error	demo_whoami(struct request *);

#endif
