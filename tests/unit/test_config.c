/* test_config.c - the typed configuration table, its file, environment and key files. */
#include <sys/stat.h>

#include <ftw.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cases.h"

#include "config.h"

/* 32 bytes 00..1f, and 31 bytes 00..1e, in base64url without padding. */
#define KEY32		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
#define KEY31		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg"
/* 32 bytes c8..e7: uses '_' and '-'. */
#define KEY32_URL	"yMnKy8zNzs_Q0dLT1NXW19jZ2tvc3d7f4OHi4-Tl5uc"
/* 64 bytes 00..3f. */
#define KEY64		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0-Pw"

static const char *const config_env[] = {
	"PATGATE_CONFIG", "PATGATE_DATABASE_URL", "PATGATE_SECRET_FILE",
	"PATGATE_PEPPER_FILE", "PATGATE_ISSUER", "PATGATE_AUDIENCE",
	"PATGATE_MAX_DAYS", "PATGATE_OIDC_ISSUER", "PATGATE_OIDC_AUDIENCE",
	"PATGATE_OIDC_JWKS_FILE", "PATGATE_TRUST_REMOTE_USER",
	"PATGATE_TRUSTED_PROXIES", "PATGATE_INTROSPECT_SECRET", "PATGATE_LISTEN",
	"PATGATE_WORKERS", "PATGATE_USER", "PATGATE_LOG_LEVEL",
};

static void
config_env_clear(void)
{
	for (size_t i = 0; i < NELEM(config_env); i++)
		unsetenv(config_env[i]);
}

/* ------------------------------------------------------------------ config_parse */

static void
test_config_defaults(void **state)
{
	struct config cfg;

	(void)state;
	config_defaults(&cfg);
	assert_string_equal(cfg.issuer, "Terrakube");
	assert_string_equal(cfg.audience, "Terrakube");
	assert_string_equal(cfg.database_url, "");
	assert_string_equal(cfg.secret_file, "");
	assert_string_equal(cfg.oidc_jwks_file, "");
	assert_int_equal(cfg.max_days, 0);
	assert_int_equal(cfg.workers, 0);
	assert_int_equal(cfg.trust_remote_user, 0);
	assert_int_equal(cfg.log_level, LVL_INFO);
	assert_true(config_workers(&cfg) >= 2);
	cfg.workers = 3;
	assert_int_equal(config_workers(&cfg), 3);
	config_free(&cfg);
}

