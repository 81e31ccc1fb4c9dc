/*
 * admin.c - patgate-admin's commands: any owner's tokens and events, with
 * access to the database only (no token secret).  Every change goes through
 * db.c's writes, so each token changed is one audit row and one notification.
 */
#include "admin.h"

#include <sys/wait.h>

#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <yajl/yajl_gen.h>

#include "alloc.h"
#include "json.h"
#include "log.h"
#include "service.h"
#include "uuid.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define ADMIN_LIMIT_MAX		100000
#define ADMIN_DAYS_MAX		1000000
#define ADMIN_VIA		"admin"

void
admin_usage(FILE *f)
{
	fprintf(f,
	    "usage: patgate-admin [--config FILE] list --user EMAIL | --group GROUP\n"
	    "           [--state active|expired|inactive|rotated|revoked]\n"
	    "           [--unused-days N] [--json]\n"
	    "       patgate-admin [--config FILE] revoke ID | --user EMAIL | --group GROUP\n"
	    "       patgate-admin [--config FILE] purge --older-than DAYS\n"
	    "       patgate-admin [--config FILE] audit --token ID | --user EMAIL |\n"
	    "           --group GROUP [--limit N] [--json]\n"
	    "       patgate-admin [--config FILE] notify [--json]\n"
	    "\n"
	    "The configuration is --config FILE, else $PATGATE_CONFIG, else\n"
	    SYSCONFDIR "/patgate/patgate.conf; only its database is used, and the\n"
	    "secret files it names are not read.\n"
	    "Exit status: 0 done, 1 configuration or database error, 2 usage error,\n"
	    "3 nothing matched (no token or event).\n");
}

/* Which options came, so that each command takes only its own. */
enum {
	OPT_CONFIG = 1 << 0, OPT_USER = 1 << 1, OPT_GROUP = 1 << 2,
	OPT_STATE = 1 << 3, OPT_UNUSED = 1 << 4, OPT_OLDER = 1 << 5,
	OPT_TOKEN = 1 << 6, OPT_LIMIT = 1 << 7, OPT_JSON = 1 << 8
};

