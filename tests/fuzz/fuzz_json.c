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
	{ "days", JSON_INTEGER, 0, CONFIG_DAYS_MAX, offsetof(struct body, days), 0, NULL },
	{ "description", JSON_TEXT, 1, 255, offsetof(struct body, description), 0, NULL },
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* 0 when what json_decode accepted is what POST /pat/v1 may store. */
static int
body_ok(const struct body *b)
{
	const char *p = b->description;
	size_t chars = 0;

	if (b->days < 0 || b->days > CONFIG_DAYS_MAX || p == NULL ||
	    !utf8_valid(p, strlen(p)))
		return -1;
	for (; *p != '\0'; chars++)
		if (utf8_is_control(utf8_next(&p)))
			return -1;
	return chars >= 1 && chars <= 255 ? 0 : -1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct arena a;
	static int ready;
	const struct json_field *bad = NULL;
	const char *why = NULL;
	struct body b;
	enum error e;
	int valid;

	if (!ready) {
		arena_init(&a, 4096);
		ready = 1;
	}
	valid = json_check((const char *)data, size) == 0;
	memset(&b, 0, sizeof(b));
	e = json_decode((const char *)data, size, fields, NFIELDS, &b, &a, &bad, &why);
	switch (e) {
	case ERR_OK:
		/* What json_decode accepts, json_check accepts, and the fields hold. */
		if (!valid || body_ok(&b) == -1)
			abort();
		break;
	case ERR_INVALID_FIELD:
		/* The answer names one declared field and says why. */
		if (!valid || bad < fields || bad >= fields + NFIELDS ||
		    why == NULL || *why == '\0')
			abort();
		break;
	case ERR_INVALID_JSON:
		break;
	default:
		abort();
	}
	arena_reset(&a);
	return 0;
}
