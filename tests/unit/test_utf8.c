/* test_utf8.c - strict UTF-8 (RFC 3629) checks and code point helpers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cases.h"

#include "utf8.h"

struct utf8_case {
	const char	*name;
	const char	*s;
	size_t		 len;
	int		 valid;
};

/* Golden cases: the boundaries of every row of RFC 3629's table, then each way to break it. */
static const struct utf8_case utf8_cases[] = {
	{ "empty", BYTES(""), 1 },
	{ "ascii", BYTES("hello, world"), 1 },
	{ "NUL byte inside", BYTES("a\0b"), 1 },
	{ "DEL", BYTES("\x7f"), 1 },
	{ "2-byte lowest U+0080", BYTES("\xc2\x80"), 1 },
	{ "2-byte highest U+07FF", BYTES("\xdf\xbf"), 1 },
	{ "e acute", BYTES("caf\xc3\xa9"), 1 },
	{ "3-byte lowest U+0800", BYTES("\xe0\xa0\x80"), 1 },
	{ "U+D7FF below surrogates", BYTES("\xed\x9f\xbf"), 1 },
	{ "U+E000 above surrogates", BYTES("\xee\x80\x80"), 1 },
	{ "U+FEFF BOM as a character", BYTES("\xef\xbb\xbf"), 1 },
	{ "U+FFFF noncharacter", BYTES("\xef\xbf\xbf"), 1 },
	{ "4-byte lowest U+10000", BYTES("\xf0\x90\x80\x80"), 1 },
	{ "emoji U+1F600", BYTES("\xf0\x9f\x98\x80"), 1 },
	{ "U+10FFFF highest", BYTES("\xf4\x8f\xbf\xbf"), 1 },
	{ "mixed widths", BYTES("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z"), 1 },

	{ "overlong C0 80 (NUL)", BYTES("\xc0\x80"), 0 },
	{ "overlong C0 AF ('/')", BYTES("\xc0\xaf"), 0 },
	{ "overlong C1 BF", BYTES("\xc1\xbf"), 0 },
	{ "overlong E0 80 80", BYTES("\xe0\x80\x80"), 0 },
	{ "overlong E0 9F BF (U+07FF)", BYTES("\xe0\x9f\xbf"), 0 },
	{ "overlong F0 80 80 80", BYTES("\xf0\x80\x80\x80"), 0 },
	{ "overlong F0 8F BF BF (U+FFFF)", BYTES("\xf0\x8f\xbf\xbf"), 0 },
	{ "surrogate ED A0 80 (U+D800)", BYTES("\xed\xa0\x80"), 0 },
	{ "surrogate ED BF BF (U+DFFF)", BYTES("\xed\xbf\xbf"), 0 },
	{ "surrogate pair as CESU-8", BYTES("\xed\xa0\xbd\xed\xb8\x80"), 0 },
	{ "above U+10FFFF F4 90 80 80", BYTES("\xf4\x90\x80\x80"), 0 },
	{ "F5 lead", BYTES("\xf5\x80\x80\x80"), 0 },
	{ "F7 lead", BYTES("\xf7\xbf\xbf\xbf"), 0 },
	{ "F8 5-byte lead", BYTES("\xf8\x88\x80\x80\x80"), 0 },
	{ "FC 6-byte lead", BYTES("\xfc\x84\x80\x80\x80\x80"), 0 },
	{ "FE", BYTES("\xfe"), 0 },
	{ "FF", BYTES("\xff"), 0 },
	{ "bare continuation 80", BYTES("\x80"), 0 },
	{ "bare continuation BF", BYTES("a\xbf"), 0 },
	{ "continuation after a full sequence", BYTES("\xc3\xa9\xa9"), 0 },
	{ "truncated 2-byte at end", BYTES("a\xc3"), 0 },
	{ "truncated 3-byte at end", BYTES("\xe2\x82"), 0 },
	{ "truncated 4-byte at end", BYTES("\xf0\x9f\x98"), 0 },
	{ "lead byte only, then ascii", BYTES("\xe2" "a"), 0 },
	{ "2-byte, second not continuation", BYTES("\xc2\x41"), 0 },
	{ "2-byte, second is a lead", BYTES("\xc2\xc0"), 0 },
	{ "3-byte, third not continuation", BYTES("\xe1\x80\x41"), 0 },
	{ "4-byte, fourth not continuation", BYTES("\xf1\x80\x80\x41"), 0 },
	{ "4-byte, third is a lead", BYTES("\xf1\x80\xc2\x80"), 0 },
};

static void
test_utf8_valid_golden(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(utf8_cases) / sizeof(utf8_cases[0]); i++) {
		const struct utf8_case *c = &utf8_cases[i];
		int got = utf8_valid(c->s, c->len);

		expect(got == c->valid, "utf8_valid(%s) = %d, want %d", c->name,
		    got, c->valid);
	}
	cases_done();
}

/* The length is honoured: bytes past it are never read or judged. */
static void
test_utf8_valid_uses_length(void **state)
{
	const char s[] = "ok\xc3\xa9\xff";

	(void)state;
	assert_true(utf8_valid(s, 4));		/* "ok" + e acute */
	assert_false(utf8_valid(s, 5));		/* the FF counts */
	assert_false(utf8_valid(s, 3));		/* e acute cut in half */
}

struct next_case {
	const char	*name;
	const char	*s;
	uint32_t	 cp;
	size_t		 width;
};

