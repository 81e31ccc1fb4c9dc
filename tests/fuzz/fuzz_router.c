/* fuzz_router.c - the router: a method, then a NUL or newline, then a path. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "router.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Is seg, not empty and without a slash, one whole segment of path? */
static int
router_segment(const char *path, const char *seg)
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
	struct request req;
	route_handler handler = NULL;
	const char *in = (const char *)data;
	size_t ml = 0;
	char *method, *path;
	enum error e;

	while (ml < size && in[ml] != '\0' && in[ml] != '\n')
		ml++;
	method = strndup(in, ml);
	path = ml < size ? strndup(in + ml + 1, size - ml - 1) : strdup("/");
	if (method == NULL || path == NULL)
		abort();
	memset(&req, 0, sizeof(req));
	/* The router copies the {id} into the request's arena. */
	arena_init(&req.arena, 256);
	req.method = method;
	req.path = path;
	e = router_find(&req, &handler);
	/* A route has a handler, and its {id} is a segment of the path; 405 says Allow. */
	if ((e == ERR_OK && (handler == NULL || (req.param != NULL &&
	    !router_segment(path, req.param)))) ||
	    (e == ERR_METHOD && req.allow == NULL) ||
	    (e != ERR_OK && e != ERR_METHOD && e != ERR_NOT_FOUND))
		abort();
	arena_free(&req.arena);
	free(method);
	free(path);
	return 0;
}
