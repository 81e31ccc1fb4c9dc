/* test_json.c - strict JSON checks, request body decoding, and output helpers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "cases.h"
#include <yajl/yajl_gen.h>

#include "alloc.h"
#include "json.h"

/* ------------------------------------------------------------------ json_check */

struct check_case {
	const char	*name;
	const char	*text;
	size_t		 len;
	int		 want;		/* 0 valid, -1 refused */
};

/* Golden cases in the manner of yajl's test/parsing/cases: text and verdict side by side. */
static const struct check_case check_cases[] = {
	/* valid */
	{ "empty object", BYTES("{}"), 0 },
	{ "empty array", BYTES("[]"), 0 },
	{ "bare string", BYTES("\"x\""), 0 },
	{ "bare number", BYTES("7"), 0 },
	{ "true", BYTES("true"), 0 },
	{ "false", BYTES("false"), 0 },
	{ "null", BYTES("null"), 0 },
	{ "zero", BYTES("0"), 0 },
	{ "minus zero", BYTES("-0"), 0 },
	{ "negative", BYTES("-12"), 0 },
	{ "fraction", BYTES("0.5"), 0 },
	{ "exponent", BYTES("1e5"), 0 },
	{ "exponent upper case, signed", BYTES("1E+5"), 0 },
	{ "negative exponent with fraction", BYTES("-1.25e-3"), 0 },
	{ "exponent with leading zeros", BYTES("1e007"), 0 },
	{ "number bigger than any integer type", BYTES("99999999999999999999999999999"), 0 },
	{ "huge exponent", BYTES("1e99999"), 0 },
	{ "all the simple escapes", BYTES("\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\""), 0 },
	{ "\\u0000 escape", BYTES("\"a\\u0000b\""), 0 },
	{ "\\u escape mixed-case hex", BYTES("\"\\u00e9\\u00E9\""), 0 },
	{ "surrogate-pair escape", BYTES("\"\\ud83d\\ude00\""), 0 },
	{ "raw UTF-8 in a string", BYTES("\"caf\xc3\xa9 \xf0\x9f\x98\x80\""), 0 },
	{ "raw DEL in a string", BYTES("\"\x7f\""), 0 },
	{ "all four whitespace bytes around", BYTES(" \t\r\n{ \"a\" : [ 1 , 2 ] }\n\r\t "), 0 },
	{ "nested objects and arrays", BYTES("{\"a\":{\"b\":[1,{\"c\":null}]},\"d\":[]}"), 0 },
	{ "duplicate keys are syntax-valid", BYTES("{\"a\":1,\"a\":2}"), 0 },
	{ "empty key", BYTES("{\"\":1}"), 0 },

	/* numbers */
	{ "leading zero", BYTES("01"), -1 },
	{ "negative leading zero", BYTES("-01"), -1 },
	{ "leading zero inside array", BYTES("[01]"), -1 },
	{ "trailing dot", BYTES("1."), -1 },
	{ "leading dot", BYTES(".5"), -1 },
	{ "plus sign", BYTES("+1"), -1 },
	{ "exponent without digits", BYTES("1e"), -1 },
	{ "exponent sign without digits", BYTES("1e+"), -1 },
	{ "dot then exponent", BYTES("1.e3"), -1 },
	{ "minus alone", BYTES("-"), -1 },
	{ "minus then letter", BYTES("-a"), -1 },
	{ "hex", BYTES("0x10"), -1 },
	{ "NaN", BYTES("NaN"), -1 },
	{ "Infinity", BYTES("Infinity"), -1 },
	{ "-Infinity", BYTES("-Infinity"), -1 },
	{ "NaN as a value", BYTES("{\"a\":NaN}"), -1 },

	/* literals */
	{ "capitalised True", BYTES("True"), -1 },
	{ "truncated true", BYTES("tru"), -1 },
	{ "truncated null", BYTES("nul"), -1 },
	{ "true then letters", BYTES("truex"), -1 },
	{ "undefined", BYTES("undefined"), -1 },

	/* structure */
	{ "empty input", BYTES(""), -1 },
	{ "only whitespace", BYTES(" \n"), -1 },
	{ "line comment", BYTES("{} // c"), -1 },
	{ "block comment", BYTES("{/* c */}"), -1 },
	{ "hash comment", BYTES("# c\n{}"), -1 },
	{ "trailing comma in array", BYTES("[1,]"), -1 },
	{ "trailing comma in object", BYTES("{\"a\":1,}"), -1 },
	{ "leading comma", BYTES("[,1]"), -1 },
	{ "missing comma", BYTES("[1 2]"), -1 },
	{ "missing colon", BYTES("{\"a\" 1}"), -1 },
	{ "missing value", BYTES("{\"a\":}"), -1 },
	{ "number as key", BYTES("{1:2}"), -1 },
	{ "bare word key", BYTES("{a:1}"), -1 },
	{ "single-quoted string", BYTES("['a']"), -1 },
	{ "single-quoted key", BYTES("{'a':1}"), -1 },
	{ "unclosed array", BYTES("[1"), -1 },
	{ "unclosed object", BYTES("{\"a\":1"), -1 },
	{ "unclosed string", BYTES("\"abc"), -1 },
	{ "mismatched brackets", BYTES("[}"), -1 },
	{ "extra closing bracket", BYTES("[]]"), -1 },
	{ "trailing garbage", BYTES("{}x"), -1 },
	{ "two values", BYTES("{} {}"), -1 },
	{ "two numbers", BYTES("1 2"), -1 },
	{ "NUL after the value", BYTES("{}\0"), -1 },

	/* whitespace other than space, tab, CR, LF */
	{ "form feed", BYTES("\f{}"), -1 },
	{ "vertical tab", BYTES("{}\v"), -1 },
	{ "no-break space U+00A0", BYTES("\xc2\xa0{}"), -1 },
	{ "ideographic space U+3000", BYTES("{}\xe3\x80\x80"), -1 },
	{ "byte order mark", BYTES("\xef\xbb\xbf{}"), -1 },

	/* strings */
	{ "raw tab in a string", BYTES("\"a\tb\""), -1 },
	{ "raw newline in a string", BYTES("\"a\nb\""), -1 },
	{ "raw NUL in a string", BYTES("\"a\0b\""), -1 },
	{ "raw U+001F in a string", BYTES("\"\x1f\""), -1 },
	{ "bad escape \\x", BYTES("\"\\x41\""), -1 },
	{ "bad escape \\a", BYTES("\"\\a\""), -1 },
	{ "bad escape \\'", BYTES("\"\\'\""), -1 },
	{ "short \\u12", BYTES("\"\\u12\""), -1 },
	{ "\\u with non-hex", BYTES("\"\\u12G4\""), -1 },
	{ "\\U upper case", BYTES("\"\\U0041\""), -1 },
	{ "backslash at the end", BYTES("\"\\"), -1 },
	{ "escaped closing quote only", BYTES("\"\\\""), -1 },

	/* UTF-8 */
	{ "invalid UTF-8 in a string", BYTES("\"\xc3\x28\""), -1 },
	{ "overlong in a string", BYTES("\"\xc0\xaf\""), -1 },
	{ "encoded surrogate in a string", BYTES("\"\xed\xa0\x80\""), -1 },
	{ "above U+10FFFF in a string", BYTES("\"\xf4\x90\x80\x80\""), -1 },
	{ "truncated sequence in a string", BYTES("\"\xe2\x82\""), -1 },
	{ "invalid UTF-8 in a key", BYTES("{\"\xff\":1}"), -1 },
	{ "Latin-1 byte", BYTES("\"caf\xe9\""), -1 },
};

