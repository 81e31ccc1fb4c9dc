/*
 * test_header.c - the parsers of what a client sends in headers and identity
 * claims: Authorization, Content-Type, Basic credentials, identity text,
 * cors_origins, and the rate limiter.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cases.h"

#include "cors.h"
#include "header.h"
#include "identity.h"
#include "ratelimit.h"

static void
test_authorization(void **state)
{
	static const struct {
		const char		*header;
		enum auth_scheme	 scheme;
		int			 malformed;
		const char		*cred;
	} cases[] = {
		{ NULL, AUTH_NONE, 0, NULL },
		{ "Bearer abc.def-_~+/=", AUTH_BEARER, 0, "abc.def-_~+/=" },
		{ "bearer abc", AUTH_BEARER, 0, "abc" },
		{ "BEARER \t abc \t", AUTH_BEARER, 0, "abc" },
		{ "  Bearer abc", AUTH_BEARER, 0, "abc" },
		{ "Bearer", AUTH_BEARER, 1, NULL },
		{ "Bearer ", AUTH_BEARER, 1, NULL },
		{ "Bearerabc", AUTH_OTHER, 0, NULL },		/* another scheme's name */
		{ "Bearer a b", AUTH_BEARER, 1, NULL },
		{ "Bearer a\"b", AUTH_BEARER, 1, NULL },
		{ "Bearer =abc", AUTH_BEARER, 1, NULL },
		{ "Bearer ab=c", AUTH_BEARER, 1, NULL },
		{ "Bearer a,b", AUTH_BEARER, 1, NULL },
		{ "Basic dXNlcjpwYXNz", AUTH_BASIC, 0, "dXNlcjpwYXNz" },
		{ "Basic", AUTH_BASIC, 1, NULL },
		{ "Token abc", AUTH_OTHER, 0, NULL },
		{ "Digest username=\"x\"", AUTH_OTHER, 0, NULL },
		{ "", AUTH_OTHER, 0, NULL },
	};
	struct authorization a;

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		header_authorization(cases[i].header, &a);
		expect(a.scheme == cases[i].scheme && a.malformed == cases[i].malformed,
		    "\"%s\": scheme %d malformed %d", cases[i].header ? cases[i].header :
		    "(none)", a.scheme, a.malformed);
		if (cases[i].cred != NULL)
			expect(a.len == strlen(cases[i].cred) &&
			    memcmp(a.cred, cases[i].cred, a.len) == 0,
			    "\"%s\": credential \"%.*s\"", cases[i].header, (int)a.len, a.cred);
	}
	cases_done();
}

static void
test_media_type(void **state)
{
	static const struct {
		const char	*ct;
		enum media_type	 want;
	} cases[] = {
		{ NULL, MEDIA_NONE },
		{ "application/json", MEDIA_JSON },
		{ "Application/JSON", MEDIA_JSON },
		{ "application/json; charset=utf-8", MEDIA_JSON },
		{ " application/json ;charset=UTF-8", MEDIA_JSON },
		{ "application/vnd.api+json", MEDIA_JSON },
		{ "APPLICATION/VND.API+JSON", MEDIA_JSON },
		{ "application/problem+json;x=y", MEDIA_JSON },
		{ "application/+json", MEDIA_OTHER },
		{ "application/jsonx", MEDIA_OTHER },
		{ "application/json+x", MEDIA_OTHER },
		{ "application/vnd.api+jsonx", MEDIA_OTHER },
		{ "text/json", MEDIA_OTHER },
		{ "text/vnd.api+json", MEDIA_OTHER },
		{ "application/json x", MEDIA_OTHER },
		{ "application/json/x", MEDIA_OTHER },
		{ "application", MEDIA_OTHER },
		{ "", MEDIA_OTHER },
		{ "*/*", MEDIA_OTHER },
		{ "application/x-www-form-urlencoded", MEDIA_FORM },
		{ "application/x-www-form-urlencoded; charset=utf-8", MEDIA_FORM },
	};

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++)
		expect(header_media_type(cases[i].ct) == cases[i].want, "\"%s\": %d",
		    cases[i].ct ? cases[i].ct : "(none)", header_media_type(cases[i].ct));
	cases_done();
}

