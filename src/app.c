/* app.c - a worker's long-lived state, and serving one request with it. */
#include "app.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "cors.h"
#include "metrics.h"
#include "log.h"
#include "response.h"
#include "router.h"

static yajl_gen
app_gen(void)
{
	yajl_gen g = yajl_gen_alloc(NULL);

	/*
	 * No UTF-8 check on output: every string written was checked on the
	 * way in (json.c, identity.c) or comes from a UTF8 database.
	 */
	return g;
}

/* The keys of cfg, current and rotated out, as libcrypto objects. */
static int
app_keys(struct token_keys *keys, const struct config *cfg)
{
	size_t i;
	int ok;

	memset(keys, 0, sizeof(*keys));
	keys->issuer = cfg->issuer;
	keys->audience = cfg->audience;
	ok = (keys->secret = jose_hmac_new(cfg->secret, cfg->secret_len)) != NULL &&
	    (keys->pepper = jose_hmac_new(cfg->pepper, cfg->pepper_len)) != NULL;
	for (i = 0; ok && i < cfg->nold_secrets && i < TOKEN_PREVIOUS_MAX; i++)
		ok = (keys->old_secrets[keys->nold_secrets++] = jose_hmac_new(
		    cfg->old_secret[i], cfg->old_secret_len[i])) != NULL;
	for (i = 0; ok && i < cfg->nold_peppers && i < TOKEN_PREVIOUS_MAX; i++)
		ok = (keys->old_peppers[keys->nold_peppers++] = jose_hmac_new(
		    cfg->old_pepper[i], cfg->old_pepper_len[i])) != NULL;
	return ok ? 0 : -1;
}

static void
app_keys_free(struct token_keys *keys)
{
	jose_hmac_free(keys->secret);
	jose_hmac_free(keys->pepper);
	for (size_t i = 0; i < keys->nold_secrets; i++)
		jose_hmac_free(keys->old_secrets[i]);
	for (size_t i = 0; i < keys->nold_peppers; i++)
		jose_hmac_free(keys->old_peppers[i]);
	memset(keys, 0, sizeof(*keys));
}

