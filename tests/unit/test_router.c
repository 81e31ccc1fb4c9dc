/* test_router.c - every route, and the 404s and 405s around them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cases.h"

#include "demo.h"
#include "health.h"
#include "pat.h"
#include "router.h"
#include "verify.h"

#define UUID		"0b5a3c9e-8f1d-4c2a-9e7b-1d2c3b4a5f60"

static const struct {
	route_handler	 fn;
	const char	*name;
} handler_names[] = {
	{ health_get, "health_get" },
	{ verify_get, "verify_get" },
	{ introspect_post, "introspect_post" },
	{ pat_list, "pat_list" },
	{ pat_create, "pat_create" },
	{ pat_get, "pat_get" },
	{ pat_revoke, "pat_revoke" },
	{ demo_whoami, "demo_whoami" },
};

static const char *
handler_name(route_handler fn)
{
	if (fn == NULL)
		return "(none)";
	for (size_t i = 0; i < NELEM(handler_names); i++)
		if (handler_names[i].fn == fn)
			return handler_names[i].name;
	return "(an unknown function)";
}

struct route_case {
	const char	*method;
	const char	*path;
	route_handler	 handler;	/* the handler found, if any */
	const char	*param;		/* the {id} segment, if any */
};

/* Every route in src/router.c. */
static const struct route_case found_cases[] = {
	{ "GET", "/pat/v1/health", health_get, NULL },
	{ "GET", "/pat/v1/verify", verify_get, NULL },
	{ "POST", "/pat/v1/introspect", introspect_post, NULL },
	{ "GET", "/pat/v1", pat_list, NULL },
	{ "POST", "/pat/v1", pat_create, NULL },
	{ "POST", "/api/v1", pat_create, NULL },
	{ "GET", "/pat/v1/" UUID, pat_get, UUID },
	{ "DELETE", "/pat/v1/" UUID, pat_revoke, UUID },
	{ "GET", "/pat/v1/not-a-uuid", pat_get, "not-a-uuid" },	/* the handler says 404 */
	{ "GET", "/pat/v1/healthz", pat_get, "healthz" },
	{ "GET", "/demo/whoami", demo_whoami, NULL },
};

static void
test_router_finds_every_route(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(found_cases); i++) {
		const struct route_case *c = &found_cases[i];
		struct request req;
		route_handler fn = NULL;
		enum error e;

		memset(&req, 0, sizeof(req));
		req.method = c->method;
		req.path = c->path;
		e = router_find(&req, &fn);
		expect(e == ERR_OK, "%s %s: error %d, want ERR_OK", c->method, c->path, e);
		expect(fn == c->handler, "%s %s: handler %s, want %s", c->method,
		    c->path, handler_name(fn), handler_name(c->handler));
		if (c->param == NULL)
			expect(req.param == NULL, "%s %s: param \"%s\", want none",
			    c->method, c->path, req.param ? req.param : "");
		else
			expect(req.param != NULL && strcmp(req.param, c->param) == 0,
			    "%s %s: param \"%s\", want \"%s\"", c->method, c->path,
			    req.param ? req.param : "(null)", c->param);
	}
	cases_done();
}

struct refused_case {
	const char	*method;
	const char	*path;
	enum error	 want;		/* ERR_NOT_FOUND or ERR_METHOD */
	const char	*allow;		/* the Allow header of a 405 */
};

