/* fuzz_form.c - the form parser of introspection requests. */
#include <stdint.h>
#include <stdlib.h>

#include "alloc.h"
#include "form.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct arena a;
	static int ready;
	const char *value;
	size_t len;
	int n;

	if (!ready) {
		arena_init(&a, 4096);
		ready = 1;
	}
	n = form_get(&a, (const char *)data, size, "token", &value, &len);
	/* Found: a NUL-terminated value no longer than its encoding; else none. */
	if (n > 0 ? value == NULL || len > size || value[len] != '\0' :
	    value != NULL || len != 0)
		abort();
	arena_reset(&a);
	return 0;
}
