/* cors.h - cross-origin calls from Terrakube's UI, by the rules of CONTRACT 3. */
#ifndef PATGATE_CORS_H
#define PATGATE_CORS_H

#include <stddef.h>

#include "error.h"

struct request;

/* Check a cors_origins value: each entry exactly scheme://host[:port], no "*". */
int		 cors_origins_check(const char *list, char *why, size_t whysz);
/*
 * Note on req whether its origin may read the answer (req->cors_origin):
 * only on the API paths, never on verify and health.
 */
void		 cors_begin(struct request *, const char *origins);
/*
 * An OPTIONS request on a known path: a preflight from a listed origin
 * answers 204; from another origin, 403; anything else that is not a
 * preflight, ERR_METHOD (405 with Allow).
 */
enum error	 cors_preflight(struct request *);

#endif
