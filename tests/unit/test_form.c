/* test_form.c - application/x-www-form-urlencoded bodies (introspection requests). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cases.h"

#include "alloc.h"
#include "form.h"

struct form_case {
	const char	*name;
	const char	*body;
	size_t		 len;
	const char	*key;
	int		 want;		/* how many times key occurs, or -1 */
	const char	*value;		/* the first value, when want > 0 */
	size_t		 vlen;
};

#define FOUND(name, body, key, n, v)	{ name, BYTES(body), key, n, BYTES(v) }
#define MISSING(name, body, key)	{ name, BYTES(body), key, 0, NULL, 0 }
#define MALFORMED(name, body, key)	{ name, BYTES(body), key, -1, NULL, 0 }

static const struct form_case form_cases[] = {
	FOUND("alone", "token=abc", "token", 1, "abc"),
	FOUND("first of several", "token=abc&hint=x", "token", 1, "abc"),
	FOUND("last of several", "a=1&b=2&token=abc", "token", 1, "abc"),
	FOUND("percent-decoded", "token=a%2Bb%3Dc%26d", "token", 1, "a+b=c&d"),
	FOUND("lower-case hex", "token=%2b%2f", "token", 1, "+/"),
	FOUND("plus is a space", "token=a+b++c", "token", 1, "a b  c"),
	FOUND("encoded plus stays a plus", "token=a%2Bb", "token", 1, "a+b"),
	FOUND("UTF-8 bytes", "token=%E2%82%AC", "token", 1, "\xe2\x82\xac"),
	FOUND("encoded NUL kept with its length", "token=a%00b", "token", 1, "a\0b"),
	FOUND("empty value", "token=", "token", 1, ""),
	FOUND("empty value then more", "token=&x=1", "token", 1, ""),
	FOUND("no equals sign", "token", "token", 1, ""),
	FOUND("an equals sign inside the value", "token=a=b", "token", 1, "a=b"),
	FOUND("a JWT", "token=eyJhbGciOiJIUzI1NiJ9.e30.sig-_x&token_type_hint=access_token",
	    "token", 1, "eyJhbGciOiJIUzI1NiJ9.e30.sig-_x"),
	FOUND("percent-encoded key", "tok%65n=v", "token", 1, "v"),
	FOUND("key with a space written as plus", "my+key=v", "my key", 1, "v"),
	FOUND("empty pairs skipped", "&&token=v&&", "token", 1, "v"),
	FOUND("twice: the first value, count 2", "token=a&token=b", "token", 2, "a"),
	FOUND("three times", "token=a&x=1&token=b&token=c", "token", 3, "a"),
	FOUND("twice, first empty", "token=&token=b", "token", 2, ""),

	MISSING("empty body", "", "token"),
	MISSING("other keys only", "a=1&b=2", "token"),
	MISSING("a longer key", "tokens=1", "token"),
	MISSING("a shorter key", "toke=1", "token"),
	MISSING("key as a value", "x=token", "token"),
	MISSING("case differs", "Token=1", "token"),

	MALFORMED("% alone", "token=%", "token"),
	MALFORMED("% with one digit", "token=%4", "token"),
	MALFORMED("% with one digit, then more", "token=a%4&b=1", "token"),
	MALFORMED("% with non-hex", "token=%zz", "token"),
	MALFORMED("% with one non-hex", "token=%4g", "token"),
	MALFORMED("% at the very end", "token=abc%", "token"),
	MALFORMED("bad escape in the key itself", "tok%zzen=1", "token"),
	MALFORMED("bad escape in an earlier key", "%zz=1&token=a", "token"),
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
run_cases(struct arena *a, const struct form_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct form_case *c = &cases[i];
		const char *value = (const char *)1;
		size_t vlen = 12345;
		int got = form_get(a, c->body, c->len, c->key, &value, &vlen);

		expect(got == c->want, "form_get(%s) = %d, want %d", c->name, got,
		    c->want);
		if (got == c->want && got > 0) {
			expect(value != NULL && vlen == c->vlen &&
			    memcmp(value, c->value, vlen) == 0 && value[vlen] == '\0',
			    "form_get(%s): value \"%.*s\" (%zu bytes), want \"%s\" (%zu)",
			    c->name, value ? (int)vlen : 0, value ? value : "",
			    vlen, c->value, c->vlen);
		}
		if (got == 0)
			expect(value == NULL && vlen == 0,
			    "form_get(%s): absent, yet value set", c->name);
		arena_reset(a);
	}
	cases_done();
}

static void
test_form_get_golden(void **state)
{
	run_cases(*state, form_cases, NELEM(form_cases));
}

/*
 * form.h promises -1 whenever the body is not well-formed percent-encoding,
 * not only when the pair asked for is: a client that sends a broken body
 * gets the same answer whichever parameter it put first.
 */
static const struct form_case whole_body_cases[] = {
	MALFORMED("bad escape in another pair's value", "a=%zz&token=x", "token"),
	MALFORMED("bad escape after the match", "token=x&a=%4", "token"),
	MALFORMED("bad escape in the second value of a repeated key", "token=a&token=%zz", "token"),
	MALFORMED("bad escape in a body that lacks the key", "a=%zz", "token"),
};

static void
test_form_get_checks_whole_body(void **state)
{
	run_cases(*state, whole_body_cases, NELEM(whole_body_cases));
}

/* Only len bytes are read: the body need not be NUL-terminated. */
static void
test_form_get_uses_length(void **state)
{
	struct arena *a = *state;
	const char body[] = "token=abcdef&x=%zz";
	const char *value;
	size_t vlen;

	assert_int_equal(form_get(a, body, 9, "token", &value, &vlen), 1);
	assert_int_equal(vlen, 3);
	assert_string_equal(value, "abc");
	/* Cut in the middle of "%zz" after "x=": "%" alone is malformed... */
	assert_int_equal(form_get(a, body, 16, "x", &value, &vlen), -1);
	/* ...and a cut before it leaves an empty, well-formed value. */
	assert_int_equal(form_get(a, body, 15, "x", &value, &vlen), 1);
	assert_int_equal(vlen, 0);
	/* "%4" cut from "%41": the '1' past the end must not complete it. */
	assert_int_equal(form_get(a, "token=%41", 8, "token", &value, &vlen), -1);
	assert_int_equal(form_get(a, "token=%41", 9, "token", &value, &vlen), 1);
	assert_string_equal(value, "A");
}

/* A long value decodes whole (the arena grows past its first block). */
static void
test_form_get_long_value(void **state)
{
	struct arena *a = *state;
	size_t n = 20000, i;
	char *body = malloc(6 + n * 3 + 1);
	const char *value;
	size_t vlen;

	assert_non_null(body);
	memcpy(body, "token=", 6);
	for (i = 0; i < n; i++)
		memcpy(body + 6 + i * 3, "%41", 3);
	body[6 + n * 3] = '\0';
	assert_int_equal(form_get(a, body, strlen(body), "token", &value, &vlen), 1);
	assert_int_equal(vlen, n);
	for (i = 0; i < n; i++)
		if (value[i] != 'A')
			break;
	assert_int_equal(i, n);
	free(body);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_form_get_golden, setup_arena, teardown_arena),
		cmocka_unit_test_setup_teardown(test_form_get_checks_whole_body, setup_arena, teardown_arena),
		cmocka_unit_test_setup_teardown(test_form_get_uses_length, setup_arena, teardown_arena),
		cmocka_unit_test_setup_teardown(test_form_get_long_value, setup_arena, teardown_arena),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