static const struct next_case next_cases[] = {
	{ "NUL", "\0", 0x0, 1 },
	{ "A", "A", 0x41, 1 },
	{ "DEL", "\x7f", 0x7f, 1 },
	{ "U+0080", "\xc2\x80", 0x80, 2 },
	{ "U+0085 NEL", "\xc2\x85", 0x85, 2 },
	{ "e acute", "\xc3\xa9", 0xe9, 2 },
	{ "U+07FF", "\xdf\xbf", 0x7ff, 2 },
	{ "U+0800", "\xe0\xa0\x80", 0x800, 3 },
	{ "euro", "\xe2\x82\xac", 0x20ac, 3 },
	{ "ideographic space", "\xe3\x80\x80", 0x3000, 3 },
	{ "U+FFFF", "\xef\xbf\xbf", 0xffff, 3 },
	{ "U+10000", "\xf0\x90\x80\x80", 0x10000, 4 },
	{ "emoji", "\xf0\x9f\x98\x80", 0x1f600, 4 },
	{ "U+10FFFF", "\xf4\x8f\xbf\xbf", 0x10ffff, 4 },
};

static void
test_utf8_next_golden(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(next_cases) / sizeof(next_cases[0]); i++) {
		const struct next_case *c = &next_cases[i];
		const char *p = c->s;
		uint32_t cp = utf8_next(&p);

		expect(cp == c->cp, "utf8_next(%s) = U+%04X, want U+%04X",
		    c->name, (unsigned)cp, (unsigned)c->cp);
		expect((size_t)(p - c->s) == c->width,
		    "utf8_next(%s) advanced %zu bytes, want %zu", c->name,
		    (size_t)(p - c->s), c->width);
	}
	cases_done();
}

/* Walking a string visits each code point once and stops exactly at its end. */
static void
test_utf8_next_walk(void **state)
{
	static const char s[] = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z";
	static const uint32_t want[] = { 0x61, 0xe9, 0x20ac, 0x1f600, 0x7a };
	const char *p = s, *end = s + sizeof(s) - 1;
	size_t n = 0;

	(void)state;
	while (p < end) {
		assert_true(n < sizeof(want) / sizeof(want[0]));
		assert_int_equal(utf8_next(&p), want[n]);
		n++;
	}
	assert_ptr_equal(p, end);
	assert_int_equal(n, sizeof(want) / sizeof(want[0]));
}

/* Unicode's White_Space property (PropList.txt): exactly these 25 code points. */
static const uint32_t white_space[] = {
	0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x85, 0xa0, 0x1680,
	0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007,
	0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
};

static int
in_list(uint32_t cp, const uint32_t *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] == cp)
			return 1;
	return 0;
}

static void
test_utf8_is_space_exhaustive(void **state)
{
	size_t n = sizeof(white_space) / sizeof(white_space[0]);

	(void)state;
	for (uint32_t cp = 0; cp <= 0x10ffff; cp++) {
		int want = in_list(cp, white_space, n);

		expect(utf8_is_space(cp) == want, "utf8_is_space(U+%04X) = %d, want %d",
		    (unsigned)cp, utf8_is_space(cp), want);
		if (case_failures > 10)
			break;
	}
	cases_done();
}

/* Look-alikes that are not White_Space, so a blank check must not skip them. */
static void
test_utf8_is_space_lookalikes(void **state)
{
	static const struct { const char *name; uint32_t cp; } not_space[] = {
		{ "U+180E Mongolian vowel separator (not since Unicode 6.3)", 0x180e },
		{ "U+200B zero width space", 0x200b },
		{ "U+200C zero width non-joiner", 0x200c },
		{ "U+2060 word joiner", 0x2060 },
		{ "U+FEFF zero width no-break space", 0xfeff },
		{ "U+001C file separator", 0x1c },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(not_space) / sizeof(not_space[0]); i++)
		expect(!utf8_is_space(not_space[i].cp), "utf8_is_space(%s) = 1, want 0",
		    not_space[i].name);
	cases_done();
}

static void
test_utf8_is_control_exhaustive(void **state)
{
	int count = 0;

	(void)state;
	for (uint32_t cp = 0; cp <= 0x10ffff; cp++) {
		int want = cp <= 0x1f || (cp >= 0x7f && cp <= 0x9f);

		count += utf8_is_control(cp) != 0;
		expect(utf8_is_control(cp) == want, "utf8_is_control(U+%04X) = %d, want %d",
		    (unsigned)cp, utf8_is_control(cp), want);
		if (case_failures > 10)
			break;
	}
	cases_done();
	assert_int_equal(count, 32 + 33);	/* C0, then DEL and C1 */
}

static void
test_utf8_is_control_boundaries(void **state)
{
	(void)state;
	assert_true(utf8_is_control(0x00));
	assert_true(utf8_is_control(0x1f));
	assert_false(utf8_is_control(0x20));
	assert_false(utf8_is_control(0x7e));
	assert_true(utf8_is_control(0x7f));
	assert_true(utf8_is_control(0x85));
	assert_true(utf8_is_control(0x9f));
	assert_false(utf8_is_control(0xa0));
	assert_false(utf8_is_control(0x2028));	/* a separator, not a control */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_valid_golden),
		cmocka_unit_test(test_utf8_valid_uses_length),
		cmocka_unit_test(test_utf8_next_golden),
		cmocka_unit_test(test_utf8_next_walk),
		cmocka_unit_test(test_utf8_is_space_exhaustive),
		cmocka_unit_test(test_utf8_is_space_lookalikes),
		cmocka_unit_test(test_utf8_is_control_exhaustive),
		cmocka_unit_test(test_utf8_is_control_boundaries),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
