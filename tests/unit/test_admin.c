/* test_admin.c - patgate-admin's command line (admin_parse): what each reads as. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cases.h"

#include "admin.h"

#define ID	"0f8fad5b-d9cb-469f-a165-70867728950e"

struct parse_case {
	const char		*name;
	const char		*argv[12];
	enum admin_exit		 want;
	enum admin_command	 command;	/* when want is ADMIN_OK */
	const char		*user, *group, *id, *state;
	long			 unused_days, older_than, limit;
	int			 json;
	const char		*config;
	const char		*err;		/* a part of the message, when not ADMIN_OK */
};

#define OK(name, cmd, ...)	{ name, { "patgate-admin", __VA_ARGS__, NULL }, ADMIN_OK, cmd
#define BAD(name, err, ...)	{ name, { "patgate-admin", __VA_ARGS__, NULL }, ADMIN_USAGE, \
	ADMIN_LIST, NULL, NULL, NULL, NULL, -1, 0, ADMIN_AUDIT_LIMIT, 0, NULL, err }

static const struct parse_case parse_cases[] = {
	OK("list by user", ADMIN_LIST, "list", "--user", "a@b"),
	    "a@b", NULL, NULL, NULL, -1, 0, ADMIN_AUDIT_LIMIT, 0, NULL, NULL },
	OK("list by group, every option, options first", ADMIN_LIST, "--config", "/c",
	    "--json", "--state", "rotated", "--unused-days", "90", "list", "--group", "ops"),
	    NULL, "ops", NULL, "rotated", 90, 0, ADMIN_AUDIT_LIMIT, 1, "/c", NULL },
	OK("revoke one", ADMIN_REVOKE, "revoke", ID),
	    NULL, NULL, ID, NULL, -1, 0, ADMIN_AUDIT_LIMIT, 0, NULL, NULL },
	OK("revoke a group, --config after", ADMIN_REVOKE, "revoke", "--group", "ops",
	    "--config", "/c"),
	    NULL, "ops", NULL, NULL, -1, 0, ADMIN_AUDIT_LIMIT, 0, "/c", NULL },
	OK("purge", ADMIN_PURGE, "purge", "--older-than", "0"),
	    NULL, NULL, NULL, NULL, -1, 0, ADMIN_AUDIT_LIMIT, 0, NULL, NULL },
	OK("purge, a year", ADMIN_PURGE, "purge", "--older-than", "365"),
	    NULL, NULL, NULL, NULL, -1, 365, ADMIN_AUDIT_LIMIT, 0, NULL, NULL },
	OK("audit a token", ADMIN_AUDIT, "audit", "--token", ID, "--limit", "7", "--json"),
	    NULL, NULL, ID, NULL, -1, 0, 7, 1, NULL, NULL },
	OK("audit a user, --opt=value", ADMIN_AUDIT, "audit", "--user=a@b", "--limit=100000"),
	    "a@b", NULL, NULL, NULL, -1, 0, 100000, 0, NULL, NULL },
	OK("help wins", ADMIN_HELP, "list", "--help"),
	    NULL, NULL, NULL, NULL, -1, 0, ADMIN_AUDIT_LIMIT, 0, NULL, NULL },
	OK("version", ADMIN_VERSION, "--version"),
	    NULL, NULL, NULL, NULL, -1, 0, ADMIN_AUDIT_LIMIT, 0, NULL, NULL },

	BAD("nothing", "no command", "--json"),
	BAD("unknown command", "unknown command", "frob"),
	BAD("unknown option", "unknown option", "list", "--user", "a", "--frob"),
	BAD("missing value", "needs a value", "list", "--user"),
	BAD("twice", "given twice", "list", "--user", "a", "--user", "b"),
	BAD("list of nobody", "exactly one", "list"),
	BAD("list of two", "exactly one", "list", "--user", "a", "--group", "b"),
	BAD("list --token", "does not take --token", "list", "--token", ID),
	BAD("bad state", "--state", "list", "--user", "a", "--state", "ACTIVE"),
	BAD("empty user", "must not be empty", "list", "--user", ""),
	BAD("negative days", "--unused-days", "list", "--user", "a", "--unused-days", "-1"),
	BAD("days with a sign", "--unused-days", "list", "--user", "a", "--unused-days", "+1"),
	BAD("days too many", "--unused-days", "list", "--user", "a", "--unused-days",
	    "1000001"),
	BAD("days past long", "--unused-days", "list", "--user", "a", "--unused-days",
	    "99999999999999999999999"),
	BAD("an operand to list", "unexpected argument", "list", "--user", "a", "x"),
	BAD("revoke nothing", "exactly one", "revoke"),
	BAD("revoke two ways", "exactly one", "revoke", ID, "--user", "a"),
	BAD("revoke two ids", "unexpected argument", "revoke", ID, ID),
	BAD("revoke no uuid", "not a token id", "revoke", "0f8fad5b"),
	BAD("revoke --json", "does not take --json", "revoke", ID, "--json"),
	BAD("purge without days", "--older-than", "purge"),
	BAD("purge, days empty", "--older-than", "purge", "--older-than", ""),
	BAD("purge --user", "does not take --user", "purge", "--older-than", "1", "--user", "a"),
	BAD("audit nothing", "exactly one", "audit"),
	BAD("audit a bad token", "not a token id", "audit", "--token", "x"),
	BAD("audit limit 0", "--limit", "audit", "--user", "a", "--limit", "0"),
	BAD("audit limit too big", "--limit", "audit", "--user", "a", "--limit", "100001"),
	BAD("audit --state", "does not take --state", "audit", "--user", "a", "--state",
	    "active"),
};

static int
str_eq(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void
test_parse(void **state)
{
	char *argv[13], err[256];
	struct admin_args args;

	(void)state;
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const struct parse_case *c = &parse_cases[i];
		enum admin_exit got;
		int argc = 0;

		/* getopt may reorder argv: give it a copy. */
		while (c->argv[argc] != NULL) {
			argv[argc] = (char *)c->argv[argc];
			argc++;
		}
		argv[argc] = NULL;
		got = admin_parse(&args, argc, argv, err, sizeof(err));
		expect(got == c->want, "%s: exit %d, want %d (%s)", c->name, got,
		    c->want, err);
		if (got != ADMIN_OK || c->want != ADMIN_OK) {
			expect(c->err == NULL || strstr(err, c->err) != NULL,
			    "%s: message \"%s\" lacks \"%s\"", c->name, err, c->err);
			continue;
		}
		expect(args.command == c->command, "%s: command %d", c->name, args.command);
		if (c->command == ADMIN_HELP || c->command == ADMIN_VERSION)
			continue;
		expect(str_eq(args.user, c->user) && str_eq(args.group, c->group) &&
		    str_eq(args.id, c->id) && str_eq(args.state, c->state) &&
		    str_eq(args.config, c->config), "%s: whose or config", c->name);
		expect(args.unused_days == c->unused_days && args.older_than == c->older_than &&
		    args.limit == c->limit && args.json == c->json, "%s: numbers or json",
		    c->name);
	}
	assert_int_equal(case_failures, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
	};

	return cmocka_run_group_tests_name("admin", tests, NULL, NULL);
}
