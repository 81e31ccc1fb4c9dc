/* json.c - strict JSON request bodies (RFC 8259) read through yajl, and output helpers. */
#include "json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <yajl/yajl_parse.h>

#include "utf8.h"

#define JSON_DEPTH_MAX	64

/* ------------------------------------------------------------------ syntax */

struct json_cursor {
	const unsigned char	*p, *end;
};

static void
json_ws(struct json_cursor *c)
{
	while (c->p < c->end &&
	    (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

static int
json_lit(struct json_cursor *c, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
		return -1;
	c->p += n;
	return 0;
}

static int
json_digits(struct json_cursor *c)
{
	const unsigned char *start = c->p;

	while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
		c->p++;
	return c->p > start ? 0 : -1;
}

static int
json_number(struct json_cursor *c)
{
	if (c->p < c->end && *c->p == '-')
		c->p++;
	if (c->p < c->end && *c->p == '0')
		c->p++;
	else if (json_digits(c) == -1)
		return -1;
	if (c->p < c->end && *c->p == '.') {
		c->p++;
		if (json_digits(c) == -1)
			return -1;
	}
	if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
		c->p++;
		if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
			c->p++;
		if (json_digits(c) == -1)
			return -1;
	}
	return 0;
}

static int
json_hex4(struct json_cursor *c, unsigned *v)
{
	int i, d;

	*v = 0;
	for (i = 0; i < 4; i++, c->p++) {
		if (c->p >= c->end)
			return -1;
		if (*c->p >= '0' && *c->p <= '9')
			d = *c->p - '0';
		else if ((*c->p | 0x20) >= 'a' && (*c->p | 0x20) <= 'f')
			d = (*c->p | 0x20) - 'a' + 10;
		else
			return -1;
		*v = *v << 4 | (unsigned)d;
	}
	return 0;
}

/*
 * A string.  Escaped surrogates must pair up (RFC 7493 2.1): a lone one
 * names no character, and yajl would quietly turn it into another.
 */
static int
json_string(struct json_cursor *c)
{
	unsigned u, low;

	c->p++;		/* the opening quote */
	while (c->p < c->end) {
		unsigned char ch = *c->p++;

		if (ch == '"')
			return 0;
		if (ch < 0x20)
			return -1;
		if (ch != '\\')
			continue;
		if (c->p >= c->end)
			return -1;
		ch = *c->p++;
		if (ch == 'u') {
			if (json_hex4(c, &u) == -1 || (u >= 0xdc00 && u <= 0xdfff))
				return -1;
			if (u >= 0xd800 && u <= 0xdbff &&
			    (c->end - c->p < 6 || c->p[0] != '\\' || c->p[1] != 'u' ||
			    (c->p += 2, json_hex4(c, &low)) == -1 ||
			    low < 0xdc00 || low > 0xdfff))
				return -1;
		} else if (strchr("\"\\/bfnrt", ch) == NULL || ch == '\0')
			return -1;
	}
	return -1;
}

static int
json_value(struct json_cursor *c, int depth)
{
	unsigned char close;

	json_ws(c);
	if (c->p >= c->end)
		return -1;
	switch (*c->p) {
	case '"':
		return json_string(c);
	case 't':
		return json_lit(c, "true");
	case 'f':
		return json_lit(c, "false");
	case 'n':
		return json_lit(c, "null");
	case '{':
	case '[':
		break;
	default:
		return json_number(c);
	}
	if (depth >= JSON_DEPTH_MAX)
		return -1;
	close = *c->p == '{' ? '}' : ']';
	c->p++;
	json_ws(c);
	if (c->p < c->end && *c->p == close) {
		c->p++;
		return 0;
	}
	for (;;) {
		if (close == '}') {
			json_ws(c);
			if (c->p >= c->end || *c->p != '"' || json_string(c) == -1)
				return -1;
			json_ws(c);
			if (c->p >= c->end || *c->p++ != ':')
				return -1;
		}
		if (json_value(c, depth + 1) == -1)
			return -1;
		json_ws(c);
		if (c->p >= c->end)
			return -1;
		if (*c->p == close) {
			c->p++;
			return 0;
		}
		if (*c->p++ != ',')
			return -1;
	}
}

int
json_check(const char *s, size_t n)
{
	struct json_cursor c = { (const unsigned char *)s,
	    (const unsigned char *)s + n };

	if (!utf8_valid(s, n) || json_value(&c, 0) == -1)
		return -1;
	json_ws(&c);
	return c.p == c.end ? 0 : -1;
}

/* ------------------------------------------------------------------ decoding */

enum json_seen { SEEN_NOTHING, SEEN_STRING, SEEN_NUMBER, SEEN_LIST, SEEN_OTHER };

struct json_key {
	const char	*s;
	size_t		 len;
};

struct json_state {
	struct arena		*arena;
	const struct json_field	*fields;
	size_t			 nfields;
	enum json_seen		*seen;		/* per field */
	const char		**raw;		/* per field: string or number text */
	size_t			*rawlen;
	int			 depth;
	int			 top_is_object;
	long			 current;	/* field index of the depth-1 key, or -1 */
	long			 list;		/* the field whose array is open, or -1 */
	int			 list_bad;	/* it held something but strings */
	struct json_strings	*lists;		/* per field */
	size_t			 listcap;
	struct json_key		*keys;		/* keys of the open objects */
	size_t			 nkeys, capkeys;
	size_t			 starts[JSON_DEPTH_MAX + 1];	/* first key per depth */
};

/* An item of a JSON_STRINGS field's array. */
static int
json_on_item(struct json_state *s, enum json_seen kind, const char *v, size_t len)
{
	struct json_strings *l = &s->lists[s->list];
	const char **grown;

	if (kind != SEEN_STRING) {
		s->list_bad = 1;
		return 1;
	}
	if (l->n == s->listcap) {
		if (l->n >= (size_t)s->fields[s->list].max) {
			l->n++;		/* too many: counted, not kept */
			return 1;
		}
		s->listcap = s->listcap ? s->listcap * 2 : 8;
		if ((grown = arena_alloc(s->arena, s->listcap * sizeof(*grown))) == NULL)
			return 0;
		if (l->n > 0)
			memcpy(grown, l->items, l->n * sizeof(*grown));
		l->items = grown;
	}
	return (l->items[l->n++] = arena_strndup(s->arena, v, len)) != NULL;
}

static int
json_on_value(struct json_state *s, enum json_seen kind, const char *v, size_t len)
{
	if (s->depth == 2 && s->list >= 0)
		return json_on_item(s, kind, v, len);
	if (s->depth != 1 || s->current < 0)
		return 1;
	s->seen[s->current] = kind;
	if (kind == SEEN_STRING || kind == SEEN_NUMBER) {
		if ((s->raw[s->current] = arena_strndup(s->arena, v, len)) == NULL)
			return 0;
		s->rawlen[s->current] = len;
	}
	return 1;
}

static int
json_on_null(void *ctx)
{
	return json_on_value(ctx, SEEN_OTHER, NULL, 0);
}

static int
json_on_bool(void *ctx, int b)
{
	(void)b;
	return json_on_value(ctx, SEEN_OTHER, NULL, 0);
}

static int
json_on_number(void *ctx, const char *v, size_t len)
{
	return json_on_value(ctx, SEEN_NUMBER, v, len);
}

static int
json_on_string(void *ctx, const unsigned char *v, size_t len)
{
	return json_on_value(ctx, SEEN_STRING, (const char *)v, len);
}

static int
json_key_cmp(const void *a, const void *b)
{
	const struct json_key *x = a, *y = b;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(x->s, y->s, x->len);
}

static int
json_on_key(void *ctx, const unsigned char *k, size_t len)
{
	struct json_state *s = ctx;
	struct json_key *grown;

	if (s->nkeys == s->capkeys) {
		s->capkeys = s->capkeys ? s->capkeys * 2 : 32;
		if ((grown = arena_alloc(s->arena, s->capkeys * sizeof(*grown))) == NULL)
			return 0;
		if (s->nkeys > 0)
			memcpy(grown, s->keys, s->nkeys * sizeof(*grown));
		s->keys = grown;
	}
	if ((s->keys[s->nkeys].s = arena_strndup(s->arena, (const char *)k, len)) == NULL)
		return 0;
	s->keys[s->nkeys++].len = len;
	if (s->depth == 1) {
		s->current = -1;
		for (size_t i = 0; i < s->nfields; i++)
			if (strlen(s->fields[i].name) == len &&
			    memcmp(s->fields[i].name, k, len) == 0)
				s->current = (long)i;
	}
	return 1;
}

static int
json_on_start(void *ctx)
{
	struct json_state *s = ctx;

	if (s->depth == 0)
		return 0;	/* the top level must be an object */
	if (json_on_value(s, SEEN_OTHER, NULL, 0) == 0 || s->depth >= JSON_DEPTH_MAX)
		return 0;
	s->starts[++s->depth] = s->nkeys;
	return 1;
}

static int
json_on_start_array(void *ctx)
{
	struct json_state *s = ctx;

	if (s->depth == 1 && s->current >= 0 &&
	    s->fields[s->current].kind == JSON_STRINGS) {
		s->seen[s->current] = SEEN_LIST;
		s->list = s->current;
		s->listcap = 0;
		s->starts[++s->depth] = s->nkeys;
		return 1;
	}
	return json_on_start(ctx);
}

static int
json_on_start_map(void *ctx)
{
	struct json_state *s = ctx;

	if (s->depth == 0) {
		s->top_is_object = 1;
		s->starts[++s->depth] = s->nkeys;
		return 1;
	}
	return json_on_start(ctx);
}

/* Closing an object: sort its keys and look for a repeat. */
static int
json_on_end_map(void *ctx)
{
	struct json_state *s = ctx;
	size_t first = s->starts[s->depth], n = s->nkeys - first, i;

	if (n > 1) {
		qsort(s->keys + first, n, sizeof(*s->keys), json_key_cmp);
		for (i = first + 1; i < s->nkeys; i++)
			if (json_key_cmp(&s->keys[i - 1], &s->keys[i]) == 0)
				return 0;
	}
	s->nkeys = first;
	s->depth--;
	return 1;
}

static int
json_on_end_array(void *ctx)
{
	struct json_state *s = ctx;

	if (s->depth == 2)
		s->list = -1;
	s->depth--;
	return 1;
}

static const yajl_callbacks json_callbacks = {
	json_on_null, json_on_bool, NULL, NULL, json_on_number, json_on_string,
	json_on_start_map, json_on_key, json_on_end_map, json_on_start_array,
	json_on_end_array
};

/* A JSON integer, or a string of decimal digits as Terrakube accepts. */
static const char *
json_field_integer(const struct json_field *f, enum json_seen seen,
    const char *raw, size_t len, long long *out)
{
	const char *p = raw;
	char *end;
	long long v;

	if (seen != SEEN_NUMBER && seen != SEEN_STRING)
		return "must be an integer";
	if (seen == SEEN_STRING && (len == 0 || strspn(raw, "0123456789") != len))
		return "must be an integer (a string holds only the digits 0-9)";
	if (seen == SEEN_NUMBER) {
		if (*p == '-')
			p++;
		if (strspn(p, "0123456789") != strlen(p))
			return "must be an integer, without a fraction or exponent";
	}
	/* -0 is a sign on nothing: a field that takes no negatives takes no -0 either. */
	if (*raw == '-' && f->min >= 0)
		return NULL;
	errno = 0;
	v = strtoll(raw, &end, 10);
	if (errno == ERANGE || v < f->min || v > f->max)
		return NULL;	/* out of range: the caller words it */
	*out = v;
	return "";
}

static const char *
json_field_text(const struct json_field *f, enum json_seen seen,
    const char *raw, size_t len)
{
	const char *p = raw, *end = raw + len;
	long long count = 0;
	int blank = 1;

	if (seen != SEEN_STRING)
		return "must be a string";
	/* yajl decodes escapes, so check the decoded text again. */
	if (!utf8_valid(raw, len))
		return "must be valid Unicode text";
	while (p < end) {
		uint32_t cp = utf8_next(&p);

		if (utf8_is_control(cp))
			return "must not contain control characters";
		if (!utf8_is_space(cp))
			blank = 0;
		count++;
	}
	if (count == 0)
		return "must not be empty";
	if (blank)
		return "must not be only whitespace";
	if (count < f->min || count > f->max)
		return NULL;
	return "";
}

enum error
json_decode(const char *body, size_t len, const struct json_field *fields,
    size_t nfields, void *target, struct arena *arena,
    const struct json_field **bad, const char **why)
{
	yajl_alloc_funcs afs = { arena_yajl_malloc, arena_yajl_realloc,
	    arena_yajl_free, arena };
	struct json_state s;
	yajl_handle h;
	size_t i;
	int ok;

	if (len == 0 || json_check(body, len) == -1)
		return ERR_INVALID_JSON;
	memset(&s, 0, sizeof(s));
	s.arena = arena;
	s.fields = fields;
	s.nfields = nfields;
	s.current = -1;
	s.list = -1;
	s.seen = arena_alloc(arena, nfields * sizeof(*s.seen));
	s.raw = arena_alloc(arena, nfields * sizeof(*s.raw));
	s.rawlen = arena_alloc(arena, nfields * sizeof(*s.rawlen));
	s.lists = arena_alloc(arena, nfields * sizeof(*s.lists));
	if (s.seen == NULL || s.raw == NULL || s.rawlen == NULL || s.lists == NULL ||
	    (h = yajl_alloc(&json_callbacks, &afs, &s)) == NULL)
		return ERR_INTERNAL;
	memset(s.seen, 0, nfields * sizeof(*s.seen));
	memset(s.lists, 0, nfields * sizeof(*s.lists));
	yajl_config(h, yajl_allow_comments, 0);
	ok = yajl_parse(h, (const unsigned char *)body, len) == yajl_status_ok &&
	    yajl_complete_parse(h) == yajl_status_ok;
	yajl_free(h);
	if (!ok || !s.top_is_object)
		return ERR_INVALID_JSON;

	for (i = 0; i < nfields; i++) {
		const struct json_field *f = &fields[i];
		char *dst = (char *)target + f->offset;
		const char *msg;

		*bad = f;
		if (s.seen[i] == SEEN_NOTHING) {
			if (f->optional)
				continue;
			*why = "is required";
			return ERR_INVALID_FIELD;
		}
		if (f->kind == JSON_INTEGER)
			msg = json_field_integer(f, s.seen[i], s.raw[i], s.rawlen[i],
			    (long long *)dst);
		else if (f->kind == JSON_STRINGS) {
			msg = s.seen[i] != SEEN_LIST || s.list_bad ?
			    "must be an array of strings" :
			    s.lists[i].n > (size_t)f->max ||
			    s.lists[i].n < (size_t)f->min ? NULL : "";
			*(struct json_strings *)dst = s.lists[i];
		} else {
			msg = json_field_text(f, s.seen[i], s.raw[i], s.rawlen[i]);
			if (msg != NULL && *msg == '\0' && f->check != NULL &&
			    (msg = f->check(s.raw[i])) == NULL)
				msg = "";
			*(const char **)dst = s.raw[i];
		}
		if (msg == NULL) {
			char *buf = arena_alloc(arena, 96);

			if (buf != NULL)
				snprintf(buf, 96, f->kind == JSON_INTEGER ?
				    "must be from %lld to %lld" : f->kind == JSON_STRINGS ?
				    "must hold %lld to %lld items" :
				    "must be %lld to %lld characters long", f->min, f->max);
			*why = buf != NULL ? buf : "is out of range";
			return ERR_INVALID_FIELD;
		}
		if (*msg != '\0') {
			*why = msg;
			return ERR_INVALID_FIELD;
		}
	}
	*bad = NULL;
	return ERR_OK;
}

/* ------------------------------------------------------------------ output */

static void
json_digits2(char *p, int v)
{
	p[0] = (char)('0' + v / 10);
	p[1] = (char)('0' + v % 10);
}

/*
 * A list writes four dates per token, so this does by arithmetic what
 * gmtime_r and strftime do by table and locale: the proleptic Gregorian
 * date of a day count (H. Hinnant's days-to-civil).
 */
void
json_time_format(char out[25], int64_t ms)
{
	int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
	int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
	int64_t sod = secs - days * 86400, z = days + 719468, era, doe, yoe, y, doy, mp;
	int frac = (int)(ms - secs * 1000), month, day;

	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	day = (int)(doy - (153 * mp + 2) / 5 + 1);
	month = (int)(mp < 10 ? mp + 3 : mp - 9);
	y += month <= 2;
	if (y < 0 || y > 9999)
		y = y < 0 ? 0 : 9999;	/* outside RFC 3339: never stored */
	json_digits2(out, (int)(y / 100));
	json_digits2(out + 2, (int)(y % 100));
	out[4] = '-';
	json_digits2(out + 5, month);
	out[7] = '-';
	json_digits2(out + 8, day);
	out[10] = 'T';
	json_digits2(out + 11, (int)(sod / 3600));
	out[13] = ':';
	json_digits2(out + 14, (int)(sod / 60 % 60));
	out[16] = ':';
	json_digits2(out + 17, (int)(sod % 60));
	out[19] = '.';
	out[20] = (char)('0' + frac / 100);
	out[21] = (char)('0' + frac / 10 % 10);
	out[22] = (char)('0' + frac % 10);
	out[23] = 'Z';
	out[24] = '\0';
}

void
json_str(yajl_gen g, const char *s)
{
	if (s == NULL)
		yajl_gen_null(g);
	else
		yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}

void
json_key_str(yajl_gen g, const char *key, const char *value)
{
	json_str(g, key);
	json_str(g, value);
}

void
json_key_int(yajl_gen g, const char *key, long long value)
{
	/* yajl_gen_integer formats with sprintf; a list writes three a token. */
	char buf[24], *p = buf + sizeof(buf);
	unsigned long long u = value < 0 ? 0 - (unsigned long long)value :
	    (unsigned long long)value;

	do
		*--p = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (value < 0)
		*--p = '-';
	json_str(g, key);
	yajl_gen_number(g, p, (size_t)(buf + sizeof(buf) - p));
}

void
json_key_time(yajl_gen g, const char *key, int64_t ms, int is_null)
{
	char buf[25];

	json_str(g, key);
	if (is_null) {
		yajl_gen_null(g);
		return;
	}
	json_time_format(buf, ms);
	yajl_gen_string(g, (const unsigned char *)buf, 24);
}
