/* health.c - GET /pat/v1/health: is the worker up, and can it reach PostgreSQL? */
#include "health.h"

#include "app.h"
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
