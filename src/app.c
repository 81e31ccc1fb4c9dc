/* app.c - a worker's long-lived state, and serving one request with it. */
#include "app.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "log.h"
#include "response.h"
#include "router.h"

static yajl_gen
app_gen(void)
{
	yajl_gen g = yajl_gen_alloc(NULL);

	if (g != NULL)
		yajl_gen_config(g, yajl_gen_validate_utf8, 1);
	return g;
}

int
app_init(struct app *app, struct config *cfg, char *err, size_t errsz)
{
	memset(app, 0, sizeof(*app));
	app->cfg = *cfg;
	memset(cfg, 0, sizeof(*cfg));
	log_set_level(app->cfg.log_level);
	if ((app->secret = jose_hmac_new(app->cfg.secret, app->cfg.secret_len)) == NULL ||
	    (app->pepper = jose_hmac_new(app->cfg.pepper, app->cfg.pepper_len)) == NULL) {
		snprintf(err, errsz, "libcrypto: cannot set up HMAC-SHA256");
		return -1;
	}
	if (app->cfg.oidc_jwks_file[0] != '\0' &&
	    jwks_cache_open(&app->jwks, app->cfg.oidc_jwks_file, err, errsz) == -1)
		return -1;
	if ((app->gen = app_gen()) == NULL || (app->claims_gen = app_gen()) == NULL) {
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	app->db = db_new(app->cfg.database_url);
	request_init(&app->req, app, app->gen);
	return 0;
}

void
app_free(struct app *app)
{
	request_free(&app->req);
	response_free();
	auth_cache_clear();
	db_free(app->db);
	jwks_cache_close(&app->jwks);
	jose_hmac_free(app->secret);
	jose_hmac_free(app->pepper);
	if (app->gen != NULL)
		yajl_gen_free(app->gen);
	if (app->claims_gen != NULL)
		yajl_gen_free(app->claims_gen);
	config_free(&app->cfg);
	memset(app, 0, sizeof(*app));
}

static void
app_log(const struct request *req)
{
	enum log_level level = req->status >= 500 ? LVL_WARN : LVL_DEBUG;
	struct timespec now;
	char method[16], path[128];
	double ms;

	if (!log_enabled(level))
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (double)(now.tv_sec - req->start.tv_sec) * 1e3 +
	    (double)(now.tv_nsec - req->start.tv_nsec) / 1e6;
	log_msg(level, "event=request method=\"%s\" path=\"%s\" status=%d ms=%.2f%s%s",
	    log_clean(method, sizeof(method), req->method),
	    log_clean(path, sizeof(path), req->path), req->status, ms,
	    req->caller.pat_id ? " caller_pat=" : "",
	    req->caller.pat_id ? req->caller.pat_id : "");
}

void
app_serve(struct app *app, char **envp, FCGX_Stream *in, FCGX_Stream *out)
{
	struct request *req = &app->req;
	route_handler handler;
	enum error e;

	if ((e = request_begin(req, envp, in, out)) == ERR_OK &&
	    (e = router_find(req, &handler)) == ERR_OK)
		e = handler(req);
	if (e == ERR_OK)
		response_send(req);
	else
		response_error(req, e);
	app_log(req);
	request_end(req);
}