static void
test_json_check_golden(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(check_cases); i++) {
		const struct check_case *c = &check_cases[i];
		int got = json_check(c->text, c->len);

		expect(got == c->want, "json_check(%s) = %d, want %d", c->name, got,
		    c->want);
	}
	cases_done();
}

/* n arrays inside each other: "[[...]]". */
static char *
nested_arrays(int n)
{
	char *s = malloc((size_t)n * 2 + 1);

	assert_non_null(s);
	memset(s, '[', (size_t)n);
	memset(s + n, ']', (size_t)n);
	s[n * 2] = '\0';
	return s;
}

static void
test_json_check_depth(void **state)
{
	char *ok = nested_arrays(64), *deep = nested_arrays(65), *deeper = nested_arrays(5000);

	(void)state;
	assert_int_equal(json_check(ok, strlen(ok)), 0);
	assert_int_equal(json_check(deep, strlen(deep)), -1);
	assert_int_equal(json_check(deeper, strlen(deeper)), -1);
	free(ok);
	free(deep);
	free(deeper);
}

/* Only the given length is read: a valid prefix passes, a cut value fails. */
static void
test_json_check_uses_length(void **state)
{
	const char s[] = "{\"a\":1}garbage";

	(void)state;
	assert_int_equal(json_check(s, 7), 0);
	assert_int_equal(json_check(s, 6), -1);
	assert_int_equal(json_check(s, sizeof(s) - 1), -1);
}

