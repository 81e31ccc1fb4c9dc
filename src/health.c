/* health.c - GET /pat/v1/health: is the worker up, and can it reach PostgreSQL? */
#include "health.h"

#include "app.h"
#include "auth.h"
#include "metrics.h"
#include "json.h"

enum error
health_get(struct request *req)
{
	enum error e = db_ping(req->app->db);
	const char *database = "ok";

	if (e == ERR_SCHEMA)
		database = "schema_outdated";
	else if (e != ERR_OK)
		database = "unreachable";
	req->status = e == ERR_OK ? 200 : 503;
	if (e != ERR_OK)
		request_header(req, "Retry-After", "5");
	yajl_gen_map_open(req->gen);
	json_key_str(req->gen, "status", e == ERR_OK ? "ok" : "unavailable");
	json_key_str(req->gen, "database", database);
	yajl_gen_map_close(req->gen);
	return ERR_OK;
}

/*
 * GET /pat/v1/metrics: Prometheus' text format, to the addresses in
 * metrics_allow (loopback by default).  The counters are every worker's.
 */
enum error
metrics_get(struct request *req)
{
	const char *addr = req->p.remote_addr;

	if (!auth_addr_allowed(req->app->cfg.metrics_allow, addr))
		return request_fail(req, ERR_FORBIDDEN, NULL, "metrics are served only "
		    "to the addresses in metrics_allow");
	if ((req->text = metrics_render(&req->arena, &req->text_len)) == NULL)
		return ERR_INTERNAL;
	req->text_type = "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n";
	req->status = 200;
	return ERR_OK;
}