static const struct option admin_options[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "user", required_argument, NULL, 'u' },
	{ "group", required_argument, NULL, 'g' },
	{ "state", required_argument, NULL, 's' },
	{ "unused-days", required_argument, NULL, 'n' },
	{ "older-than", required_argument, NULL, 'o' },
	{ "token", required_argument, NULL, 't' },
	{ "limit", required_argument, NULL, 'l' },
	{ "json", no_argument, NULL, 'j' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

static const struct {
	const char	*name;
	enum admin_command command;
	unsigned	 allowed;
} admin_commands[] = {
	{ "list", ADMIN_LIST, OPT_CONFIG | OPT_USER | OPT_GROUP | OPT_STATE |
	    OPT_UNUSED | OPT_JSON },
	{ "revoke", ADMIN_REVOKE, OPT_CONFIG | OPT_USER | OPT_GROUP },
	{ "purge", ADMIN_PURGE, OPT_CONFIG | OPT_OLDER },
	{ "audit", ADMIN_AUDIT, OPT_CONFIG | OPT_TOKEN | OPT_USER | OPT_GROUP |
	    OPT_LIMIT | OPT_JSON },
	{ "notify", ADMIN_NOTIFY, OPT_CONFIG | OPT_JSON },
};

/* What svc_status says of a token, and so what --state may ask for. */
static const char *const admin_states[] = {
	"active", "expired", "inactive", "rotated", "revoked"
};
#define ADMIN_NSTATES	(sizeof(admin_states) / sizeof(admin_states[0]))

static enum admin_exit admin_usage_error(char *, size_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static enum admin_exit
admin_usage_error(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
	return ADMIN_USAGE;
}

/* A whole number from 0 to max, in decimal digits only. */
static int
admin_number(const char *s, long max, long *out)
{
	char *end;
	long v;

	if (*s == '\0' || strspn(s, "0123456789") != strlen(s))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return -1;
	*out = v;
	return 0;
}

static const char *
admin_option_name(int ch)
{
	for (size_t i = 0; admin_options[i].name != NULL; i++)
		if (admin_options[i].val == ch)
			return admin_options[i].name;
	return "?";
}

static unsigned
admin_option_bit(int ch)
{
	switch (ch) {
	case 'c': return OPT_CONFIG;
	case 'u': return OPT_USER;
	case 'g': return OPT_GROUP;
	case 's': return OPT_STATE;
	case 'n': return OPT_UNUSED;
	case 'o': return OPT_OLDER;
	case 't': return OPT_TOKEN;
	case 'l': return OPT_LIMIT;
	case 'j': return OPT_JSON;
	default: return 0;
	}
}

enum admin_exit
admin_parse(struct admin_args *args, int argc, char *argv[], char *err,
    size_t errsz)
{
	size_t i, ncommands = sizeof(admin_commands) / sizeof(admin_commands[0]);
	unsigned seen = 0, bit;
	const char *word;
	int ch, whose;

	memset(args, 0, sizeof(*args));
	args->unused_days = -1;
	args->limit = ADMIN_AUDIT_LIMIT;
	*err = '\0';
	optind = 0;		/* GNU getopt: start afresh on every call */
	opterr = 0;
	/* Options may come before or after the command: getopt moves the operands last. */
	while ((ch = getopt_long(argc, argv, ":", admin_options, NULL)) != -1) {
		bit = admin_option_bit(ch);
		switch (ch) {
		case 'c': args->config = optarg; break;
		case 'u': args->user = optarg; break;
		case 'g': args->group = optarg; break;
		case 's': args->state = optarg; break;
		case 't': args->id = optarg; break;
		case 'j': args->json = 1; break;
		case 'n':
			if (admin_number(optarg, ADMIN_DAYS_MAX, &args->unused_days) == -1)
				return admin_usage_error(err, errsz, "--unused-days: "
				    "give a whole number of days, 0 to %d", ADMIN_DAYS_MAX);
			break;
		case 'o':
			if (admin_number(optarg, ADMIN_DAYS_MAX, &args->older_than) == -1)
				return admin_usage_error(err, errsz, "--older-than: "
				    "give a whole number of days, 0 to %d", ADMIN_DAYS_MAX);
			break;
		case 'l':
			if (admin_number(optarg, ADMIN_LIMIT_MAX, &args->limit) == -1 ||
			    args->limit < 1)
				return admin_usage_error(err, errsz, "--limit: give a "
				    "whole number, 1 to %d", ADMIN_LIMIT_MAX);
			break;
		case 'h':
			args->command = ADMIN_HELP;
			return ADMIN_OK;
		case 'V':
			args->command = ADMIN_VERSION;
			return ADMIN_OK;
		case ':':
			return admin_usage_error(err, errsz, "%s needs a value",
			    argv[optind - 1]);
		default:
			return admin_usage_error(err, errsz, "unknown option %s",
			    argv[optind - 1]);
		}
		if (seen & bit)
			return admin_usage_error(err, errsz, "--%s is given twice",
			    admin_option_name(ch));
		seen |= bit;
	}
	if (optind >= argc)
		return admin_usage_error(err, errsz, "no command given");
	word = argv[optind++];
	for (i = 0; i < ncommands && strcmp(admin_commands[i].name, word) != 0; i++)
		;
	if (i == ncommands)
		return admin_usage_error(err, errsz, "unknown command %s", word);
	args->command = admin_commands[i].command;
	if (args->command == ADMIN_REVOKE && optind < argc)
		args->id = argv[optind++];
	if (optind < argc)
		return admin_usage_error(err, errsz, "unexpected argument %s",
		    argv[optind]);
	for (ch = 0; admin_options[ch].name != NULL; ch++)
		if ((bit = admin_option_bit(admin_options[ch].val)) != 0 &&
		    (seen & bit) && !(admin_commands[i].allowed & bit))
			return admin_usage_error(err, errsz, "%s does not take --%s",
			    word, admin_options[ch].name);

	/* Whose tokens or events: exactly one way of saying it. */
	whose = (args->user != NULL) + (args->group != NULL) + (args->id != NULL);
	switch (args->command) {
	case ADMIN_LIST:
		if (whose != 1)
			return admin_usage_error(err, errsz, "list needs exactly one of "
			    "--user and --group");
		for (i = 0; args->state != NULL && i < ADMIN_NSTATES &&
		    strcmp(admin_states[i], args->state) != 0; i++)
			;
		if (i == ADMIN_NSTATES)
			return admin_usage_error(err, errsz, "--state: %s is not "
			    "active, expired, inactive, rotated or revoked", args->state);
		break;
	case ADMIN_REVOKE:
		if (whose != 1)
			return admin_usage_error(err, errsz, "revoke needs exactly one "
			    "of ID, --user and --group");
		break;
	case ADMIN_PURGE:
		if (!(seen & OPT_OLDER))
			return admin_usage_error(err, errsz, "purge needs --older-than "
			    "DAYS");
		break;
	case ADMIN_AUDIT:
		if (whose != 1)
			return admin_usage_error(err, errsz, "audit needs exactly one "
			    "of --token, --user and --group");
		break;
	default:
		break;
	}
	if ((args->user != NULL && *args->user == '\0') ||
	    (args->group != NULL && *args->group == '\0'))
		return admin_usage_error(err, errsz, "--user and --group must "
		    "not be empty");
	if (args->id != NULL && !uuid_valid(args->id))
		return admin_usage_error(err, errsz, "%s is not a token id (a UUID)",
		    args->id);
	return ADMIN_OK;
}

const char *
admin_actor(char *buf, size_t bufsz)
{
	struct passwd *pw = getpwuid(getuid());

	if (pw != NULL && pw->pw_name != NULL && *pw->pw_name != '\0')
		snprintf(buf, bufsz, "%s", pw->pw_name);
	else
		snprintf(buf, bufsz, "uid:%ld", (long)getuid());
	return buf;
}

/* ------------------------------------------------------------------ output */

static int64_t
admin_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A time for people: RFC 3339 to the second, or "-" when there is none. */
static const char *
admin_time(struct arena *a, int64_t ms, int present)
{
	char full[25], *s;

	if (!present || (s = arena_alloc(a, 21)) == NULL)
		return "-";
	json_time_format(full, ms);
	memcpy(s, full, 19);
	s[19] = 'Z';
	s[20] = '\0';
	return s;
}

/*
 * A table for people: a header, then rows of ncols cells, each column as
 * wide as its widest cell; the last column is not padded.
 */
static void
admin_table(FILE *out, const char *const *head, size_t ncols, const char **cells,
    size_t nrows)
{
	size_t width[16] = { 0 }, r, c, len;

	for (c = 0; c < ncols && c < 16; c++)
		width[c] = strlen(head[c]);
	for (r = 0; r < nrows; r++)
		for (c = 0; c < ncols && c < 16; c++)
			if ((len = strlen(cells[r * ncols + c])) > width[c])
				width[c] = len;
	for (r = 0; r <= nrows; r++)
		for (c = 0; c < ncols && c < 16; c++) {
			const char *cell = r == 0 ? head[c] : cells[(r - 1) * ncols + c];

			if (c + 1 < ncols)
				fprintf(out, "%-*s  ", (int)width[c], cell);
			else
				fprintf(out, "%s\n", cell);
		}
}

/* Print the JSON array built in g, and free g. */
static enum admin_exit
admin_json_print(yajl_gen g, FILE *out)
{
	const unsigned char *buf;
	size_t len;
	int ok;

	ok = yajl_gen_get_buf(g, &buf, &len) == yajl_gen_status_ok &&
	    fwrite(buf, 1, len, out) == len && fputc('\n', out) != EOF;
	yajl_gen_free(g);
	return ok ? ADMIN_OK : ADMIN_FAILED;
}

static enum admin_exit
admin_failed(enum error e, const char *what)
{
	if (e == ERR_NOT_FOUND)
		return ADMIN_NOTHING;
	fprintf(stderr, "patgate-admin: %s: %s\n", what, error_strerror(e));
	return ADMIN_FAILED;
}

/* ------------------------------------------------------------------ commands */

static enum admin_exit
admin_list(struct db *db, struct arena *a, const struct admin_args *args, FILE *out)
{
	static const char *const head[] = { "ID", "KIND", "OWNER", "STATE", "CREATED",
	    "EXPIRES", "LAST USED", "DESCRIPTION" };
	const size_t ncols = sizeof(head) / sizeof(head[0]);
	int64_t now = admin_now_ms();
	struct pat_row *rows;
	const char **cells;
	enum admin_exit rc;
	size_t n, i, kept;
	enum error e;
	yajl_gen g;

	if ((e = db_admin_list(db, a, args->user, args->group, args->unused_days,
	    &rows, &n)) != ERR_OK)
		return admin_failed(e, "list");
	for (i = kept = 0; i < n; i++)
		if (args->state == NULL || strcmp(args->state,
		    svc_status(&rows[i], now, args->inactive_days)) == 0)
			rows[kept++] = rows[i];
	n = kept;
	if (args->json) {
		if ((g = yajl_gen_alloc(NULL)) == NULL)
			return admin_failed(ERR_INTERNAL, "list");
		yajl_gen_array_open(g);
		for (i = 0; i < n; i++) {
			const struct pat_row *r = &rows[i];

			yajl_gen_map_open(g);
			json_key_str(g, "id", r->id);
			json_key_str(g, "kind", r->group != NULL ? "team" : "user");
			json_key_str(g, "owner", r->group != NULL ? r->group : r->email);
			json_key_str(g, "group", r->group);
			json_key_str(g, "createdBy", r->email);
			json_key_str(g, "description", r->description);
			json_key_int(g, "days", r->days);
			json_key_int(g, "hours", r->hours);
			json_key_int(g, "minutes", r->minutes);
			json_key_time(g, "createdDate", r->created_ms, 0);
			json_key_time(g, "updatedDate", r->updated_ms, 0);
			json_key_str(g, "updatedBy", r->updated_by);
			json_key_time(g, "expiresAt", r->expires_ms, !r->has_expires);
			json_key_time(g, "lastUsedAt", r->last_used_ms, !r->has_last_used);
			json_key_str(g, "status", svc_status(r, now, args->inactive_days));
			if (r->rotated) {
				json_key_str(g, "rotatedTo", r->rotated_to);
				json_key_time(g, "graceUntil", r->grace_ms, 0);
			}
			yajl_gen_map_close(g);
		}
		yajl_gen_array_close(g);
		rc = admin_json_print(g, out);
		return rc == ADMIN_OK && n == 0 ? ADMIN_NOTHING : rc;
	}
	if (n == 0) {
		fprintf(stderr, "patgate-admin: no token matches\n");
		return ADMIN_NOTHING;
	}
	if ((cells = arena_alloc(a, n * ncols * sizeof(*cells))) == NULL)
		return admin_failed(ERR_INTERNAL, "list");
	for (i = 0; i < n; i++) {
		const struct pat_row *r = &rows[i];
		const char **row = cells + i * ncols;

		row[0] = r->id;
		row[1] = r->group != NULL ? "team" : "user";
		row[2] = r->group != NULL ? r->group : r->email;
		row[3] = svc_status(r, now, args->inactive_days);
		row[4] = admin_time(a, r->created_ms, 1);
		row[5] = admin_time(a, r->expires_ms, r->has_expires);
		row[6] = admin_time(a, r->last_used_ms, r->has_last_used);
		row[7] = r->description;
	}
	admin_table(out, head, ncols, cells, n);
	return ADMIN_OK;
}

/* One line out and one log line for each token a revoke or purge changed. */
static void
admin_changed(FILE *out, const char *event, const struct db_changed *c,
    const char *actor)
{
	char owner[512], who[256];

	fprintf(out, "%s %s %s %s\n", event, c->id, c->owner_kind, c->owner);
	log_msg(LVL_INFO, "event=%s id=%s owner_kind=%s owner=\"%s\" actor=\"%s\" "
	    "actor_via=" ADMIN_VIA, event, c->id, c->owner_kind,
	    log_clean(owner, sizeof(owner), c->owner),
	    log_clean(who, sizeof(who), actor));
}

static enum admin_exit
admin_revoke(struct db *db, struct arena *a, const struct admin_args *args,
    const char *actor, FILE *out)
{
	struct db_actor who = { actor, ADMIN_VIA, NULL, NULL };
	struct db_changed *changed;
	char clean[256];
	size_t n, i;
	enum error e;

	if (args->id != NULL) {
		/* Any token, whoever owns it: no user and no groups. */
		if ((e = db_pat_revoke(db, a, args->id, NULL, NULL, 0, &who)) != ERR_OK) {
			if (e == ERR_NOT_FOUND)
				fprintf(stderr, "patgate-admin: no token %s\n", args->id);
			return admin_failed(e, "revoke");
		}
		fprintf(out, "revoked %s\n", args->id);
		log_msg(LVL_INFO, "event=revoked id=%s actor=\"%s\" actor_via=" ADMIN_VIA,
		    args->id, log_clean(clean, sizeof(clean), actor));
		return ADMIN_OK;
	}
	if ((e = db_revoke_owner(db, a, args->user, args->group, actor, &changed,
	    &n)) != ERR_OK)
		return admin_failed(e, "revoke");
	for (i = 0; i < n; i++)
		admin_changed(out, "revoked", &changed[i], actor);
	if (n == 0) {
		fprintf(stderr, "patgate-admin: no live token to revoke\n");
		return ADMIN_NOTHING;
	}
	return ADMIN_OK;
}

static enum admin_exit
admin_purge(struct db *db, struct arena *a, const struct admin_args *args,
    const char *actor, FILE *out)
{
	struct db_changed *changed;
	size_t n, i;
	enum error e;

	if ((e = db_purge(db, a, args->older_than, actor, &changed, &n)) != ERR_OK)
		return admin_failed(e, "purge");
	for (i = 0; i < n; i++)
		admin_changed(out, "purged", &changed[i], actor);
	if (n == 0) {
		fprintf(stderr, "patgate-admin: no token was revoked or expired "
		    "more than %ld days ago\n", args->older_than);
		return ADMIN_NOTHING;
	}
	return ADMIN_OK;
}

static enum admin_exit
admin_audit(struct db *db, struct arena *a, const struct admin_args *args, FILE *out)
{
	static const char *const head[] = { "ID", "AT", "EVENT", "TOKEN", "KIND",
	    "OWNER", "ACTOR", "VIA", "ADDRESS" };
	const size_t ncols = sizeof(head) / sizeof(head[0]);
	const char *kind = args->user != NULL ? "user" : args->group != NULL ?
	    "team" : NULL;
	struct audit_row *rows;
	const char **cells;
	enum admin_exit rc;
	size_t n, i;
	enum error e;
	yajl_gen g;

	if ((e = db_audit_list(db, a, kind, args->user != NULL ? args->user :
	    args->group, args->id, 0, args->limit, &rows, &n)) != ERR_OK)
		return admin_failed(e, "audit");
	if (args->json) {
		if ((g = yajl_gen_alloc(NULL)) == NULL)
			return admin_failed(ERR_INTERNAL, "audit");
		yajl_gen_array_open(g);
		for (i = 0; i < n; i++) {
			yajl_gen_map_open(g);
			json_key_int(g, "id", rows[i].id);
			json_key_time(g, "at", rows[i].at_ms, 0);
			json_key_str(g, "event", rows[i].event);
			json_key_str(g, "tokenId", rows[i].token_id);
			json_key_str(g, "ownerKind", rows[i].owner_kind);
			json_key_str(g, "owner", rows[i].owner);
			json_key_str(g, "actor", rows[i].actor);
			json_key_str(g, "actorVia", rows[i].via);
			json_key_str(g, "address", rows[i].addr);
			json_key_str(g, "requestId", rows[i].request_id);
			yajl_gen_map_close(g);
		}
		yajl_gen_array_close(g);
		rc = admin_json_print(g, out);
		return rc == ADMIN_OK && n == 0 ? ADMIN_NOTHING : rc;
	}
	if (n == 0) {
		fprintf(stderr, "patgate-admin: no event matches\n");
		return ADMIN_NOTHING;
	}
	if ((cells = arena_alloc(a, n * ncols * sizeof(*cells))) == NULL)
		return admin_failed(ERR_INTERNAL, "audit");
	for (i = 0; i < n; i++) {
		const char **row = cells + i * ncols;
		char *id = arena_alloc(a, 24);

		if (id == NULL)
			return admin_failed(ERR_INTERNAL, "audit");
		snprintf(id, 24, "%lld", rows[i].id);
		row[0] = id;
		row[1] = admin_time(a, rows[i].at_ms, 1);
		row[2] = rows[i].event;
		row[3] = rows[i].token_id != NULL ? rows[i].token_id : "-";
		row[4] = rows[i].owner_kind != NULL ? rows[i].owner_kind : "-";
		row[5] = rows[i].owner;
		row[6] = rows[i].actor;
		row[7] = rows[i].via != NULL ? rows[i].via : "-";
		row[8] = rows[i].addr != NULL ? rows[i].addr : "-";
	}
	admin_table(out, head, ncols, cells, n);
	return ADMIN_OK;
}

/* ------------------------------------------------------------------ expiry notices */

/* One notice as JSON: what a mail or a webhook says. */
static const char *
admin_notice_json(yajl_gen g, const struct db_notice *n, struct arena *a)
{
	const unsigned char *buf;
	size_t len;

	yajl_gen_reset(g, NULL);
	yajl_gen_clear(g);
	yajl_gen_map_open(g);
	json_key_str(g, "event", "expiry_notice");
	json_key_str(g, "ownerKind", n->owner_kind);
	json_key_str(g, "owner", n->owner);
	json_key_str(g, "email", n->email);
	json_key_str(g, "tokenId", n->token_id);
	json_key_str(g, "description", n->description);
	json_key_time(g, "expiresAt", n->expires_ms, 0);
	json_key_int(g, "window", n->window_days);
	yajl_gen_map_close(g);
	if (yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok)
		return NULL;
	return arena_strndup(a, (const char *)buf, len);
}

/*
 * Give json to the command (through /bin/sh -c, on its standard input) or
 * to the webhook (curl posts it, with no shell between).  0 when it took it.
 */
static int
admin_notice_send(const char *json, const char *command, const char *webhook)
{
	int pipefd[2], status;
	size_t left = strlen(json);
	ssize_t w;
	pid_t pid;

	if (pipe(pipefd) == -1)
		return -1;
	if ((pid = fork()) == -1) {
		close(pipefd[0]);
		close(pipefd[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(pipefd[0], STDIN_FILENO);
		close(pipefd[0]);
		close(pipefd[1]);
		if (*command != '\0')
			execl("/bin/sh", "sh", "-c", command, (char *)NULL);
		else
			execlp("curl", "curl", "-fsS", "--max-time", "20", "-X", "POST",
			    "-H", "Content-Type: application/json", "--data-binary", "@-",
			    webhook, (char *)NULL);
		_exit(127);
	}
	close(pipefd[0]);
	signal(SIGPIPE, SIG_IGN);
	while (left > 0 && (w = write(pipefd[1], json, left)) > 0) {
		json += w;
		left -= (size_t)w;
	}
	close(pipefd[1]);
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static enum admin_exit
admin_notify(struct db *db, struct arena *a, const struct admin_args *args, FILE *out)
{
	static const char *const head[] = { "TOKEN", "OWNER", "WINDOW", "EXPIRES",
	    "SENT" };
	struct db_notice *n;
	const char **cells, *json;
	char *w;
	yajl_gen g, jg = NULL;
	size_t count, i, failed = 0;
	enum error e;

	if ((args->notice_command == NULL || *args->notice_command == '\0') &&
	    (args->notice_webhook == NULL || *args->notice_webhook == '\0')) {
		fprintf(stderr, "patgate-admin: notify needs expiry_notice_command or "
		    "expiry_notice_webhook in the configuration\n");
		return ADMIN_FAILED;
	}
	if ((e = db_notice_claim(db, a, args->notice_days, &n, &count)) != ERR_OK)
		return admin_failed(e, "claiming the notices");
	if ((g = yajl_gen_alloc(NULL)) == NULL || (args->json &&
	    (jg = yajl_gen_alloc(NULL)) == NULL) ||
	    (cells = arena_alloc(a, (count ? count : 1) * 5 * sizeof(*cells))) == NULL) {
		if (g != NULL)
			yajl_gen_free(g);
		return admin_failed(ERR_INTERNAL, "memory");
	}
	if (jg != NULL)
		yajl_gen_array_open(jg);
	for (i = 0; i < count; i++) {
		int sent = (json = admin_notice_json(g, &n[i], a)) != NULL &&
		    admin_notice_send(json, args->notice_command != NULL ?
		    args->notice_command : "", args->notice_webhook) == 0;

		if (sent)
			log_msg(LVL_INFO, "event=expiry_notice_sent id=%s window=%ld",
			    n[i].token_id, n[i].window_days);
		else {
			/* Not sent: given back, to be tried again on the next run. */
			failed++;
			(void)db_notice_release(db, n[i].token_id, n[i].window_days);
			log_msg(LVL_WARN, "event=expiry_notice_failed id=%s window=%ld "
			    "action=\"given back for the next run\"", n[i].token_id,
			    n[i].window_days);
		}
		cells[i * 5] = n[i].token_id;
		cells[i * 5 + 1] = n[i].owner;
		if ((w = arena_alloc(a, 24)) != NULL)
			snprintf(w, 24, "%ld days", n[i].window_days);
		cells[i * 5 + 2] = w != NULL ? w : "-";
		cells[i * 5 + 3] = admin_time(a, n[i].expires_ms, 1);
		cells[i * 5 + 4] = sent ? "yes" : "no (retried next run)";
		if (jg != NULL) {
			yajl_gen_map_open(jg);
			json_key_str(jg, "tokenId", n[i].token_id);
			json_key_str(jg, "owner", n[i].owner);
			json_key_int(jg, "window", n[i].window_days);
			json_key_time(jg, "expiresAt", n[i].expires_ms, 0);
			json_str(jg, "sent");
			yajl_gen_bool(jg, sent);
			yajl_gen_map_close(jg);
		}
	}
	yajl_gen_free(g);
	if (jg != NULL) {
		enum admin_exit rc;

		yajl_gen_array_close(jg);
		rc = admin_json_print(jg, out);		/* frees jg */
		return failed > 0 ? ADMIN_FAILED : rc;
	}
	admin_table(out, head, 5, cells, count);
	return failed > 0 ? ADMIN_FAILED : ADMIN_OK;
}

enum admin_exit
admin_run(struct db *db, const struct admin_args *args, const char *actor, FILE *out)
{
	enum admin_exit rc = ADMIN_USAGE;
	struct arena a;
	enum error e;

	if ((e = db_ready(db)) != ERR_OK)
		return admin_failed(e == ERR_NOT_FOUND ? ERR_INTERNAL : e, "database");
	arena_init(&a, 64 * 1024);
	switch (args->command) {
	case ADMIN_LIST:
		rc = admin_list(db, &a, args, out);
		break;
	case ADMIN_REVOKE:
		rc = admin_revoke(db, &a, args, actor, out);
		break;
	case ADMIN_PURGE:
		rc = admin_purge(db, &a, args, actor, out);
		break;
	case ADMIN_AUDIT:
		rc = admin_audit(db, &a, args, out);
		break;
	case ADMIN_NOTIFY:
		rc = admin_notify(db, &a, args, out);
		break;
	default:
		break;
	}
	arena_free(&a);
	if (fflush(out) == EOF && rc == ADMIN_OK)
		rc = ADMIN_FAILED;
	return rc;
}