/* ------------------------------------------------------------------ json_decode */

/* The body of POST /pat/v1, declared as src/pat.c declares it. */
struct pat_body {
	long long	 days;
	const char	*description;
};

static const struct json_field pat_fields[] = {
	{ "days", JSON_INTEGER, 0, 36500, offsetof(struct pat_body, days), 0, NULL },
	{ "description", JSON_TEXT, 1, 255, offsetof(struct pat_body, description), 0, NULL },
};

struct decoded {
	enum error	 err;
	const char	*bad;		/* the field at fault, or NULL */
	const char	*why;
	struct pat_body	 body;
};

static struct decoded
decode(struct arena *a, const char *body, size_t len)
{
	const struct json_field *bad = NULL;
	struct decoded d;

	memset(&d, 0, sizeof(d));
	d.body.days = -12345;
	d.err = json_decode(body, len, pat_fields, NELEM(pat_fields), &d.body, a,
	    &bad, &d.why);
	d.bad = bad != NULL ? bad->name : NULL;
	return d;
}

static const char *
error_name(enum error e)
{
	switch (e) {
	case ERR_OK: return "ERR_OK";
	case ERR_INVALID_JSON: return "ERR_INVALID_JSON";
	case ERR_INVALID_FIELD: return "ERR_INVALID_FIELD";
	case ERR_INTERNAL: return "ERR_INTERNAL";
	default: return "another error";
	}
}

struct decode_case {
	const char	*name;
	const char	*body;
	size_t		 len;
	enum error	 want;
	const char	*bad;		/* ERR_INVALID_FIELD: the field named */
	long long	 days;		/* ERR_OK: the values decoded */
	const char	*description;
};

#define OK(name, body, days, desc)	{ name, BYTES(body), ERR_OK, NULL, days, desc }
#define FIELD(name, body, field)	{ name, BYTES(body), ERR_INVALID_FIELD, field, 0, NULL }
#define SYNTAX(name, body)		{ name, BYTES(body), ERR_INVALID_JSON, NULL, 0, NULL }
#define DESC_X	",\"description\":\"x\"}"

