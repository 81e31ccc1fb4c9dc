/* router.c - map a method and path to its handler, or to 404 and 405. */
#include "router.h"

#include <string.h>

#include "demo.h"
#include "health.h"
#include "pat.h"
#include "verify.h"

struct route {
	const char	*pattern;	/* a trailing "*" matches one path segment */
	const char	*method;
	route_handler	 handler;
	const char	*allow;		/* every method this pattern takes */
};

/* Patterns that match the same paths sit together, exact ones first. */
static const struct route routes[] = {
	{ "/pat/v1/health", "GET", health_get, "GET" },
	{ "/pat/v1/verify", "GET", verify_get, "GET" },
	{ "/pat/v1/introspect", "POST", introspect_post, "POST" },
	{ "/pat/v1/audit", "GET", pat_audit, "GET" },
	{ "/pat/v1", "GET", pat_list, "GET, POST" },
	{ "/pat/v1", "POST", pat_create, "GET, POST" },
	{ "/api/v1", "POST", pat_create, "POST" },
	{ "/pat/v1/*", "GET", pat_get, "GET, DELETE" },
	{ "/pat/v1/*", "DELETE", pat_revoke, "GET, DELETE" },
	{ "/access-token/v1/teams", "GET", team_list, "GET, POST" },
	{ "/access-token/v1/teams", "POST", team_create, "GET, POST" },
	{ "/access-token/v1/teams/current-teams", "GET", team_current, "GET" },
	{ "/access-token/v1/teams/*", "DELETE", team_revoke, "DELETE" },
	{ "/demo/whoami", "GET", demo_whoami, "GET" },
};

/* Match path against pattern; a "*" segment is returned in *param. */
static int
router_match(const char *pattern, const char *path, const char **param)
{
	size_t n = strlen(pattern);

	if (pattern[n - 1] != '*')
		return strcmp(pattern, path) == 0;
	if (strncmp(pattern, path, n - 1) != 0 || path[n - 1] == '\0' ||
	    strchr(path + n - 1, '/') != NULL)
		return 0;
	*param = path + n - 1;
	return 1;
}

enum error
router_find(struct request *req, route_handler *handler)
{
	const struct route *matched = NULL;
	const char *param = NULL;
	size_t i;

	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (matched != NULL && strcmp(routes[i].pattern, matched->pattern) != 0)
			break;
		if (!router_match(routes[i].pattern, req->path, &param))
			continue;
		matched = &routes[i];
		if (strcmp(routes[i].method, req->method) == 0) {
			req->param = param;
			*handler = routes[i].handler;
			return ERR_OK;
		}
	}
	if (matched == NULL)
		return ERR_NOT_FOUND;
	req->allow = matched->allow;
	return ERR_METHOD;
}
