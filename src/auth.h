/* auth.h - who is calling: a PAT, an OIDC identity token, or REMOTE_USER. */
#ifndef PATGATE_AUTH_H
#define PATGATE_AUTH_H

#include <stddef.h>

#include "request.h"

/*
 * Fill req->caller following CONTRACT 2.  ERR_UNAUTHORIZED when nothing
 * identifies the caller, ERR_INVALID_TOKEN when a bearer token was refused.
 */
enum error	auth_caller(struct request *);
/* Forget the identity tokens verified so far (at exit, for leak checkers). */
void		auth_cache_clear(void);
/* The client's address: REMOTE_ADDR, or X-Forwarded-For behind a trusted proxy. */
const char	*auth_client_addr(struct request *);

#endif
