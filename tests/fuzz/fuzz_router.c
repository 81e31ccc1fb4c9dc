/* fuzz_router.c - the router: a method, a newline, a path. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "router.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct request req;
	route_handler handler;
	const char *nl = memchr(data, '\n', size);
	size_t ml = nl != NULL ? (size_t)(nl - (const char *)data) : size;
	char *method, *path;
	enum error e;

	method = strndup((const char *)data, ml);
	path = nl != NULL ? strndup(nl + 1, size - ml - 1) : strdup("/");
	if (method == NULL || path == NULL)
		abort();
	memset(&req, 0, sizeof(req));
	req.method = method;
	req.path = path;
	e = router_find(&req, &handler);
	if ((e == ERR_METHOD && req.allow == NULL) ||
	    (e != ERR_OK && e != ERR_METHOD && e != ERR_NOT_FOUND))
		abort();
	free(method);
	free(path);
	return 0;
}
