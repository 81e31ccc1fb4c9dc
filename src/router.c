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
	enum owner_kind	 kind;		/* whose tokens the handler acts on */
};

/* Patterns that match the same paths sit together, exact ones first. */
static const struct route routes[] = {
	{ "/pat/v1/health", "GET", health_get, "GET", EP_HEALTH, OWNER_USER },
	{ "/pat/v1/metrics", "GET", metrics_get, "GET", EP_METRICS, OWNER_USER },
	{ "/pat/v1/verify", "GET", verify_get, "GET", EP_VERIFY, OWNER_USER },
	{ "/pat/v1/introspect", "POST", introspect_post, "POST", EP_INTROSPECT, OWNER_USER },
	{ "/pat/v1/audit", "GET", pat_audit, "GET", EP_AUDIT, OWNER_USER },
	{ "/pat/v1/self", "GET", pat_self_get, "GET, DELETE", EP_SELF, OWNER_USER },
	{ "/pat/v1/self", "DELETE", pat_self_revoke, "GET, DELETE", EP_SELF, OWNER_USER },
	{ "/pat/v1/revoke", "POST", pat_report, "POST", EP_REPORT, OWNER_USER },
	{ "/pat/v1/*/rotate", "POST", pat_rotate, "POST", EP_ROTATE, OWNER_USER },
	{ "/pat/v1", "GET", pat_list, "GET, POST", EP_LIST, OWNER_USER },
	{ "/pat/v1", "POST", pat_create, "GET, POST", EP_CREATE, OWNER_USER },
	{ "/api/v1", "POST", pat_create, "POST", EP_CREATE, OWNER_USER },
	{ "/pat/v1/*", "GET", pat_get, "GET, DELETE", EP_GET, OWNER_USER },
	{ "/pat/v1/*", "DELETE", pat_revoke, "GET, DELETE", EP_REVOKE, OWNER_USER },
	{ "/access-token/v1/teams", "GET", pat_list, "GET, POST", EP_TEAM_LIST, OWNER_TEAM },
	{ "/access-token/v1/teams", "POST", pat_create, "GET, POST", EP_TEAM_CREATE, OWNER_TEAM },
	{ "/access-token/v1/teams/current-teams", "GET", team_current, "GET", EP_TEAM_CURRENT, OWNER_USER },
	{ "/access-token/v1/teams/*", "DELETE", pat_revoke, "DELETE", EP_TEAM_REVOKE, OWNER_TEAM },
	{ "/access-token/v1/teams/*/rotate", "POST", pat_rotate, "POST", EP_ROTATE, OWNER_TEAM },
	{ "/demo/whoami", "GET", demo_whoami, "GET", EP_DEMO, OWNER_USER },
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
		req->owner_kind = routes[i].kind;
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