static const struct decode_case decode_cases[] = {
	OK("plain", "{\"days\":7,\"description\":\"x\"}", 7, "x"),
	OK("keys in the other order", "{\"description\":\"x\",\"days\":7}", 7, "x"),
	OK("days as a string of digits", "{\"days\":\"7\"" DESC_X, 7, "x"),
	OK("days string with leading zeros", "{\"days\":\"007\"" DESC_X, 7, "x"),
	OK("days 0 (never expires)", "{\"days\":0" DESC_X, 0, "x"),
	OK("days at the limit", "{\"days\":36500" DESC_X, 36500, "x"),
	FIELD("days -0 (a sign on nothing)", "{\"days\":-0" DESC_X, "days"),
	OK("whitespace around", " \n{ \"days\" : 1 ,\r\n\t\"description\" : \"x\" } \n", 1, "x"),
	OK("description with inner spaces", "{\"days\":1,\"description\":\"  my token  \"}", 1, "  my token  "),
	OK("description with escapes", "{\"days\":1,\"description\":\"a\\\"b\\\\c\\/d\"}", 1, "a\"b\\c/d"),
	OK("description \\u escape decoded", "{\"days\":1,\"description\":\"caf\\u00e9\"}", 1, "caf\xc3\xa9"),
	OK("description surrogate pair decoded", "{\"days\":1,\"description\":\"\\ud83d\\ude00\"}", 1, "\xf0\x9f\x98\x80"),
	OK("description raw UTF-8", "{\"days\":1,\"description\":\"\xe6\x97\xa5\xe6\x9c\xac\"}", 1, "\xe6\x97\xa5\xe6\x9c\xac"),
	OK("description with U+3000 and text", "{\"days\":1,\"description\":\"\xe3\x80\x80x\"}", 1, "\xe3\x80\x80x"),
	OK("unknown keys ignored", "{\"days\":1,\"description\":\"x\",\"extra\":5,\"more\":\"y\"}", 1, "x"),
	OK("unknown key with nested values", "{\"x\":{\"a\":[1,{\"b\":null}],\"c\":true},\"days\":2,\"description\":\"d\"}", 2, "d"),
	OK("declared names nested inside an unknown key", "{\"x\":{\"days\":\"bad\",\"description\":5},\"days\":3,\"description\":\"d\"}", 3, "d"),
	OK("the same key in sibling objects", "{\"x\":{\"a\":1},\"y\":{\"a\":1},\"z\":[{\"a\":1},{\"a\":1}],\"days\":1" DESC_X, 1, "x"),
	OK("a key that only differs by case", "{\"days\":1,\"Days\":2" DESC_X, 1, "x"),

	FIELD("days missing", "{\"description\":\"x\"}", "days"),
	FIELD("days 7.5", "{\"days\":7.5" DESC_X, "days"),
	FIELD("days \"7.5\"", "{\"days\":\"7.5\"" DESC_X, "days"),
	FIELD("days \"abc\"", "{\"days\":\"abc\"" DESC_X, "days"),
	FIELD("days \"\"", "{\"days\":\"\"" DESC_X, "days"),
	FIELD("days \" 7\"", "{\"days\":\" 7\"" DESC_X, "days"),
	FIELD("days \"+7\"", "{\"days\":\"+7\"" DESC_X, "days"),
	FIELD("days \"-1\"", "{\"days\":\"-1\"" DESC_X, "days"),
	FIELD("days \"7\\u0000\"", "{\"days\":\"7\\u0000\"" DESC_X, "days"),
	FIELD("days true", "{\"days\":true" DESC_X, "days"),
	FIELD("days false", "{\"days\":false" DESC_X, "days"),
	FIELD("days null", "{\"days\":null" DESC_X, "days"),
	FIELD("days 1e2", "{\"days\":1e2" DESC_X, "days"),
	FIELD("days 7.0", "{\"days\":7.0" DESC_X, "days"),
	FIELD("days -1", "{\"days\":-1" DESC_X, "days"),
	FIELD("days 36501", "{\"days\":36501" DESC_X, "days"),
	FIELD("days \"36501\"", "{\"days\":\"36501\"" DESC_X, "days"),
	FIELD("days 99999999999999999999", "{\"days\":99999999999999999999" DESC_X, "days"),
	FIELD("days \"99999999999999999999\"", "{\"days\":\"99999999999999999999\"" DESC_X, "days"),
	FIELD("days -99999999999999999999", "{\"days\":-99999999999999999999" DESC_X, "days"),
	FIELD("days array", "{\"days\":[7]" DESC_X, "days"),
	FIELD("days object", "{\"days\":{\"n\":7}" DESC_X, "days"),
	FIELD("days wins over description when both are bad", "{\"days\":\"x\",\"description\":\"\"}", "days"),

	FIELD("description missing", "{\"days\":1}", "description"),
	FIELD("description empty", "{\"days\":1,\"description\":\"\"}", "description"),
	FIELD("description spaces only", "{\"days\":1,\"description\":\"   \"}", "description"),
	FIELD("description U+3000 only", "{\"days\":1,\"description\":\"\xe3\x80\x80\"}", "description"),
	FIELD("description U+00A0 only", "{\"days\":1,\"description\":\"\xc2\xa0\"}", "description"),
	FIELD("description \\u3000\\u00a0 escapes only", "{\"days\":1,\"description\":\"\\u3000\\u00a0\"}", "description"),
	FIELD("description \\u0007", "{\"days\":1,\"description\":\"a\\u0007b\"}", "description"),
	FIELD("description \\u0000", "{\"days\":1,\"description\":\"a\\u0000b\"}", "description"),
	FIELD("description \\n escape", "{\"days\":1,\"description\":\"a\\nb\"}", "description"),
	FIELD("description \\t escape", "{\"days\":1,\"description\":\"a\\tb\"}", "description"),
	FIELD("description raw DEL", "{\"days\":1,\"description\":\"a\x7f\"}", "description"),
	FIELD("description U+0085 as raw UTF-8", "{\"days\":1,\"description\":\"a\xc2\x85\"}", "description"),
	FIELD("description U+0085 as \\u0085", "{\"days\":1,\"description\":\"a\\u0085\"}", "description"),
	FIELD("description U+009F as \\u009f", "{\"days\":1,\"description\":\"a\\u009f\"}", "description"),
	FIELD("description number", "{\"days\":1,\"description\":5}", "description"),
	FIELD("description true", "{\"days\":1,\"description\":true}", "description"),
	FIELD("description null", "{\"days\":1,\"description\":null}", "description"),
	FIELD("description array", "{\"days\":1,\"description\":[\"x\"]}", "description"),
	FIELD("description object", "{\"days\":1,\"description\":{}}", "description"),

	SYNTAX("empty body", ""),
	SYNTAX("whitespace only", "  "),
	SYNTAX("top-level array", "[{\"days\":1,\"description\":\"x\"}]"),
	SYNTAX("top-level empty array", "[]"),
	SYNTAX("top-level string", "\"x\""),
	SYNTAX("top-level number", "7"),
	SYNTAX("top-level null", "null"),
	SYNTAX("trailing comma", "{\"days\":1,\"description\":\"x\",}"),
	SYNTAX("comment", "{\"days\":1,/* c */\"description\":\"x\"}"),
	SYNTAX("single quotes", "{'days':1,'description':'x'}"),
	SYNTAX("leading zero days", "{\"days\":07" DESC_X),
	SYNTAX("NaN days", "{\"days\":NaN" DESC_X),
	SYNTAX("trailing garbage", "{\"days\":1,\"description\":\"x\"}x"),
	SYNTAX("two objects", "{\"days\":1,\"description\":\"x\"}{}"),
	SYNTAX("raw tab in the description", "{\"days\":1,\"description\":\"a\tb\"}"),
	SYNTAX("invalid UTF-8 in the description", "{\"days\":1,\"description\":\"\xc3\x28\"}"),
	SYNTAX("overlong in the description", "{\"days\":1,\"description\":\"\xc0\xaf\"}"),
	SYNTAX("encoded surrogate in the description", "{\"days\":1,\"description\":\"\xed\xa0\x80\"}"),
	SYNTAX("truncated UTF-8 at the end of the body", "{\"days\":1,\"description\":\"x\"}\xe2\x82"),
	SYNTAX("invalid UTF-8 in an unknown key", "{\"\xff\":1,\"days\":1" DESC_X),
	SYNTAX("duplicate days", "{\"days\":1,\"days\":2" DESC_X),
	SYNTAX("duplicate days with the same value", "{\"days\":1,\"days\":1" DESC_X),
	SYNTAX("duplicate description", "{\"days\":1,\"description\":\"x\",\"description\":\"y\"}"),
	SYNTAX("duplicate written with an escape", "{\"days\":1,\"d\\u0061ys\":2" DESC_X),
	SYNTAX("duplicate written with two escapes", "{\"\\u0064ays\":1,\"d\\u0061ys\":2" DESC_X),
	SYNTAX("duplicate unknown key", "{\"x\":1,\"x\":2,\"days\":1" DESC_X),
	SYNTAX("duplicate inside an unknown key's object", "{\"x\":{\"a\":1,\"a\":2},\"days\":1" DESC_X),
	SYNTAX("duplicate in an object inside an array", "{\"x\":[{\"a\":1},{\"b\":1,\"b\":2}],\"days\":1" DESC_X),
	SYNTAX("duplicate deep down", "{\"x\":{\"y\":{\"z\":{\"k\":1,\"j\":2,\"k\":3}}},\"days\":1" DESC_X),
};

