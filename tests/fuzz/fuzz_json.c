/* fuzz_json.c - the API's JSON request bodies: json_check and json_decode. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "config.h"
#include "json.h"
#include "utf8.h"

struct body {
	long long	 days;
	const char	*description;
};

/* The same declaration as POST /pat/v1 (src/pat.c). */
static const struct json_field fields[] = {
	{ "days", JSON_INTEGER, 0, CONFIG_DAYS_MAX, offsetof(struct body, days) },
	{ "description", JSON_TEXT, 1, 255, offsetof(struct body, description) },
};

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct arena a;
	static int ready;
	const struct json_field *bad;
	const char *why, *p;
	struct body b;
	size_t chars = 0;
	int valid;

	if (!ready) {
		arena_init(&a, 4096);
		ready = 1;
	}
	valid = json_check((const char *)data, size) == 0;
	if (json_decode((const char *)data, size, fields, 2, &b, &a, &bad, &why) == ERR_OK) {
		/* What json_decode accepts, json_check accepts, and the fields hold. */
		if (!valid || b.days < 0 || b.days > CONFIG_DAYS_MAX ||
		    !utf8_valid(b.description, strlen(b.description)))
			abort();
		for (p = b.description; *p != '\0'; chars++)
			if (utf8_is_control(utf8_next(&p)))
				abort();
		if (chars < 1 || chars > 255)
			abort();
	}
	arena_reset(&a);
	return 0;
}