static void
test_config_parse_good(void **state)
{
	static const char text[] =
	    "# patgate test configuration\n"
	    "\n"
	    "   # an indented comment\n"
	    "database_url = \"host=/tmp dbname=patgate\"\n"
	    "issuer=Example\n"
	    "  audience   =   \"  spaced audience  \"  \n"
	    "max_days = 90\r\n"
	    "workers = 4\n"
	    "trust_remote_user = on\n"
	    "oidc_issuer = https://idp.example/realms/x\n"
	    "log_level = debug\n"
	    "listen = 127.0.0.1:9000";	/* no newline at the end */
	struct config cfg;
	char err[512] = "";

	(void)state;
	config_defaults(&cfg);
	assert_int_equal(config_parse(&cfg, "t.conf", text, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_string_equal(cfg.database_url, "host=/tmp dbname=patgate");
	assert_string_equal(cfg.issuer, "Example");
	assert_string_equal(cfg.audience, "  spaced audience  ");
	assert_int_equal(cfg.max_days, 90);
	assert_int_equal(cfg.workers, 4);
	assert_int_equal(cfg.trust_remote_user, 1);
	assert_string_equal(cfg.oidc_issuer, "https://idp.example/realms/x");
	assert_int_equal(cfg.log_level, LVL_DEBUG);
	assert_string_equal(cfg.listen, "127.0.0.1:9000");
	assert_string_equal(cfg.secret_file, "");	/* untouched keys keep defaults */
	config_free(&cfg);
}

static void
test_config_parse_values(void **state)
{
	static const struct {
		const char	*text;
		int		 trust;		/* -1: not checked */
		int		 level;
		long		 max_days;
	} cases[] = {
		{ "trust_remote_user = on", 1, -1, -1 },
		{ "trust_remote_user = ON", 1, -1, -1 },
		{ "trust_remote_user = true", 1, -1, -1 },
		{ "trust_remote_user = Yes", 1, -1, -1 },
		{ "trust_remote_user = 1", 1, -1, -1 },
		{ "trust_remote_user = off", 0, -1, -1 },
		{ "trust_remote_user = False", 0, -1, -1 },
		{ "trust_remote_user = no", 0, -1, -1 },
		{ "trust_remote_user = 0", 0, -1, -1 },
		{ "trust_remote_user = \"on\"", 1, -1, -1 },
		{ "log_level = debug", -1, LVL_DEBUG, -1 },
		{ "log_level = info", -1, LVL_INFO, -1 },
		{ "log_level = warn", -1, LVL_WARN, -1 },
		{ "log_level = error", -1, LVL_ERROR, -1 },
		{ "max_days = 0", -1, -1, 0 },
		{ "max_days = 1", -1, -1, 1 },
		{ "max_days = 36500", -1, -1, 36500 },
		{ "max_days = \"30\"", -1, -1, 30 },
	};

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct config cfg;
		char err[512] = "";
		int rc;

		config_defaults(&cfg);
		rc = config_parse(&cfg, "t.conf", cases[i].text, err, sizeof(err));
		expect(rc == 0, "config_parse(%s) = %d: %s", cases[i].text, rc, err);
		if (cases[i].trust >= 0)
			expect(cfg.trust_remote_user == cases[i].trust,
			    "config_parse(%s): trust_remote_user %d", cases[i].text,
			    cfg.trust_remote_user);
		if (cases[i].level >= 0)
			expect((int)cfg.log_level == cases[i].level,
			    "config_parse(%s): log_level %d", cases[i].text, cfg.log_level);
		if (cases[i].max_days >= 0)
			expect(cfg.max_days == cases[i].max_days,
			    "config_parse(%s): max_days %ld", cases[i].text, cfg.max_days);
		config_free(&cfg);
	}
	cases_done();
}

struct error_case {
	const char	*name;
	const char	*text;
	const char	*prefix;	/* the error starts with file:line: key: */
	const char	*reason;	/* and says this somewhere after */
};

static const struct error_case error_cases[] = {
	{ "unknown key", "bogus = 1\n", "t.conf:1: bogus: ", "unknown key" },
	{ "unknown key on line 3", "# c\n\nbogus = 1\n", "t.conf:3: bogus: ", "unknown key" },
	{ "keys are case-sensitive", "ISSUER = x\n", "t.conf:1: ISSUER: ", "unknown key" },
	{ "a key with a typo", "max_day = 3\n", "t.conf:1: max_day: ", "unknown key" },
	{ "duplicate key", "# c\n\nmax_days = 10\nmax_days = 20\n", "t.conf:4: max_days: ",
	    "already set on line 3" },
	{ "duplicate string key", "issuer = a\nissuer = a\n", "t.conf:2: issuer: ",
	    "already set on line 1" },
	{ "no equals sign", "issuer Terrakube\n", "t.conf:1: issuer Terrakube: ",
	    "key = value" },
	{ "int: word", "max_days = ten\n", "t.conf:1: max_days: ", "\"ten\"" },
	{ "int: trailing word", "max_days = 7 days\n", "t.conf:1: max_days: ", "\"7 days\"" },
	{ "int: empty", "max_days =\n", "t.conf:1: max_days: ", "\"\"" },
	{ "int: negative", "max_days = -1\n", "t.conf:1: max_days: ", "0 to 36500" },
	{ "int: over the limit", "max_days = 36501\n", "t.conf:1: max_days: ", "0 to 36500" },
	{ "int: overflows long", "max_days = 99999999999999999999999\n",
	    "t.conf:1: max_days: ", "0 to 36500" },
	{ "int: fraction", "max_days = 1.5\n", "t.conf:1: max_days: ", "\"1.5\"" },
	{ "int: hex", "workers = 0x10\n", "t.conf:1: workers: ", "\"0x10\"" },
	{ "int: workers over 256", "\n\nworkers = 257\n", "t.conf:3: workers: ", "0 to 256" },
	{ "bool: maybe", "trust_remote_user = maybe\n", "t.conf:1: trust_remote_user: ",
	    "\"maybe\" is not on or off" },
	{ "bool: empty", "trust_remote_user =\n", "t.conf:1: trust_remote_user: ",
	    "not on or off" },
	{ "bool: 2", "trust_remote_user = 2\n", "t.conf:1: trust_remote_user: ",
	    "not on or off" },
	{ "log level: verbose", "log_level = verbose\n", "t.conf:1: log_level: ",
	    "\"verbose\"" },
	{ "log level: empty", "log_level = \n", "t.conf:1: log_level: ", "debug, info" },
	{ "an error after good lines", "issuer = a\naudience = b\nmax_days = x\n",
	    "t.conf:3: max_days: ", "\"x\"" },
};

static void
test_config_parse_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(error_cases); i++) {
		const struct error_case *c = &error_cases[i];
		struct config cfg;
		char err[512] = "";
		int rc;

		config_defaults(&cfg);
		rc = config_parse(&cfg, "t.conf", c->text, err, sizeof(err));
		expect(rc == -1, "config_parse(%s) = %d, want -1", c->name, rc);
		expect(strncmp(err, c->prefix, strlen(c->prefix)) == 0 &&
		    strstr(err + strlen(c->prefix), c->reason) != NULL,
		    "config_parse(%s): error \"%s\", want \"%s...%s...\"", c->name,
		    err, c->prefix, c->reason);
		config_free(&cfg);
	}
	cases_done();
}