static int
setup_arena(void **state)
{
	struct arena *a = malloc(sizeof(*a));

	if (a == NULL)
		return -1;
	arena_init(a, 4096);
	*state = a;
	return 0;
}

static int
teardown_arena(void **state)
{
	arena_free(*state);
	free(*state);
	return 0;
}

static void
check_decoded(const char *name, const struct decoded *d, enum error want,
    const char *bad, long long days, const char *description)
{
	expect(d->err == want, "json_decode(%s) = %s, want %s", name,
	    error_name(d->err), error_name(want));
	if (d->err != want)
		return;
	if (want == ERR_INVALID_FIELD) {
		expect(d->bad != NULL && strcmp(d->bad, bad) == 0,
		    "json_decode(%s): field %s, want %s", name,
		    d->bad ? d->bad : "(none)", bad);
		expect(d->why != NULL && d->why[0] != '\0',
		    "json_decode(%s): no reason given", name);
	} else if (want == ERR_OK) {
		expect(d->bad == NULL, "json_decode(%s): *bad set on success", name);
		expect(d->body.days == days, "json_decode(%s): days %lld, want %lld",
		    name, d->body.days, days);
		expect(d->body.description != NULL &&
		    strcmp(d->body.description, description) == 0,
		    "json_decode(%s): description \"%s\", want \"%s\"", name,
		    d->body.description ? d->body.description : "(null)", description);
	}
}

