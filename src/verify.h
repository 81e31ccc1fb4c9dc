/* verify.h - the edge check for nginx auth_request, and RFC 7662 introspection. */
#ifndef PATGATE_VERIFY_H
#define PATGATE_VERIFY_H

#include "request.h"

enum error	verify_get(struct request *);		/* GET /pat/v1/verify */
enum error	introspect_post(struct request *);	/* POST /pat/v1/introspect */

#endif
