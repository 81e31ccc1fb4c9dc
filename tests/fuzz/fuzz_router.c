/* fuzz_router.c - the router: a method, then a NUL or newline, then a path. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "router.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

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
	req.method = method;
	req.path = path;
	e = router_find(&req, &handler);
	/* A route has a handler, and its {id} lies inside the path; 405 says Allow. */
	if ((e == ERR_OK && (handler == NULL || (req.param != NULL &&
	    (req.param < path || req.param > path + strlen(path))))) ||
	    (e == ERR_METHOD && req.allow == NULL) ||
	    (e != ERR_OK && e != ERR_METHOD && e != ERR_NOT_FOUND))
		abort();
	free(method);
	free(path);
	return 0;
}