static void
test_json_decode_golden(void **state)
{
	struct arena *a = *state;

	for (size_t i = 0; i < NELEM(decode_cases); i++) {
		const struct decode_case *c = &decode_cases[i];
		struct decoded d = decode(a, c->body, c->len);

		check_decoded(c->name, &d, c->want, c->bad, c->days, c->description);
		arena_reset(a);
	}
	cases_done();
}

/* A description of n copies of unit, as a request body. */
static char *
body_with_description(const char *unit, size_t n)
{
	const char *head = "{\"days\":1,\"description\":\"", *tail = "\"}";
	size_t ul = strlen(unit), len = strlen(head) + ul * n + strlen(tail);
	char *s = malloc(len + 1), *p;

	assert_non_null(s);
	p = stpcpy(s, head);
	for (size_t i = 0; i < n; i++)
		p = stpcpy(p, unit);
	strcpy(p, tail);
	return s;
}

/* The limit is 255 code points, not bytes. */
static void
test_json_decode_description_length(void **state)
{
	static const struct {
		const char	*name;
		const char	*unit;
		size_t		 n;
		enum error	 want;
	} cases[] = {
		{ "1 ascii", "a", 1, ERR_OK },
		{ "255 ascii", "a", 255, ERR_OK },
		{ "256 ascii", "a", 256, ERR_INVALID_FIELD },
		{ "255 e-acute (510 bytes)", "\xc3\xa9", 255, ERR_OK },
		{ "256 e-acute", "\xc3\xa9", 256, ERR_INVALID_FIELD },
		{ "255 CJK (765 bytes)", "\xe6\x97\xa5", 255, ERR_OK },
		{ "255 emoji (1020 bytes)", "\xf0\x9f\x98\x80", 255, ERR_OK },
		{ "256 emoji", "\xf0\x9f\x98\x80", 256, ERR_INVALID_FIELD },
		{ "255 \\u00e9 escapes", "\\u00e9", 255, ERR_OK },
		{ "256 \\u00e9 escapes", "\\u00e9", 256, ERR_INVALID_FIELD },
		{ "255 surrogate-pair escapes", "\\ud83d\\ude00", 255, ERR_OK },
		{ "256 surrogate-pair escapes", "\\ud83d\\ude00", 256, ERR_INVALID_FIELD },
		{ "10000 ascii", "a", 10000, ERR_INVALID_FIELD },
	};
	struct arena *a = *state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		char *body = body_with_description(cases[i].unit, cases[i].n);
		struct decoded d = decode(a, body, strlen(body));

		expect(d.err == cases[i].want, "json_decode(description of %s) = %s, want %s",
		    cases[i].name, error_name(d.err), error_name(cases[i].want));
		if (d.err == ERR_INVALID_FIELD)
			expect(d.bad != NULL && strcmp(d.bad, "description") == 0,
			    "json_decode(description of %s): field %s", cases[i].name,
			    d.bad ? d.bad : "(none)");
		if (d.err == ERR_OK)
			expect(d.body.description != NULL, "json_decode(%s): no description",
			    cases[i].name);
		free(body);
		arena_reset(a);
	}
	cases_done();
}

/* Nesting inside an unknown key is allowed up to 64 levels in all, like json_check. */
static void
test_json_decode_depth(void **state)
{
	struct arena *a = *state;
	char *inner, body[512];
	struct decoded d;

	inner = nested_arrays(63);	/* 63 + the top-level object = 64 */
	snprintf(body, sizeof(body), "{\"x\":%s,\"days\":1,\"description\":\"x\"}", inner);
	free(inner);
	d = decode(a, body, strlen(body));
	assert_int_equal(d.err, ERR_OK);
	arena_reset(a);

	inner = nested_arrays(64);
	snprintf(body, sizeof(body), "{\"x\":%s,\"days\":1,\"description\":\"x\"}", inner);
	free(inner);
	d = decode(a, body, strlen(body));
	assert_int_equal(d.err, ERR_INVALID_JSON);
}

