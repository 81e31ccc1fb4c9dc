/*
 * fuzz_path.c - the path a request is routed on, as request_begin takes it
 * from PATH_INFO, SCRIPT_NAME, DOCUMENT_URI or REQUEST_URI, and the route
 * router_find gives it.  Each line of the input is one NAME=value
 * parameter, as a web server would pass it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>

#include "request.h"
#include "router.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define MAX_PARAMS	256

/* The last value of name, as a web server's later parameter overrides. */
static const char *
param(char **envp, const char *name)
{
	size_t n = strlen(name);
	const char *v = NULL;

	for (; *envp != NULL; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			v = *envp + n + 1;
	return v;
}

/* The path by the rule, worked out again: the first set of the four, no query, no trailing slash. */
static size_t
expected(char **envp, const char **path)
{
	static const char *const names[] = { "PATH_INFO", "SCRIPT_NAME", "DOCUMENT_URI" };
	const char *p = NULL, *q;
	size_t i, n;

	for (i = 0; i < 3 && p == NULL; i++)
		if ((p = param(envp, names[i])) != NULL && *p == '\0')
			p = NULL;
	if (p == NULL && (p = param(envp, "REQUEST_URI")) == NULL)
		p = "/";
	n = (q = strchr(p, '?')) != NULL ? (size_t)(q - p) : strlen(p);
	if (n > 1 && p[n - 1] == '/')
		n--;
	*path = p;
	return n;
}

/* Is seg, not empty and without a slash, one whole segment of path? */
static int
segment_of(const char *path, const char *seg)
{
	size_t n = strlen(seg);

	if (n == 0 || strchr(seg, '/') != NULL)
		return 0;
	for (const char *p = path; (p = strstr(p, seg)) != NULL; p++)
		if (p > path && p[-1] == '/' && (p[n] == '/' || p[n] == '\0'))
			return 1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct request req;
	static yajl_gen gen;
	char *envp[MAX_PARAMS + 1];
	const char *in = (const char *)data, *end = in + size, *nl, *want;
	route_handler handler;
	size_t n = 0, wl, pl;
	enum error e;

	if (gen == NULL) {
		if ((gen = yajl_gen_alloc(NULL)) == NULL)
			abort();
		request_init(&req, NULL, gen);
	}
	while (in < end && n < MAX_PARAMS) {
		if ((nl = memchr(in, '\n', (size_t)(end - in))) == NULL)
			nl = end;
		if ((envp[n++] = strndup(in, (size_t)(nl - in))) == NULL)
			abort();
		in = nl + 1;
	}
	envp[n] = NULL;

	(void)request_begin(&req, envp, NULL, NULL);
	wl = expected(envp, &want);
	pl = strlen(req.path);
	if (pl != wl || memcmp(req.path, want, wl) != 0 || memchr(req.path, '?', pl))
		abort();
	if (strcmp(req.method, param(envp, "REQUEST_METHOD") != NULL ?
	    param(envp, "REQUEST_METHOD") : "GET") != 0)
		abort();

	/* A route has a handler, and its {id} is a segment of the path; 405 says Allow. */
	handler = NULL;
	req.param = NULL;
	e = router_find(&req, &handler);
	if ((e == ERR_OK && (handler == NULL || (req.param != NULL &&
	    !segment_of(req.path, req.param)))) ||
	    (e == ERR_METHOD && req.allow == NULL) ||
	    (e != ERR_OK && e != ERR_METHOD && e != ERR_NOT_FOUND))
		abort();

	request_end(&req);
	while (n > 0)
		free(envp[--n]);
	return 0;
}