static void
test_basic_decode(void **state)
{
	static const struct {
		const char	*cred;
		const char	*user, *password;	/* NULL: refused */
	} cases[] = {
		{ "dXNlcjpwYXNz", "user", "pass" },
		{ "dXNlcjo=", "user", "" },
		{ "dXNlcjo", "user", "" },		/* unpadded */
		{ "OnB3", "", "pw" },
		{ "dTpwOnE=", "u", "p:q" },		/* the first colon splits */
		{ "dXNlcg==", NULL, NULL },		/* no colon */
		{ "dXNl-jpw", NULL, NULL },		/* base64url is not Basic's alphabet */
		{ "dXNlcjpwYXNz=", NULL, NULL },	/* padding that does not fit */
		{ "dQBwOng=", NULL, NULL },		/* a NUL inside */
		{ "", NULL, NULL },
		{ "====", NULL, NULL },
	};
	char buf[64];
	const char *pw;

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		int rc = header_basic_decode(cases[i].cred, strlen(cases[i].cred), buf,
		    sizeof(buf), &pw);

		if (cases[i].user == NULL)
			expect(rc == -1, "\"%s\" decoded", cases[i].cred);
		else
			expect(rc == 0 && strcmp(buf, cases[i].user) == 0 &&
			    strcmp(pw, cases[i].password) == 0, "\"%s\": rc %d", cases[i].cred,
			    rc);
	}
	cases_done();
}

static void
test_identity_text(void **state)
{
	static const struct {
		const char	*(*check)(const char *);
		const char	*name;
		const char	*text;
		int		 ok;
	} cases[] = {
		{ identity_email, "email", "a@b", 1 },
		{ identity_email, "email", "alice@example.com", 1 },
		{ identity_email, "email", "\xc3\xa9@x.org", 1 },
		{ identity_email, "email", "@", 0 },
		{ identity_email, "email", "ab", 0 },
		{ identity_email, "email", "alice", 0 },
		{ identity_email, "email", "a@b@c", 0 },
		{ identity_email, "email", "a b@c", 0 },
		{ identity_email, "email", "a,b@c", 0 },
		{ identity_email, "email", "a@c ", 0 },
		{ identity_email, "email", "a\xc2\xa0@c", 0 },	/* NBSP */
		{ identity_email, "email", "a\xe2\x80\xa8@c", 0 },	/* LINE SEPARATOR */
		{ identity_email, "email", "a\x7f@c", 0 },
		{ identity_email, "email", "a\xc2\x85@c", 0 },	/* NEL, a C1 control */
		{ identity_email, "email", "a\xff@c", 0 },		/* not UTF-8 */
		{ identity_user, "user", "alice", 1 },
		{ identity_user, "user", "a", 1 },
		{ identity_user, "user", "alice smith", 0 },
		{ identity_user, "user", "a,b", 0 },
		{ identity_user, "user", "", 0 },
		{ identity_name, "name", "Alice Smith", 1 },
		{ identity_name, "name", "Smith, Alice", 1 },
		{ identity_name, "name", " Alice", 0 },
		{ identity_name, "name", "Alice\xe3\x80\x80", 0 },	/* ideographic space */
		{ identity_name, "name", "A\tB", 0 },
		{ identity_name, "name", "", 0 },
		{ identity_group, "group", "dev", 1 },
		{ identity_group, "group", "Platform Team", 1 },
		{ identity_group, "group", "dev,admin", 0 },
		{ identity_group, "group", " admin", 0 },
		{ identity_group, "group", "admin ", 0 },
		{ identity_group, "group", "\xc2\xa0" "admin", 0 },
		{ identity_group, "group", "", 0 },
	};
	char big[1100];

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++)
		expect((cases[i].check(cases[i].text) == NULL) == cases[i].ok,
		    "%s \"%s\": %s", cases[i].name, cases[i].text,
		    cases[i].check(cases[i].text) ? cases[i].check(cases[i].text) : "ok");
	/* 255 characters is the most; 255 two-byte ones are 510 bytes and fine. */
	memset(big, 'g', 255);
	big[255] = '\0';
	expect(identity_group(big) == NULL, "255 characters refused");
	big[255] = 'g';
	big[256] = '\0';
	expect(identity_group(big) != NULL, "256 characters accepted");
	for (int i = 0; i < 255; i++)
		memcpy(big + 2 * i, "\xc3\xa9", 2);
	big[510] = '\0';
	expect(identity_name(big) == NULL, "255 two-byte characters refused");
	/* Email: 320 bytes is the most. */
	memset(big, 'e', 320);
	big[0] = '@';
	big[320] = '\0';
	expect(identity_email(big) == NULL, "320 bytes refused");
	big[320] = 'e';
	big[321] = '\0';
	expect(identity_email(big) != NULL, "321 bytes accepted");
	cases_done();
}