/* Many keys: the duplicate check keeps working past its first allocation. */
static void
test_json_decode_many_keys(void **state)
{
	struct arena *a = *state;
	size_t cap = 64 * 1024, n;
	char *body = malloc(cap);
	struct decoded d;

	assert_non_null(body);
	n = (size_t)snprintf(body, cap, "{\"days\":3,\"description\":\"x\"");
	for (int i = 0; i < 2000; i++)
		n += (size_t)snprintf(body + n, cap - n, ",\"k%d\":{\"a\":%d}", i, i);
	snprintf(body + n, cap - n, "}");
	d = decode(a, body, strlen(body));
	assert_int_equal(d.err, ERR_OK);
	assert_int_equal(d.body.days, 3);
	arena_reset(a);

	/* The same body with one key repeated at the very end. */
	snprintf(body + n, cap - n, ",\"k777\":0}");
	d = decode(a, body, strlen(body));
	assert_int_equal(d.err, ERR_INVALID_JSON);
	free(body);
}

/* The length is honoured: the body need not be NUL-terminated. */
static void
test_json_decode_uses_length(void **state)
{
	const char body[] = "{\"days\":5,\"description\":\"x\"}{\"days\":6}";
	size_t first = strlen("{\"days\":5,\"description\":\"x\"}");
	struct arena *a = *state;
	struct decoded d;

	d = decode(a, body, first);
	assert_int_equal(d.err, ERR_OK);
	assert_int_equal(d.body.days, 5);
	assert_string_equal(d.body.description, "x");
	arena_reset(a);
	d = decode(a, body, sizeof(body) - 1);
	assert_int_equal(d.err, ERR_INVALID_JSON);
}

/* A range error names the range, so the answer can tell the user. */
static void
test_json_decode_range_message(void **state)
{
	struct arena *a = *state;
	struct decoded d;

	d = decode(a, BYTES("{\"days\":36501,\"description\":\"x\"}"));
	assert_int_equal(d.err, ERR_INVALID_FIELD);
	assert_non_null(strstr(d.why, "36500"));
	arena_reset(a);
	d = decode(a, BYTES("{\"days\":1,\"description\":\"\"}"));
	assert_int_equal(d.err, ERR_INVALID_FIELD);
	assert_string_equal(d.bad, "description");
}

/*
 * A \u escape of a lone surrogate names no character.  yajl turns a lone high
 * surrogate into "?" and pairs it with any following \u escape, so accepting
 * these would store text the client never sent.  Either refusal is right:
 * invalid_json (as I-JSON, RFC 7493 2.1, reads it) or invalid_field.
 */
static void
test_json_decode_lone_surrogates(void **state)
{
	static const struct {
		const char	*name;
		const char	*body;
	} cases[] = {
		{ "lone high \\ud800", "{\"days\":1,\"description\":\"\\ud800\"}" },
		{ "lone high inside text", "{\"days\":1,\"description\":\"a\\ud800b\"}" },
		{ "lone low \\udc00", "{\"days\":1,\"description\":\"\\udc00\"}" },
		{ "high then a non-surrogate escape", "{\"days\":1,\"description\":\"\\ud800\\u0041\"}" },
		{ "high then high", "{\"days\":1,\"description\":\"\\ud800\\ud800\"}" },
		{ "low then high", "{\"days\":1,\"description\":\"\\ude00\\ud83d\"}" },
	};
	struct arena *a = *state;

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct decoded d = decode(a, cases[i].body, strlen(cases[i].body));

		expect(d.err == ERR_INVALID_JSON || (d.err == ERR_INVALID_FIELD &&
		    strcmp(d.bad, "description") == 0),
		    "json_decode(%s) = %s, want it refused", cases[i].name,
		    error_name(d.err));
		arena_reset(a);
	}
	cases_done();
}

/* ------------------------------------------------------------------ output */

