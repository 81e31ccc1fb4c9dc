/* auth.h - who is calling: a PAT, an OIDC identity token, or REMOTE_USER. */
#ifndef PATGATE_AUTH_H
#define PATGATE_AUTH_H

#include <stddef.h>

#include "jwks.h"
#include "request.h"
#include "service.h"

/* What deciding who calls needs: the service, and the trust configured. */
struct auth {
	struct svc		*svc;		/* checks PATs and team tokens */
	struct jwks_cache	*jwks;		/* identity tokens' keys; NULL: none accepted */
	const char		*oidc_issuer, *oidc_audience;
	int			 require_verified_email;
	int			 trust_remote_user;
	const char		*trusted_proxies;
};

/*
 * Fill req->caller following CONTRACT 2.  ERR_UNAUTHORIZED when nothing
 * identifies the caller, ERR_INVALID_TOKEN when a bearer token was refused.
 */
enum error	auth_caller(struct request *, const struct auth *);
/* Forget the identity tokens verified so far (at exit, for leak checkers). */
void		auth_cache_clear(void);
/* The client's address: REMOTE_ADDR, or X-Forwarded-For behind a trusted proxy. */
const char	*auth_client_addr(struct request *, const char *trusted_proxies);
/* Is addr in list: addresses and address/prefix ranges, by spaces or commas? */
int		 auth_addr_allowed(const char *list, const char *addr);
/* The same from its parts: REMOTE_ADDR, X-Forwarded-For (may be NULL) and the trusted list. */
const char	*auth_forwarded(struct arena *, const char *remote, const char *xff,
		    const char *trusted_proxies);

#endif
