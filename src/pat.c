/*
 * pat.c - Terrakube's token APIs: personal access tokens (/pat/v1) and team
 * tokens (/access-token/v1/teams).  Both kinds are one table, one create,
 * one list and one revoke; a kind only says who owns the token.
 */
#include "pat.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "auth.h"
#include "identity.h"
#include "json.h"
#include "log.h"
#include "token.h"
#include "uuid.h"

#define PAT_HOURS_MAX	(CONFIG_DAYS_MAX * 24LL)
#define PAT_MINUTES_MAX	(CONFIG_DAYS_MAX * 1440LL)

struct pat_create_body {
	const char	*group;
	long long	 days, hours, minutes;
	const char	*description;
};

#define FIELD_DAYS { "days", JSON_INTEGER, 0, CONFIG_DAYS_MAX, \
	offsetof(struct pat_create_body, days), 0, NULL }
#define FIELD_HOURS { "hours", JSON_INTEGER, 0, PAT_HOURS_MAX, \
	offsetof(struct pat_create_body, hours), 1, NULL }
#define FIELD_MINUTES { "minutes", JSON_INTEGER, 0, PAT_MINUTES_MAX, \
	offsetof(struct pat_create_body, minutes), 1, NULL }
#define FIELD_DESCRIPTION { "description", JSON_TEXT, 1, 255, \
	offsetof(struct pat_create_body, description), 0, NULL }

/* The bodies of the two creates, declared once and checked by json_decode in this order. */
static const struct json_field pat_fields[] = {
	FIELD_DAYS, FIELD_HOURS, FIELD_MINUTES, FIELD_DESCRIPTION
};
static const struct json_field team_fields[] = {
	{ "group", JSON_TEXT, 1, IDENTITY_TEXT_MAX,
	    offsetof(struct pat_create_body, group), 0, identity_group },
	FIELD_DAYS, FIELD_HOURS, FIELD_MINUTES, FIELD_DESCRIPTION
};

static enum error
pat_field_error(struct request *req, const char *field, const char *why)
{
	char *msg = arena_alloc(&req->arena, 200);

	if (msg != NULL)
		snprintf(msg, 200, "%s %s", field, why);
	return request_fail(req, ERR_INVALID_FIELD, field, msg);
}

/* The groups the caller acts for: a team token only for its own. */
static void
pat_caller_groups(const struct caller *c, const char *const **groups, size_t *n)
{
	*groups = c->groups;
	*n = c->ngroups;
}

static int
pat_caller_in(const struct caller *c, const char *group)
{
	for (size_t i = 0; i < c->ngroups; i++)
		if (strcmp(c->groups[i], group) == 0)
			return 1;
	return 0;
}

/* A team token manages its group's team tokens and nothing else (CONTRACT 4). */
static enum error
pat_user_caller(struct request *req)
{
	enum error e;

	if ((e = auth_caller(req)) != ERR_OK)
		return e;
	if (req->caller.via == CALLER_TEAM)
		return request_fail(req, ERR_FORBIDDEN, NULL, "a team token may "
		    "manage only its own group's team tokens");
	return ERR_OK;
}

/* What the log line of a created token needs once its row has committed. */
struct pat_note {
	char		 id[37];
	int		 team;
};

static enum error
pat_created(struct request *req)
{
	const struct pat_note *note = req->pending_arg;
	enum error e;

	if ((e = db_pat_insert_result(req->app->db)) == ERR_OK)
		log_msg(LVL_INFO, "event=%s id=%s", note->team ? "team_token_created" :
		    "pat_created", note->id);
	else if (e == ERR_LIMIT)
		log_msg(LVL_INFO, "event=refused_at_cap kind=%s cap=%ld",
		    note->team ? "team" : "user", req->app->cfg.max_tokens_per_user);
	return e;
}

/* days, hours and minutes together: within max_days (or 36500 days), and not 0 under max_days. */
static enum error
pat_lifetime_check(struct request *req, const struct pat_create_body *b)
{
	long limit = req->app->cfg.max_days > 0 ? req->app->cfg.max_days : CONFIG_DAYS_MAX;
	long long total = b->days * 86400 + b->hours * 3600 + b->minutes * 60;
	char *msg;

	if (total > limit * 86400LL) {
		if ((msg = arena_alloc(&req->arena, 160)) != NULL)
			snprintf(msg, 160, "days, hours and minutes together must be at "
			    "most %ld days%s", limit, req->app->cfg.max_days > 0 ?
			    " (max_days)" : "");
		return request_fail(req, ERR_INVALID_FIELD, "days", msg);
	}
	if (total == 0 && req->app->cfg.max_days > 0)
		return pat_field_error(req, "days", "must give a lifetime: tokens "
		    "that never expire are not allowed (max_days)");
	return ERR_OK;
}