static void
test_json_time_format(void **state)
{
	static const struct {
		const char	*name;
		int64_t		 ms;
		const char	*want;
	} cases[] = {
		{ "epoch", 0, "1970-01-01T00:00:00.000Z" },
		{ "the contract's example", 1795867200000LL, "2026-11-28T12:00:00.000Z" },
		{ "1 ms", 1795867200001LL, "2026-11-28T12:00:00.001Z" },
		{ "7 ms padded", 1795867200007LL, "2026-11-28T12:00:00.007Z" },
		{ "70 ms padded", 1795867200070LL, "2026-11-28T12:00:00.070Z" },
		{ "100 ms", 1795867200100LL, "2026-11-28T12:00:00.100Z" },
		{ "999 ms", 1795867200999LL, "2026-11-28T12:00:00.999Z" },
		{ "leap day", 951782400123LL, "2000-02-29T00:00:00.123Z" },
		{ "1 ms before the epoch", -1, "1969-12-31T23:59:59.999Z" },
		{ "1 s before the epoch", -1000, "1969-12-31T23:59:59.000Z" },
		{ "1001 ms before the epoch", -1001, "1969-12-31T23:59:58.999Z" },
		{ "moon landing", -14182940000LL + 250, "1969-07-20T20:17:40.250Z" },
		{ "year 2126 start", 4922899200000LL, "2126-01-01T00:00:00.000Z" },
		{ "year 2126 end", 4954435199999LL, "2126-12-31T23:59:59.999Z" },
		{ "the last ms of 9999", 253402300799999LL, "9999-12-31T23:59:59.999Z" },
	};

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		char out[25];

		memset(out, 'X', sizeof(out));
		json_time_format(out, cases[i].ms);
		expect(memchr(out, '\0', sizeof(out)) != NULL &&
		    strcmp(out, cases[i].want) == 0,
		    "json_time_format(%s) = \"%.25s\", want \"%s\"", cases[i].name,
		    out, cases[i].want);
	}
	/* Against gmtime_r and strftime over 1900-2200, in odd steps. */
	for (int64_t ms = -2208988800000LL; ms < 7258118400000LL;
	    ms += 13 * 86400001LL + 7777) {
		char out[25], want[32];
		time_t secs = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
		struct tm tm;

		gmtime_r(&secs, &tm);
		strftime(want, 20, "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(want + 19, sizeof(want) - 19, ".%03dZ",
		    (int)(ms - (int64_t)secs * 1000));
		json_time_format(out, ms);
		expect(strcmp(out, want) == 0, "json_time_format(%lld) = \"%s\", "
		    "want \"%s\"", (long long)ms, out, want);
	}
	cases_done();
}

static void
test_json_output_helpers(void **state)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	const unsigned char *buf;
	size_t len;

	(void)state;
	assert_non_null(g);
	yajl_gen_map_open(g);
	json_key_str(g, "s", "a\"b");
	json_key_str(g, "n", NULL);
	json_key_int(g, "i", -42);
	json_key_int(g, "z", 0);
	json_key_int(g, "max", LLONG_MAX);
	json_key_int(g, "min", LLONG_MIN);
	json_key_time(g, "t", 1795867200000LL, 0);
	json_key_time(g, "u", 12345, 1);
	yajl_gen_map_close(g);
	assert_int_equal(yajl_gen_get_buf(g, &buf, &len), yajl_gen_status_ok);
	assert_string_equal((const char *)buf, "{\"s\":\"a\\\"b\",\"n\":null,\"i\":-42,\"z\":0,"
	    "\"max\":9223372036854775807,\"min\":-9223372036854775808,"
	    "\"t\":\"2026-11-28T12:00:00.000Z\",\"u\":null}");
	yajl_gen_free(g);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_check_golden),
		cmocka_unit_test(test_json_check_depth),
		cmocka_unit_test(test_json_check_uses_length),
		cmocka_unit_test_setup_teardown(test_json_decode_golden, setup_arena, teardown_arena),
		cmocka_unit_test_setup_teardown(test_json_decode_description_length, setup_arena, teardown_arena),
		cmocka_unit_test_setup_teardown(test_json_decode_depth, setup_arena, teardown_arena),
		cmocka_unit_test_setup_teardown(test_json_decode_many_keys, setup_arena, teardown_arena),
		cmocka_unit_test_setup_teardown(test_json_decode_uses_length, setup_arena, teardown_arena),
		cmocka_unit_test_setup_teardown(test_json_decode_range_message, setup_arena, teardown_arena),
		cmocka_unit_test_setup_teardown(test_json_decode_lone_surrogates, setup_arena, teardown_arena),
		cmocka_unit_test(test_json_time_format),
		cmocka_unit_test(test_json_output_helpers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