int
app_init(struct app *app, struct config *cfg, char *err, size_t errsz)
{
	struct token_keys keys;
	struct svc_policy policy;
	int i, ok;

	memset(app, 0, sizeof(*app));
	/*
	 * glibc raises its mmap threshold after a large block is freed, and
	 * then keeps the next one in the heap for good; fixed, every block of
	 * 128 KiB and more goes back to the system when it is freed.
	 */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	mallopt(M_TRIM_THRESHOLD, 256 * 1024);
	app->cfg = *cfg;
	memset(cfg, 0, sizeof(*cfg));
	log_set_level(app->cfg.log_level);
	if (app_keys(&keys, &app->cfg) == -1) {
		snprintf(err, errsz, "libcrypto: cannot set up HMAC-SHA256");
		return -1;
	}
	if (app->cfg.oidc_jwks_file[0] != '\0')
		jwks_cache_open(&app->jwks, app->cfg.oidc_jwks_file);
	app->db = db_new(app->cfg.database_url);
	policy.max_days = app->cfg.max_days;
	policy.default_days = app->cfg.default_days;
	policy.inactive_days = app->cfg.inactive_days;
	policy.max_rotation_grace = app->cfg.max_rotation_grace;
	policy.max_tokens = app->cfg.max_tokens_per_user;
	ok = svc_init(&app->svc, app->db, &keys, &policy) == 0;
	if (ok)
		svc_cache(&app->svc, (size_t)app->cfg.verify_cache_entries,
		    app->cfg.verify_cache_seconds);
	if (ok && app->cfg.read_database_url[0] != '\0') {
		app->db_read = db_new(app->cfg.read_database_url);
		svc_standby(&app->svc, app->db_read, app->cfg.verify_on_standby);
	}
	for (i = 0; i < APP_REQUESTS; i++)
		ok &= (app->gen[i] = app_gen()) != NULL;
	if (!ok) {
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	app->auth.svc = &app->svc;
	app->auth.jwks = app->cfg.oidc_jwks_file[0] != '\0' ? &app->jwks : NULL;
	app->auth.oidc_issuer = app->cfg.oidc_issuer;
	app->auth.oidc_audience = app->cfg.oidc_audience;
	app->auth.require_verified_email = app->cfg.oidc_require_verified_email;
	app->auth.trust_remote_user = app->cfg.trust_remote_user;
	app->auth.trusted_proxies = app->cfg.trusted_proxies;
	ratelimit_init(&app->lists, APP_LIST_RATE, APP_LIST_BURST);
	ratelimit_init(&app->reports, APP_REPORT_RATE, APP_REPORT_BURST);
	for (i = 0; i < APP_REQUESTS; i++)
		request_init(&app->req[i], app, app->gen[i]);
	return 0;
}

void
app_free(struct app *app)
{
	int i;

	for (i = 0; i < APP_REQUESTS; i++) {
		request_free(&app->req[i]);
		if (app->gen[i] != NULL)
			yajl_gen_free(app->gen[i]);
	}
	response_free();
	auth_cache_clear();
	db_free(app->db);
	db_free(app->db_read);
	jwks_cache_close(&app->jwks);
	app_keys_free(&app->svc.keys);
	svc_free(&app->svc);
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

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (double)(now.tv_sec - req->start.tv_sec) * 1e3 +
	    (double)(now.tv_nsec - req->start.tv_nsec) / 1e6;
	metrics_request((enum metric_endpoint)req->endpoint, req->status, ms / 1e3);
	if (!log_enabled(level))
		return;
	log_msg(level, "event=request method=\"%s\" path=\"%s\" status=%d ms=%.2f%s%s",
	    log_clean(method, sizeof(method), req->method),
	    log_clean(path, sizeof(path), req->path), req->status, ms,
	    req->caller.pat_id ? " caller_pat=" : "",
	    req->caller.pat_id ? req->caller.pat_id : "");
}

/*
 * After a large answer (a long list), give the memory it took back: yajl
 * keeps its buffer's size between requests.  Buffers that large are mapped
 * on their own (app_init fixes the mmap threshold), so freeing one returns
 * it to the system at once.
 */
static void
app_shrink(struct request *req)
{
	struct app *app = req->app;
	const unsigned char *buf;
	size_t len = 0;

	if (yajl_gen_get_buf(req->gen, &buf, &len) != yajl_gen_status_ok ||
	    len < APP_LARGE_ANSWER)
		return;
	for (int i = 0; i < APP_REQUESTS; i++) {
		if (app->gen[i] != req->gen)
			continue;
		yajl_gen_free(app->gen[i]);
		if ((app->gen[i] = app_gen()) == NULL) {
			log_msg(LVL_ERROR, "event=fatal reason=\"out of memory\"");
			exit(1);
		}
		req->gen = app->gen[i];
	}
}

static void
app_answer(struct request *req, enum error e)
{
	if (e == ERR_OK)
		response_send(req);
	else
		response_error(req, e);
	app_log(req);
	request_drain(req);
	if (req->app != NULL)
		app_shrink(req);
	request_end(req);
	if (req->app != NULL)
		svc_idle(&req->app->svc);
}

int
app_serve(struct request *req, char **envp, FCGX_Stream *in, FCGX_Stream *out)
{
	route_handler handler;
	enum error e;

	e = request_begin(req, envp, in, out);
	if (req->app != NULL)
		cors_begin(req, req->app->cfg.cors_origins);
	if (e == ERR_OK && (e = router_find(req, &handler)) == ERR_OK)
		e = handler(req);
	else if (e == ERR_METHOD && strcmp(req->method, "OPTIONS") == 0)
		e = cors_preflight(req);
	if (e == ERR_OK && req->pending != NULL) {
		/*
		 * The caller's identity may point into the OIDC cache, which the
		 * next request can change; the answer to come does not need it.
		 */
		req->caller.email = req->caller.name = NULL;
		req->caller.groups = NULL;
		req->caller.ngroups = 0;
		log_set_request(NULL);
		return 1;
	}
	app_answer(req, e);
	return 0;
}

void
app_finish(struct request *req)
{
	log_set_request(req->id);
	app_answer(req, req->pending(req));
}
