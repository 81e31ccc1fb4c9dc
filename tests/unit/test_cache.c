/* test_cache.c - the verify cache: what it keeps, gives back, forgets and evicts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cache.h"

#define NOW	1700000000000LL

static void
key(unsigned char hmac[32], unsigned n)
{
	memset(hmac, 0, 32);
	memcpy(hmac, &n, sizeof(n));
	hmac[31] = 0x5a;
}

/* A row whose strings are made from n; groups as given. */
static struct pat_row
row(unsigned n, const char **groups, size_t ngroups, const char *group)
{
	static char ids[8][37], emails[8][64];
	struct pat_row r;

	memset(&r, 0, sizeof(r));
	snprintf(ids[n % 8], sizeof(ids[0]), "00000000-0000-4000-8000-%012u", n);
	snprintf(emails[n % 8], sizeof(emails[0]), "user%u@example.com", n);
	r.id = ids[n % 8];
	r.email = emails[n % 8];
	r.name = "A User";
	r.groups = groups;
	r.ngroups = ngroups;
	r.group = group;
	r.created_ms = NOW - 5000;
	r.expires_ms = NOW + 1000;
	r.has_expires = 1;
	return r;
}

static void
test_put_then_get_gives_the_row_back(void **state)
{
	const char *groups[] = { "dev", "ops" };
	struct cache *c = cache_new(4, 60000);
	struct pat_row in = row(1, groups, 2, NULL), out;
	unsigned char h[32];
	struct arena a;

	(void)state;
	arena_init(&a, 1024);
	key(h, 1);
	assert_int_equal(cache_get(c, h, NOW, &a, &out), 0);
	cache_put(c, h, NOW, &in);
	assert_int_equal(cache_get(c, h, NOW + 10, &a, &out), 1);
	assert_string_equal(out.id, in.id);
	assert_string_equal(out.email, in.email);
	assert_string_equal(out.name, "A User");
	assert_null(out.group);
	assert_int_equal(out.ngroups, 2);
	assert_string_equal(out.groups[0], "dev");
	assert_string_equal(out.groups[1], "ops");
	assert_int_equal(out.created_ms, NOW - 5000);	/* introspection's iat */
	assert_int_equal(out.expires_ms, NOW + 1000);
	assert_int_equal(out.has_expires, 1);
	/* Too old: checked against the database again. */
	assert_int_equal(cache_get(c, h, NOW + 60001, &a, &out), 0);
	arena_free(&a);
	cache_free(c);
}

static void
test_a_team_token_keeps_its_group(void **state)
{
	struct cache *c = cache_new(4, 60000);
	struct pat_row in = row(2, NULL, 0, "platform"), out;
	unsigned char h[32];
	struct arena a;

	(void)state;
	arena_init(&a, 1024);
	key(h, 2);
	cache_put(c, h, NOW, &in);
	assert_int_equal(cache_get(c, h, NOW, &a, &out), 1);
	assert_non_null(out.group);
	assert_string_equal(out.group, "platform");
	assert_int_equal(out.ngroups, 0);
	arena_free(&a);
	cache_free(c);
}

static void
test_many_groups_are_kept_and_too_many_are_not(void **state)
{
	static char names[2000][12];
	static const char *groups[2000];
	struct cache *c = cache_new(64, 60000);
	struct pat_row in, out;
	unsigned char h[32], h2[32];
	struct arena a;

	(void)state;
	arena_init(&a, 1024);
	for (int i = 0; i < 2000; i++) {
		snprintf(names[i], sizeof(names[0]), "group-%04d", i);
		groups[i] = names[i];
	}
	/* 40 groups: more than a record holds, kept all the same. */
	in = row(3, groups, 40, NULL);
	key(h, 3);
	cache_put(c, h, NOW, &in);
	assert_int_equal(cache_get(c, h, NOW, &a, &out), 1);
	assert_int_equal(out.ngroups, 40);
	assert_string_equal(out.groups[39], "group-0039");
	/* Dropped by id, as a revocation's notification does. */
	cache_drop(c, in.id);
	assert_int_equal(cache_get(c, h, NOW, &a, &out), 0);
	/* 2000 groups (22 KB): not worth the room. */
	in = row(4, groups, 2000, NULL);
	key(h2, 4);
	cache_put(c, h2, NOW, &in);
	assert_int_equal(cache_get(c, h2, NOW, &a, &out), 0);
	arena_free(&a);
	cache_free(c);
}

static void
test_a_full_cache_evicts_the_least_recently_used(void **state)
{
	struct cache *c = cache_new(3, 60000);
	unsigned char h[5][32];
	struct pat_row in, out;
	struct arena a;

	(void)state;
	arena_init(&a, 1024);
	for (unsigned i = 0; i < 3; i++) {
		key(h[i], 10 + i);
		in = row(10 + i, NULL, 0, NULL);
		cache_put(c, h[i], NOW, &in);
	}
	/* Use the oldest: the next put evicts the second. */
	assert_int_equal(cache_get(c, h[0], NOW, &a, &out), 1);
	key(h[3], 13);
	in = row(13, NULL, 0, NULL);
	cache_put(c, h[3], NOW, &in);
	assert_int_equal(cache_count(c), 3);
	assert_int_equal(cache_stats(c)->evictions, 1);
	assert_int_equal(cache_get(c, h[1], NOW, &a, &out), 0);
	assert_int_equal(cache_get(c, h[0], NOW, &a, &out), 1);
	assert_int_equal(cache_get(c, h[2], NOW, &a, &out), 1);
	assert_int_equal(cache_get(c, h[3], NOW, &a, &out), 1);
	assert_string_equal(out.id, "00000000-0000-4000-8000-000000000013");
	/* Put again under the same key: replaced, not doubled. */
	in = row(14, NULL, 0, NULL);
	cache_put(c, h[3], NOW, &in);
	assert_int_equal(cache_count(c), 3);
	assert_int_equal(cache_get(c, h[3], NOW, &a, &out), 1);
	assert_string_equal(out.id, "00000000-0000-4000-8000-000000000014");
	cache_drop_hmac(c, h[3]);
	assert_int_equal(cache_get(c, h[3], NOW, &a, &out), 0);
	cache_flush(c);
	assert_int_equal(cache_count(c), 0);
	arena_free(&a);
	cache_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_then_get_gives_the_row_back),
		cmocka_unit_test(test_a_team_token_keeps_its_group),
		cmocka_unit_test(test_many_groups_are_kept_and_too_many_are_not),
		cmocka_unit_test(test_a_full_cache_evicts_the_least_recently_used),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