/* A line of exactly n bytes: "issuer = aaa...". */
static char *
long_line(size_t n)
{
	char *s = malloc(n + 32);

	assert_non_null(s);
	strcpy(s, "# c\nissuer = ");
	memset(s + 13, 'a', n - 9);
	s[4 + n] = '\n';
	s[5 + n] = '\0';
	return s;
}

static void
test_config_parse_line_length(void **state)
{
	char *ok = long_line(4096), *too_long = long_line(4097), err[512] = "";
	struct config cfg;

	(void)state;
	config_defaults(&cfg);
	assert_int_equal(config_parse(&cfg, "t.conf", ok, err, sizeof(err)), 0);
	assert_int_equal(strlen(cfg.issuer), 4096 - 9);
	config_free(&cfg);

	config_defaults(&cfg);
	assert_int_equal(config_parse(&cfg, "t.conf", too_long, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "t.conf:2: "));
	assert_non_null(strstr(err, "longer than 4096"));
	config_free(&cfg);
	free(ok);
	free(too_long);
}

/* ------------------------------------------------------------------ config_key_decode */

static void
test_config_key_decode(void **state)
{
	static const struct {
		const char	*name;
		const char	*text;
		int		 want;
		size_t		 len;
	} cases[] = {
		{ "32 bytes", KEY32, 0, 32 },
		{ "32 bytes, newline", KEY32 "\n", 0, 32 },
		{ "32 bytes, CRLF and spaces", KEY32 "  \r\n", 0, 32 },
		{ "32 bytes, '=' padding", KEY32 "=", 0, 32 },
		{ "32 bytes with - and _", KEY32_URL, 0, 32 },
		{ "64 bytes", KEY64, 0, 64 },
		{ "31 bytes: too short", KEY31, -1, 0 },
		{ "empty", "", -1, 0 },
		{ "whitespace only", " \n", -1, 0 },
		{ "standard base64 alphabet", "+//7//v/+//7//v/+//7//v/+//7//v/+//7//v/+/8", -1, 0 },
		{ "a space inside", "AAECAwQFBgcICQoLDA0O DxAREhMUFRYXGBkaGxwdHh8", -1, 0 },
		{ "non-zero unused bits", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9", -1, 0 },
		{ "a length that is 1 mod 4", KEY32 "AA", -1, 0 },
	};

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		unsigned char out[CONFIG_KEY_MAX];
		size_t len = 0;
		int rc = config_key_decode(cases[i].text, strlen(cases[i].text), out, &len);

		expect(rc == cases[i].want, "config_key_decode(%s) = %d, want %d",
		    cases[i].name, rc, cases[i].want);
		if (rc == 0 && cases[i].want == 0)
			expect(len == cases[i].len, "config_key_decode(%s): %zu bytes, want %zu",
			    cases[i].name, len, cases[i].len);
		if (rc == 0 && strcmp(cases[i].name, "32 bytes") == 0)
			for (size_t b = 0; b < 32; b++)
				expect(out[b] == b, "config_key_decode(32 bytes): byte %zu = %u",
				    b, out[b]);
	}
	cases_done();
}