static void
test_identity_groups(void **state)
{
	const char *groups[65], *claim;
	char names[65][8];

	(void)state;
	for (int i = 0; i < 65; i++) {
		snprintf(names[i], sizeof(names[i]), "g%d", i);
		groups[i] = names[i];
	}
	assert_null(identity_check("a@b", "A", groups, 64, 0, &claim));
	assert_non_null(identity_check("a@b", "A", groups, 65, 0, &claim));
	assert_string_equal(claim, "groups");
	groups[3] = "x,y";
	assert_non_null(identity_check("a@b", "A", groups, 4, 0, &claim));
	assert_string_equal(claim, "groups");
	assert_non_null(identity_check("a@b", " A", groups, 0, 0, &claim));
	assert_string_equal(claim, "name");
	assert_non_null(identity_check("ab", "A", groups, 0, 0, &claim));
	assert_string_equal(claim, "email");
	assert_null(identity_check("ab", "ab", groups, 0, 1, &claim));	/* REMOTE_USER */
}

static void
test_cors_origins(void **state)
{
	static const struct {
		const char	*list;
		int		 ok;
	} cases[] = {
		{ "", 1 },
		{ "http://127.0.0.1:18210", 1 },
		{ "https://ui.example.com", 1 },
		{ "https://ui.example.com, http://localhost:3000 http://x", 1 },
		{ "HTTPS://UI.Example.COM", 1 },
		{ "*", 0 },
		{ "https://*.example.com", 0 },
		{ "https://ui.example.com/", 0 },
		{ "https://ui.example.com/path", 0 },
		{ "ui.example.com", 0 },
		{ "https://", 0 },
		{ "https://u:p@ui.example.com", 0 },
		{ "https://ui.example.com:", 0 },
		{ "https://ui.example.com:123456", 0 },
		{ "https://ui.example.com:80x", 0 },
		{ "http://a, *", 0 },
		{ "https://ui.example.com?x", 0 },
	};
	char why[256];

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++)
		expect((cors_origins_check(cases[i].list, why, sizeof(why)) == 0) ==
		    cases[i].ok, "cors_origins \"%s\"", cases[i].list);
	cases_done();
}

static void
test_ratelimit(void **state)
{
	struct ratelimit *rl = malloc(sizeof(*rl));
	int allowed = 0;

	(void)state;
	assert_non_null(rl);
	ratelimit_init(rl, 10, 30);
	for (int i = 0; i < 100; i++)
		allowed += ratelimit_take(rl, "alice@example.com");
	assert_true(allowed >= 30 && allowed <= 31);
	/* Another key has a bucket of its own. */
	assert_true(ratelimit_take(rl, "bob@example.com"));
	free(rl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_authorization),
		cmocka_unit_test(test_media_type),
		cmocka_unit_test(test_basic_decode),
		cmocka_unit_test(test_identity_text),
		cmocka_unit_test(test_identity_groups),
		cmocka_unit_test(test_cors_origins),
		cmocka_unit_test(test_ratelimit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
