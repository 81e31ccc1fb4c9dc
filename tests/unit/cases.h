/*
 * cases.h - what the table-driven unit tests share: each failing case is
 * reported by name, and the cmocka test then fails once.
 */
#ifndef PATGATE_TEST_CASES_H
#define PATGATE_TEST_CASES_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

static int case_failures;

static void __attribute__((format(printf, 2, 3), unused))
expect(int ok, const char *fmt, ...)
{
	va_list ap;

	if (ok)
		return;
	va_start(ap, fmt);
	vprint_error(fmt, ap);
	va_end(ap);
	print_error("\n");
	case_failures++;
}

static void __attribute__((unused))
cases_done(void)
{
	int n = case_failures;

	case_failures = 0;
	assert_int_equal(n, 0);
}

#define BYTES(s)	s, sizeof(s) - 1
#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

#endif
