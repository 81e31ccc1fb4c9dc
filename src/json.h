/* json.h - strict JSON request bodies (RFC 8259) read through yajl, and output helpers. */
#ifndef PATGATE_JSON_H
#define PATGATE_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <yajl/yajl_gen.h>

#include "alloc.h"
#include "error.h"

enum json_kind {
	JSON_INTEGER,	/* a JSON integer, or a string of decimal digits: long long */
	JSON_TEXT,	/* a non-blank string without control characters: char * */
	JSON_STRINGS	/* an array of at most max strings: struct json_strings */
};

struct json_strings {
	const char	**items;	/* in the arena */
	size_t		 n;
};

/* One declared field of a request object, required unless it says otherwise. */
struct json_field {
	const char	*name;
	enum json_kind	 kind;
	long long	 min, max;	/* value range, or length in code points */
	size_t		 offset;	/* where the value goes in the target */
	int		 optional;	/* absent: the target keeps what it holds */
	/* JSON_TEXT: a further rule; NULL when the text is acceptable, else why not. */
	const char	*(*check)(const char *);
};

/* 0 when s is exactly one JSON value in strict RFC 8259 syntax and strict UTF-8. */
int		json_check(const char *s, size_t n);
/*
 * Decode a request body that must be one JSON object into target, field by
 * field.  Unknown keys are ignored; a key given twice at any depth is
 * ERR_INVALID_JSON.  On ERR_INVALID_FIELD, *bad and *why say what is wrong.
 */
enum error	json_decode(const char *body, size_t len,
		    const struct json_field *, size_t nfields, void *target,
		    struct arena *, const struct json_field **bad, const char **why);

/* RFC 3339 UTC with milliseconds: 2026-11-28T12:00:00.000Z (25 bytes with NUL). */
void		json_time_format(char out[25], int64_t epoch_ms);
void		json_str(yajl_gen, const char *);	/* NULL: null */
void		json_key_str(yajl_gen, const char *key, const char *value);
void		json_key_int(yajl_gen, const char *key, long long value);
void		json_key_time(yajl_gen, const char *key, int64_t ms, int is_null);

#endif