static enum error
pat_create_kind(struct request *req, int team)
{
	struct app *app = req->app;
	const struct json_field *fields = team ? team_fields : pat_fields, *bad = NULL;
	size_t nfields = team ? sizeof(team_fields) / sizeof(team_fields[0]) :
	    sizeof(pat_fields) / sizeof(pat_fields[0]);
	struct pat_create_body body;
	struct token_spec spec;
	struct token_minted m;
	struct pat_note *note;
	const char *why = NULL;
	char created[25];
	enum error e;

	/* Like nginx's own limit, a declared oversize body is refused first. */
	if ((e = request_body_check(req)) != ERR_OK)
		return e;
	if ((e = team ? auth_caller(req) : pat_user_caller(req)) != ERR_OK)
		return e;
	if ((e = request_body_read(req)) != ERR_OK)
		return e;
	if (req->media != MEDIA_JSON)
		return ERR_MEDIA_TYPE;
	memset(&body, 0, sizeof(body));
	e = json_decode(req->body, req->body_len, fields, nfields, &body,
	    &req->arena, &bad, &why);
	if (e == ERR_INVALID_FIELD)
		return pat_field_error(req, bad->name, why);
	if (e != ERR_OK)
		return e;
	if ((e = pat_lifetime_check(req, &body)) != ERR_OK)
		return e;
	/* Input first, then whether this caller may (CONTRACT 5). */
	if (team && !pat_caller_in(&req->caller, body.group))
		return request_fail(req, ERR_FORBIDDEN, "group", "group: the caller "
		    "is not in this group");

	spec.group = team ? body.group : NULL;
	spec.days = body.days;
	spec.hours = body.hours;
	spec.minutes = body.minutes;
	spec.description = body.description;
	if ((e = token_mint(req, &req->caller, &spec, &m)) != ERR_OK)
		return e;
	if ((note = arena_alloc(&req->arena, sizeof(*note))) == NULL)
		return ERR_INTERNAL;
	memcpy(note->id, m.id, sizeof(note->id));
	note->team = team;

	req->status = 201;
	yajl_gen_map_open(req->gen);
	json_key_str(req->gen, "token", m.token);
	json_key_str(req->gen, "id", m.id);
	if (team)
		json_key_str(req->gen, "group", body.group);
	json_key_str(req->gen, "description", body.description);
	json_key_int(req->gen, "days", body.days);
	json_key_int(req->gen, "hours", body.hours);
	json_key_int(req->gen, "minutes", body.minutes);
	json_time_format(created, m.row.created_us / 1000);
	json_key_str(req->gen, "createdDate", created);
	json_key_time(req->gen, "expiresAt", m.row.expires_ms, m.row.expires_ms < 0);
	yajl_gen_map_close(req->gen);

	/*
	 * The token leaves only once its row has committed: the answer waits
	 * for pat_created, and the worker reads its next request meanwhile.
	 */
	if ((e = db_pat_insert_send(app->db, &req->arena, &m.row)) != ERR_OK)
		return e;
	req->pending = pat_created;
	req->pending_arg = note;
	return ERR_OK;
}

enum error
pat_create(struct request *req)
{
	return pat_create_kind(req, 0);
}

enum error
team_create(struct request *req)
{
	return pat_create_kind(req, 1);
}

/* One token as a list shows it: Terrakube's fields, then ours. */
static void
pat_item(yajl_gen g, const struct pat_row *r, int64_t now)
{
	yajl_gen_map_open(g);
	json_key_str(g, "id", r->id);
	if (r->group != NULL)
		json_key_str(g, "group", r->group);
	json_key_int(g, "days", r->days);
	json_key_int(g, "hours", r->hours);
	json_key_int(g, "minutes", r->minutes);
	json_str(g, "deleted");
	yajl_gen_bool(g, 0);
	json_key_str(g, "description", r->description);
	json_key_time(g, "createdDate", r->created_ms, 0);
	json_key_str(g, "createdBy", r->email);
	json_key_time(g, "updatedDate", r->updated_ms, 0);
	json_key_str(g, "updatedBy", r->updated_by);
	json_key_time(g, "expiresAt", r->expires_ms, !r->has_expires);
	json_key_time(g, "lastUsedAt", r->last_used_ms, !r->has_last_used);
	json_key_str(g, "status", r->has_expires && r->expires_ms <= now ?
	    "expired" : "active");
	yajl_gen_map_close(g);
}

static enum error
pat_list_rows(struct request *req, const struct pat_row *rows, size_t n)
{
	int64_t now = token_now_ms();

	req->status = 202;	/* Terrakube's status for a list */
	yajl_gen_array_open(req->gen);
	for (size_t i = 0; i < n; i++)
		pat_item(req->gen, &rows[i], now);
	yajl_gen_array_close(req->gen);
	return ERR_OK;
}

/*
 * Live tokens are capped; expired ones are listed too, so a list is
 * bounded as well: twice the cap, newest first.
 */
