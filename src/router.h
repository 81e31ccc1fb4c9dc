/* router.h - map a method and path to its handler, or to 404 and 405. */
#ifndef PATGATE_ROUTER_H
#define PATGATE_ROUTER_H

#include "request.h"

typedef enum error (*route_handler)(struct request *);

/* Find the handler for req; on 404 and 405 return the error (req->allow set). */
enum error	router_find(struct request *, route_handler *);

#endif
