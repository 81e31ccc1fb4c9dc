/* app.h - a worker's long-lived state, and serving one request with it. */
#ifndef PATGATE_APP_H
#define PATGATE_APP_H

#include <stddef.h>

#include <fcgiapp.h>
#include <yajl/yajl_gen.h>

#include "auth.h"
#include "config.h"
#include "db.h"
#include "jose.h"
#include "jwks.h"
#include "ratelimit.h"
#include "request.h"
#include "service.h"

#define APP_REQUESTS	2
#define APP_LARGE_ANSWER (64 * 1024)	/* bytes of body after which memory is given back */
/*
 * A list of 500 tokens costs a worker about ten checks: an owner may ask
 * for lists this often a second per worker (and this many at once), so
 * that no caller looping on lists can crowd out the edge checks.
 */
#define APP_LIST_RATE	10
#define APP_LIST_BURST	30
/* Revocations by value: anyone may send them, so they are bounded by address. */
#define APP_REPORT_RATE	2
#define APP_REPORT_BURST	10

struct app {
	struct config		 cfg;
	struct db		*db;		/* the primary */
	struct db		*db_read;	/* a standby for reads, or NULL */
	struct jwks_cache	 jwks;		/* OIDC keys; path NULL when off */
	struct svc		 svc;		/* the token service, over db */
	struct auth		 auth;		/* deciding who calls */
	struct ratelimit	 lists;		/* lists by owner (APP_LIST_RATE) */
	struct ratelimit	 reports;	/* revocations by value, by address */
	/* One request being read while another's answer waits on its commit. */
	yajl_gen		 gen[APP_REQUESTS];	/* their response bodies */
	struct request		 req[APP_REQUESTS];
};

/* Take over cfg (already loaded) and make the keys; no database I/O yet. */
int	app_init(struct app *, struct config *cfg, char *err, size_t errsz);
void	app_free(struct app *);
/*
 * Serve one request read from envp and in, answering on out (NULL, NULL:
 * CGI).  1 when the answer waits on a write still in flight: app_finish
 * gives it, and until then req must not be reused.
 */
int	app_serve(struct request *req, char **envp, FCGX_Stream *in,
	    FCGX_Stream *out);
/* Wait for the write a request's answer waits on, then answer it. */
void	app_finish(struct request *req);

#endif