/* The largest key that fits, and one byte more. */
static void
test_config_key_decode_max(void **state)
{
	char text[1024];
	unsigned char out[CONFIG_KEY_MAX];
	size_t len = 0;

	(void)state;
	/* 'A' is zero: 512 zero bytes encode to 683 characters, 513 to 684. */
	memset(text, 'A', sizeof(text));
	assert_int_equal(config_key_decode(text, 683, out, &len), 0);
	assert_int_equal(len, CONFIG_KEY_MAX);
	assert_int_equal(config_key_decode(text, 684, out, &len), -1);
}

/* ------------------------------------------------------------------ config_load */

struct tmp {
	char	dir[64];
};

static int
setup_tmp(void **state)
{
	struct tmp *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return -1;
	strcpy(t->dir, "/tmp/patgate-test-config-XXXXXX");
	if (mkdtemp(t->dir) == NULL)
		return -1;
	config_env_clear();
	*state = t;
	return 0;
}

static int
tmp_remove(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
teardown_tmp(void **state)
{
	struct tmp *t = *state;
	int rc;

	config_env_clear();
	rc = nftw(t->dir, tmp_remove, 8, FTW_DEPTH | FTW_PHYS);
	free(t);
	return rc;
}

/* Write a file under the test directory; the path returned stays valid for 8 more calls. */
static const char *
tmp_write(struct tmp *t, const char *name, const char *text, size_t len, mode_t mode)
{
	static char paths[8][128];
	static int slot;
	char *path = paths[slot++ % 8];
	FILE *f;

	snprintf(path, 128, "%s/%s", t->dir, name);
	unlink(path);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

static const char *
tmp_text(struct tmp *t, const char *name, const char *text, mode_t mode)
{
	return tmp_write(t, name, text, strlen(text), mode);
}

/* A configuration whose key files are good, plus extra lines. */
static const char *
good_conf(struct tmp *t, const char *extra)
{
	char text[2048];
	const char *secret = tmp_text(t, "secret", KEY32 "\n", 0600);
	const char *pepper = tmp_text(t, "pepper", KEY32_URL, 0600);

	snprintf(text, sizeof(text), "secret_file = %s\npepper_file = %s\n%s",
	    secret, pepper, extra);
	return tmp_text(t, "patgate.conf", text, 0600);
}

static void
test_config_load_good(void **state)
{
	struct tmp *t = *state;
	const char *conf = good_conf(t, "max_days = 10\nissuer = FileIssuer\n");
	struct config cfg;
	char err[512] = "";

	assert_int_equal(config_load(&cfg, conf, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_string_equal(cfg.path, conf);
	assert_int_equal(cfg.max_days, 10);
	assert_string_equal(cfg.issuer, "FileIssuer");
	assert_string_equal(cfg.audience, "Terrakube");
	assert_int_equal(cfg.secret_len, 32);
	for (size_t i = 0; i < 32; i++)
		assert_int_equal(cfg.secret[i], i);
	assert_int_equal(cfg.pepper_len, 32);
	assert_int_equal(cfg.pepper[0], 0xc8);
	assert_int_equal(cfg.pepper[31], 0xe7);
	config_free(&cfg);
}

static void
test_config_load_env_overrides(void **state)
{
	struct tmp *t = *state;
	const char *conf = good_conf(t, "max_days = 10\nissuer = FileIssuer\n");
	struct config cfg;
	char err[512] = "";

	setenv("PATGATE_MAX_DAYS", "30", 1);
	setenv("PATGATE_ISSUER", "EnvIssuer", 1);
	setenv("PATGATE_TRUST_REMOTE_USER", "yes", 1);
	setenv("PATGATE_LOG_LEVEL", "warn", 1);
	assert_int_equal(config_load(&cfg, conf, err, sizeof(err)), 0);
	assert_int_equal(cfg.max_days, 30);
	assert_string_equal(cfg.issuer, "EnvIssuer");
	assert_int_equal(cfg.trust_remote_user, 1);
	assert_int_equal(cfg.log_level, LVL_WARN);
	config_free(&cfg);
}

/* The environment can name the key files that the file leaves out. */
static void
test_config_load_env_key_files(void **state)
{
	struct tmp *t = *state;
	const char *conf = tmp_text(t, "patgate.conf", "# nothing\n", 0600);
	struct config cfg;
	char err[512] = "";

	setenv("PATGATE_SECRET_FILE", tmp_text(t, "s", KEY32, 0600), 1);
	setenv("PATGATE_PEPPER_FILE", tmp_text(t, "p", KEY32, 0400), 1);
	assert_int_equal(config_load(&cfg, conf, err, sizeof(err)), 0);
	assert_int_equal(cfg.secret_len, 32);
	assert_int_equal(cfg.pepper_len, 32);
	config_free(&cfg);
}

/* config_load must fail with an error holding every string in want. */
static void
load_fails(const char *name, const char *conf, const char *const *want, size_t nwant)
{
	struct config cfg;
	char err[512] = "";
	int rc;

	rc = config_load(&cfg, conf, err, sizeof(err));
	expect(rc == -1, "config_load(%s) = %d, want -1", name, rc);
	for (size_t i = 0; i < nwant && want[i] != NULL; i++)
		expect(strstr(err, want[i]) != NULL,
		    "config_load(%s): error \"%s\" lacks \"%s\"", name, err, want[i]);
	config_free(&cfg);
}

static void
test_config_load_bad_env(void **state)
{
	struct tmp *t = *state;
	const char *conf = good_conf(t, "");
	static const struct {
		const char	*name, *value, *want;
	} cases[] = {
		{ "PATGATE_MAX_DAYS", "abc", "\"abc\"" },
		{ "PATGATE_MAX_DAYS", "36501", "0 to 36500" },
		{ "PATGATE_WORKERS", "-2", "0 to 256" },
		{ "PATGATE_TRUST_REMOTE_USER", "maybe", "on or off" },
		{ "PATGATE_LOG_LEVEL", "loud", "\"loud\"" },
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		const char *want[] = { "environment", cases[i].name, cases[i].want };

		config_env_clear();
		setenv(cases[i].name, cases[i].value, 1);
		load_fails(cases[i].name, conf, want, NELEM(want));
	}
	cases_done();
}

struct key_file_case {
	const char	*name;
	const char	*secret;	/* the file's text; NULL: secret_file not set */
	mode_t		 secret_mode;
	const char	*pepper;
	mode_t		 pepper_mode;
	const char	*want[3];	/* NULL: loads; else what the error holds */
};

static const struct key_file_case key_file_cases[] = {
	{ "both 0600", KEY32, 0600, KEY32, 0600, { NULL } },
	{ "both 0400", KEY32, 0400, KEY32_URL, 0400, { NULL } },
	{ "secret 0700 (owner only)", KEY32, 0700, KEY32, 0600, { NULL } },
	{ "newline and padding", KEY32 "\n", 0600, KEY32 "=\r\n", 0600, { NULL } },
	{ "a 64-byte secret", KEY64, 0600, KEY32, 0600, { NULL } },

	{ "secret_file unset", NULL, 0, KEY32, 0600, { "secret_file", "must be set" } },
	{ "secret mode 0644", KEY32, 0644, KEY32, 0600, { "secret_file", "chmod 600", "0644" } },
	{ "secret mode 0640", KEY32, 0640, KEY32, 0600, { "secret_file", "chmod 600", "0640" } },
	{ "secret mode 0604", KEY32, 0604, KEY32, 0600, { "secret_file", "chmod 600" } },
	{ "secret mode 0660", KEY32, 0660, KEY32, 0600, { "secret_file", "chmod 600" } },
	{ "secret 31 bytes", KEY31, 0600, KEY32, 0600, { "secret_file", "at least 32 bytes" } },
	{ "secret empty", "", 0600, KEY32, 0600, { "secret_file", "at least 32 bytes" } },
	{ "secret standard base64", "+//7//v/+//7//v/+//7//v/+//7//v/+//7//v/+/8=", 0600,
	    KEY32, 0600, { "secret_file", "base64url" } },
	{ "pepper_file unset", KEY32, 0600, NULL, 0, { "pepper_file", "must be set" } },
	{ "pepper mode 0644", KEY32, 0600, KEY32, 0644, { "pepper_file", "chmod 600" } },
	{ "pepper 31 bytes", KEY32, 0600, KEY31, 0600, { "pepper_file", "at least 32 bytes" } },
	{ "pepper not base64url", KEY32, 0600, "not base64!", 0600, { "pepper_file", "base64url" } },
};

static void
test_config_load_key_files(void **state)
{
	struct tmp *t = *state;

	for (size_t i = 0; i < NELEM(key_file_cases); i++) {
		const struct key_file_case *c = &key_file_cases[i];
		char text[1024] = "";
		const char *conf;

		if (c->secret != NULL)
			snprintf(text, sizeof(text), "secret_file = %s\n",
			    tmp_text(t, "secret", c->secret, c->secret_mode));
		if (c->pepper != NULL)
			snprintf(text + strlen(text), sizeof(text) - strlen(text),
			    "pepper_file = %s\n", tmp_text(t, "pepper", c->pepper,
			    c->pepper_mode));
		conf = tmp_text(t, "patgate.conf", text, 0600);
		if (c->want[0] != NULL)
			load_fails(c->name, conf, c->want, NELEM(c->want));
		else {
			struct config cfg;
			char err[512] = "";
			int rc = config_load(&cfg, conf, err, sizeof(err));

			expect(rc == 0, "config_load(%s) = %d: %s", c->name, rc, err);
			expect(rc != 0 || (cfg.secret_len >= 32 && cfg.pepper_len == 32),
			    "config_load(%s): secret %zu bytes, pepper %zu", c->name,
			    cfg.secret_len, cfg.pepper_len);
			config_free(&cfg);
		}
	}
	cases_done();
}

/* An unreadable key file: the error names the file and line that set it. */
static void
test_config_load_key_file_missing(void **state)
{
	struct tmp *t = *state;
	char text[1024], where[256];
	const char *conf;

	snprintf(text, sizeof(text), "# c\npepper_file = %s\nsecret_file = %s/none\n",
	    tmp_text(t, "pepper", KEY32, 0600), t->dir);
	conf = tmp_text(t, "patgate.conf", text, 0600);
	snprintf(where, sizeof(where), "%s:3: secret_file: ", conf);
	{
		const char *want[] = { where, "cannot read", "/none" };

		load_fails("secret_file missing", conf, want, NELEM(want));
	}
	/* a directory is not a key file */
	snprintf(text, sizeof(text), "pepper_file = %s\nsecret_file = %s\n",
	    tmp_text(t, "pepper", KEY32, 0600), t->dir);
	conf = tmp_text(t, "patgate.conf", text, 0600);
	{
		const char *want[] = { "patgate.conf:2: secret_file: ", "cannot read", NULL };

		load_fails("secret_file is a directory", conf, want, NELEM(want));
	}
	cases_done();
}

static void
test_config_load_file_errors(void **state)
{
	struct tmp *t = *state;
	char path[128];

	snprintf(path, sizeof(path), "%s/absent.conf", t->dir);
	{
		const char *want[] = { path, "cannot read", NULL };
		load_fails("file absent", path, want, NELEM(want));
	}
	{
		const char *conf = good_conf(t, "bogus = 1\n");
		char where[256];
		const char *want[] = { where, "unknown key", NULL };

		snprintf(where, sizeof(where), "%s:3: bogus: ", conf);
		load_fails("unknown key", conf, want, NELEM(want));
	}
	{
		const char *conf = good_conf(t, "issuer = \"\"\n");
		const char *want[] = { "issuer", "must not be empty", NULL };
		load_fails("empty issuer", conf, want, NELEM(want));
	}
	{
		const char *conf = good_conf(t, "oidc_jwks_file = /etc/jwks.json\n");
		const char *want[] = { "oidc_jwks_file", "oidc_issuer", NULL };
		load_fails("jwks without an issuer", conf, want, NELEM(want));
	}
	{
		const char *conf = good_conf(t, "introspect_secret = hunter2\n");
		const char *want[] = { "introspect_secret", "chmod 600", NULL };

		assert_int_equal(chmod(conf, 0644), 0);
		load_fails("secret in a world-readable file", conf, want, NELEM(want));
	}
	cases_done();
}

/*
 * A NUL byte must not hide the rest of the file: whatever follows it is
 * either read or refused, never silently dropped.
 */
static void
test_config_load_nul_byte(void **state)
{
	struct tmp *t = *state;
	static const char tail[] = "max_days = 10\n\0bogus = 1\n";
	char text[1024];
	size_t n;
	const char *conf;
	struct config cfg;
	char err[512] = "";
	int rc;

	n = (size_t)snprintf(text, sizeof(text), "secret_file = %s\npepper_file = %s\n",
	    tmp_text(t, "s", KEY32, 0600), tmp_text(t, "p", KEY32, 0600));
	memcpy(text + n, tail, sizeof(tail) - 1);
	conf = tmp_write(t, "nul.conf", text, n + sizeof(tail) - 1, 0600);
	rc = config_load(&cfg, conf, err, sizeof(err));
	config_free(&cfg);
	if (rc == 0)
		fail_msg("config_load accepted a file whose line 4 (\"bogus = 1\") "
		    "sits after a NUL byte and was never read");
	assert_non_null(strstr(err, conf));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_defaults),
		cmocka_unit_test(test_config_parse_good),
		cmocka_unit_test(test_config_parse_values),
		cmocka_unit_test(test_config_parse_errors),
		cmocka_unit_test(test_config_parse_line_length),
		cmocka_unit_test(test_config_key_decode),
		cmocka_unit_test(test_config_key_decode_max),
		cmocka_unit_test_setup_teardown(test_config_load_good, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_config_load_env_overrides, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_config_load_env_key_files, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_config_load_bad_env, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_config_load_key_files, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_config_load_key_file_missing, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_config_load_file_errors, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_config_load_nul_byte, setup_tmp, teardown_tmp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