static const struct refused_case refused_cases[] = {
	{ "GET", "/pat/v2", ERR_NOT_FOUND, NULL },
	{ "GET", "/pat/v1/a/b", ERR_NOT_FOUND, NULL },
	{ "DELETE", "/pat/v1/" UUID "/x", ERR_NOT_FOUND, NULL },
	{ "GET", "/", ERR_NOT_FOUND, NULL },
	{ "GET", "", ERR_NOT_FOUND, NULL },
	{ "GET", "/pat/v1/", ERR_NOT_FOUND, NULL },	/* an empty {id} */
	{ "GET", "/pat/v10", ERR_NOT_FOUND, NULL },
	{ "GET", "/pat", ERR_NOT_FOUND, NULL },
	{ "GET", "/PAT/V1", ERR_NOT_FOUND, NULL },
	{ "GET", "pat/v1", ERR_NOT_FOUND, NULL },
	{ "GET", "/api/v1/" UUID, ERR_NOT_FOUND, NULL },
	{ "GET", "/pat/v1/health/", ERR_NOT_FOUND, NULL },
	{ "GET", "/demo/whoami/x", ERR_NOT_FOUND, NULL },

	{ "DELETE", "/pat/v1", ERR_METHOD, "GET, POST" },
	{ "PUT", "/pat/v1", ERR_METHOD, "GET, POST" },
	{ "get", "/pat/v1", ERR_METHOD, "GET, POST" },	/* methods are case-sensitive */
	{ "POST", "/pat/v1/" UUID, ERR_METHOD, "GET, DELETE" },
	{ "PATCH", "/pat/v1/" UUID, ERR_METHOD, "GET, DELETE" },
	{ "POST", "/pat/v1/verify", ERR_METHOD, "GET" },
	{ "DELETE", "/pat/v1/verify", ERR_METHOD, "GET" },	/* not pat_revoke */
	{ "DELETE", "/pat/v1/health", ERR_METHOD, "GET" },
	{ "HEAD", "/pat/v1/health", ERR_METHOD, "GET" },
	{ "GET", "/pat/v1/introspect", ERR_METHOD, "POST" },	/* not pat_get */
	{ "DELETE", "/pat/v1/introspect", ERR_METHOD, "POST" },
	{ "GET", "/api/v1", ERR_METHOD, "POST" },
	{ "POST", "/demo/whoami", ERR_METHOD, "GET" },
};

static void
test_router_refuses(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(refused_cases); i++) {
		const struct refused_case *c = &refused_cases[i];
		struct request req;
		route_handler fn = NULL;
		enum error e;

		memset(&req, 0, sizeof(req));
		req.method = c->method;
		req.path = c->path;
		e = router_find(&req, &fn);
		expect(e == c->want, "%s \"%s\": error %d, want %d (handler %s)",
		    c->method, c->path, e, c->want, handler_name(fn));
		expect(fn == NULL, "%s \"%s\": handler %s set on an error", c->method,
		    c->path, handler_name(fn));
		if (c->allow == NULL)
			expect(req.allow == NULL, "%s \"%s\": Allow \"%s\" on a 404",
			    c->method, c->path, req.allow ? req.allow : "");
		else
			expect(req.allow != NULL && strcmp(req.allow, c->allow) == 0,
			    "%s \"%s\": Allow \"%s\", want \"%s\"", c->method, c->path,
			    req.allow ? req.allow : "(null)", c->allow);
	}
	cases_done();
}

/* The exact routes win over "/pat/v1/{id}" for every method. */
static void
test_router_exact_before_param(void **state)
{
	static const char *const methods[] = { "GET", "POST", "DELETE", "PUT" };
	static const char *const paths[] = {
		"/pat/v1/verify", "/pat/v1/health", "/pat/v1/introspect"
	};

	(void)state;
	for (size_t p = 0; p < NELEM(paths); p++)
		for (size_t m = 0; m < NELEM(methods); m++) {
			struct request req;
			route_handler fn = NULL;

			memset(&req, 0, sizeof(req));
			req.method = methods[m];
			req.path = paths[p];
			(void)router_find(&req, &fn);
			expect(fn != pat_get && fn != pat_revoke,
			    "%s %s went to %s", methods[m], paths[p], handler_name(fn));
		}
	cases_done();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_router_finds_every_route),
		cmocka_unit_test(test_router_refuses),
		cmocka_unit_test(test_router_exact_before_param),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