#define PAT_LIST_LIMIT(req)	(2 * (req)->app->cfg.max_tokens_per_user)

/*
 * One owner looping on lists must not crowd out everyone's checks.  The
 * credential is counted before it is checked, so that a loop on one token
 * is refused without a database round trip; the owner is counted after,
 * so that many tokens of one owner do not multiply the rate.
 */
static enum error
pat_list_allowed(struct request *req, const char *key)
{
	char tag[48];

	if (ratelimit_take(&req->app->lists, key))
		return ERR_OK;
	snprintf(tag, sizeof(tag), "list_rate:%.32s", key);
	if (log_limit(tag, 60) >= 0)
		log_msg(LVL_INFO, "event=list_rate_limited rate=%d", APP_LIST_RATE);
	return ERR_RATE;
}

/* The caller of a list, counted by credential and then by owner. */
static enum error
pat_list_caller(struct request *req, int team)
{
	char cred[HEADER_CRED_MAX + 8];
	enum error e;

	if (req->auth.scheme == AUTH_BEARER && !req->auth.malformed) {
		snprintf(cred, sizeof(cred), "cred:%.*s", (int)req->auth.len,
		    req->auth.cred);
		if ((e = pat_list_allowed(req, cred)) != ERR_OK)
			return e;
	}
	if ((e = team ? auth_caller(req) : pat_user_caller(req)) != ERR_OK)
		return e;
	/* An identity token is counted once already: its owner is the same. */
	if (req->caller.via == CALLER_PAT || req->caller.via == CALLER_TEAM ||
	    req->caller.via == CALLER_REMOTE_USER)
		return pat_list_allowed(req, req->caller.via == CALLER_TEAM ?
		    req->caller.group : req->caller.email);
	return ERR_OK;
}

enum error
pat_list(struct request *req)
{
	struct pat_row *rows;
	size_t n;
	enum error e;

	if ((e = pat_list_caller(req, 0)) != ERR_OK ||
	    (e = db_pat_list(req->app->db, &req->arena, req->caller.email,
	    PAT_LIST_LIMIT(req), &rows, &n)) != ERR_OK)
		return e;
	return pat_list_rows(req, rows, n);
}

enum error
team_list(struct request *req)
{
	const char *const *groups;
	struct pat_row *rows;
	size_t n, ngroups;
	enum error e;

	if ((e = pat_list_caller(req, 1)) != ERR_OK)
		return e;
	pat_caller_groups(&req->caller, &groups, &ngroups);
	if ((e = db_team_list(req->app->db, &req->arena, groups, ngroups,
	    PAT_LIST_LIMIT(req), &rows, &n)) != ERR_OK)
		return e;
	return pat_list_rows(req, rows, n);
}

enum error
team_current(struct request *req)
{
	const char *const *groups;
	size_t n;
	enum error e;

	if ((e = auth_caller(req)) != ERR_OK)
		return e;
	pat_caller_groups(&req->caller, &groups, &n);
	req->status = 202;	/* Terrakube's status */
	yajl_gen_map_open(req->gen);
	json_str(req->gen, "groups");
	yajl_gen_array_open(req->gen);
	for (size_t i = 0; i < n; i++)
		json_str(req->gen, groups[i]);
	yajl_gen_array_close(req->gen);
	yajl_gen_map_close(req->gen);
	return ERR_OK;
}

enum error
pat_get(struct request *req)
{
	struct pat_row row;
	enum error e;

	if ((e = pat_user_caller(req)) != ERR_OK)
		return e;
	if (!uuid_valid(req->param))
		return ERR_NOT_FOUND;
	if ((e = db_pat_get(req->app->db, &req->arena, req->param,
	    req->caller.email, &row)) != ERR_OK)
		return e;
	req->status = 200;
	pat_item(req->gen, &row, token_now_ms());
	return ERR_OK;
}

static enum error
pat_revoke_kind(struct request *req, int team)
{
	const char *const *groups;
	size_t n;
	enum error e;

	if ((e = team ? auth_caller(req) : pat_user_caller(req)) != ERR_OK)
		return e;
	if (!uuid_valid(req->param))
		return ERR_NOT_FOUND;
	pat_caller_groups(&req->caller, &groups, &n);
	e = team ? db_team_revoke(req->app->db, req->param, groups, n,
	    req->caller.email) : db_pat_revoke(req->app->db, req->param,
	    req->caller.email, req->caller.email);
	if (e != ERR_OK)
		return e;
	log_msg(LVL_INFO, "event=%s id=%s", team ? "team_token_revoked" :
	    "pat_revoked", req->param);
	req->status = 202;	/* Terrakube's status, with an empty body */
	return ERR_OK;
}

enum error
pat_revoke(struct request *req)
{
	return pat_revoke_kind(req, 0);
}

enum error
team_revoke(struct request *req)
{
	return pat_revoke_kind(req, 1);
}
