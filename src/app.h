/* app.h - a worker's long-lived state, and serving one request with it. */
#ifndef PATGATE_APP_H
#define PATGATE_APP_H

#include <stddef.h>

#include <fcgiapp.h>
#include <yajl/yajl_gen.h>

#include "config.h"
#include "db.h"
#include "jose.h"
#include "jwks.h"
#include "request.h"

struct app {
	struct config		 cfg;
	struct db		*db;
	struct jose_hmac	*secret;	/* signs and checks PATs */
	struct jose_hmac	*pepper;	/* hashes PATs for the database */
	struct jwks_cache	 jwks;		/* OIDC keys; path NULL when off */
	yajl_gen		 gen;		/* response bodies */
	yajl_gen		 claims_gen;	/* PAT claims */
	struct request		 req;
};

/* Take over cfg (already loaded) and make the keys; no database I/O yet. */
int	app_init(struct app *, struct config *cfg, char *err, size_t errsz);
void	app_free(struct app *);
/* Serve one request read from envp and in, answering on out (NULL, NULL: CGI). */
void	app_serve(struct app *, char **envp, FCGX_Stream *in, FCGX_Stream *out);

#endif
