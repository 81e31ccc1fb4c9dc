/* router.c - map a method and path to its handler, or to 404 and 405. */
#include "router.h"

#include <string.h>

#include "demo.h"
#include "health.h"
#include "metrics.h"
#include "pat.h"
#include "verify.h"

struct route {
	const char	*pattern;	/* a "*" segment matches any one path segment */
	const char	*method;
	route_handler	 handler;
	const char	*allow;		/* every method this pattern takes */
	enum metric_endpoint endpoint;
};

/* Patterns that match the same paths sit together, exact ones first. */
static const struct route routes[] = {
	{ "/pat/v1/health", "GET", health_get, "GET", EP_HEALTH },
	{ "/pat/v1/metrics", "GET", metrics_get, "GET", EP_METRICS },
	{ "/pat/v1/verify", "GET", verify_get, "GET", EP_VERIFY },
	{ "/pat/v1/introspect", "POST", introspect_post, "POST", EP_INTROSPECT },
	{ "/pat/v1/audit", "GET", pat_audit, "GET", EP_AUDIT },
	{ "/pat/v1/self", "GET", pat_self_get, "GET, DELETE", EP_SELF },
	{ "/pat/v1/self", "DELETE", pat_self_revoke, "GET, DELETE", EP_SELF },
	{ "/pat/v1/revoke", "POST", pat_report, "POST", EP_REPORT },
	{ "/pat/v1/*/rotate", "POST", pat_rotate, "POST", EP_ROTATE },
	{ "/pat/v1", "GET", pat_list, "GET, POST", EP_LIST },
	{ "/pat/v1", "POST", pat_create, "GET, POST", EP_CREATE },
	{ "/api/v1", "POST", pat_create, "POST", EP_CREATE },
	{ "/pat/v1/*", "GET", pat_get, "GET, DELETE", EP_GET },
	{ "/pat/v1/*", "DELETE", pat_revoke, "GET, DELETE", EP_REVOKE },
	{ "/access-token/v1/teams", "GET", team_list, "GET, POST", EP_TEAM_LIST },
	{ "/access-token/v1/teams", "POST", team_create, "GET, POST", EP_TEAM_CREATE },
	{ "/access-token/v1/teams/current-teams", "GET", team_current, "GET", EP_TEAM_CURRENT },
	{ "/access-token/v1/teams/*", "DELETE", team_revoke, "DELETE", EP_TEAM_REVOKE },
	{ "/access-token/v1/teams/*/rotate", "POST", team_rotate, "POST", EP_ROTATE },
	{ "/demo/whoami", "GET", demo_whoami, "GET", EP_DEMO },
};

/*
 * Match path against pattern, segment by segment; the segment a "*" took is
 * returned in *param, NUL-ended in buf (which has room for the path).
 */
static int
router_match(const char *pattern, const char *path, const char **param,
    char *buf)
{
	const char *p = pattern, *q = path;
	size_t n;

	while (*p != '\0' && *q != '\0') {
		if (*p == '*') {
			if ((n = strcspn(q, "/")) == 0)
				return 0;
			memcpy(buf, q, n);
			buf[n] = '\0';
			*param = buf;
			p++;
			q += n;
			continue;
		}
		if (*p++ != *q++)
			return 0;
	}
	return *p == '\0' && *q == '\0';
}

enum error
router_find(struct request *req, route_handler *handler)
{
	const struct route *matched = NULL;
	const char *param = NULL;
	char *buf;
	size_t i;

	if ((buf = arena_alloc(&req->arena, strlen(req->path) + 1)) == NULL)
		return ERR_INTERNAL;
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (matched != NULL && strcmp(routes[i].pattern, matched->pattern) != 0)
			break;
		if (!router_match(routes[i].pattern, req->path, &param, buf))
			continue;
		matched = &routes[i];
		req->endpoint = routes[i].endpoint;
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
