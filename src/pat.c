/*
 * pat.c - Terrakube's token APIs: personal access tokens (/pat/v1) and team
 * tokens (/access-token/v1/teams).  Both kinds are one table, one create,
 * one list and one revoke; a kind only says who owns the token.
 */
#include "pat.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "auth.h"
#include "form.h"
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

/* Optional here: the service applies default_days, or says it is required. */
#define FIELD_DAYS { "days", JSON_INTEGER, 0, CONFIG_DAYS_MAX, \
	offsetof(struct pat_create_body, days), 1, NULL }
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

/* The principal of this request: its caller, acting on tokens of kind. */
static struct principal
pat_principal(struct request *req, enum owner_kind kind)
{
	struct principal p = { kind, &req->caller,
	    auth_client_addr(req, req->app->auth.trusted_proxies), req->id };

	return p;
}

/* What the log line of a created token needs once its row has committed. */
struct pat_note {
	char		 id[37];
	enum owner_kind	 kind;
};

static enum error
pat_created(struct request *req)
{
	const struct pat_note *note = req->pending_arg;

	return svc_created(&req->app->svc, note->id, note->kind);
}

/* The 201 of a create or a rotation: the token, this once, and its item's fields. */
static void
pat_minted(struct request *req, const struct token_minted *m)
{
	char created[25];

	req->status = 201;
	yajl_gen_map_open(req->gen);
	json_key_str(req->gen, "token", m->token);
	json_key_str(req->gen, "id", m->id);
	if (m->row.group != NULL)
		json_key_str(req->gen, "group", m->row.group);
	json_key_str(req->gen, "description", m->row.description);
	json_key_int(req->gen, "days", m->row.days);
	json_key_int(req->gen, "hours", m->row.hours);
	json_key_int(req->gen, "minutes", m->row.minutes);
	json_time_format(created, m->row.created_us / 1000);
	json_key_str(req->gen, "createdDate", created);
	json_key_time(req->gen, "expiresAt", m->row.expires_ms, m->row.expires_ms < 0);
	yajl_gen_map_close(req->gen);
}

enum error
pat_create(struct request *req)
{
	enum owner_kind kind = req->owner_kind;

	const struct json_field *fields = kind == OWNER_TEAM ? team_fields : pat_fields;
	size_t nfields = kind == OWNER_TEAM ? sizeof(team_fields) / sizeof(team_fields[0]) :
	    sizeof(pat_fields) / sizeof(pat_fields[0]);
	const struct json_field *bad = NULL;
	struct fault f = { NULL, "" };
	struct pat_create_body body;
	struct principal p;
	struct token_spec spec;
	struct token_minted m;
	struct pat_note *note;
	const char *why = NULL;
	enum error e;

	/* Like nginx's own limit, a declared oversize body is refused first. */
	if ((e = request_body_check(req)) != ERR_OK ||
	    (e = auth_caller(req, &req->app->auth)) != ERR_OK ||
	    (e = request_body_read(req)) != ERR_OK)
		return e;
	if (req->media != MEDIA_JSON)
		return ERR_MEDIA_TYPE;
	memset(&body, 0, sizeof(body));
	body.days = -1;		/* absent */
	e = json_decode(req->body, req->body_len, fields, nfields, &body,
	    &req->arena, &bad, &why);
	if (e == ERR_INVALID_FIELD)
		return pat_field_error(req, bad->name, why);
	if (e != ERR_OK)
		return e;

	spec.group = kind == OWNER_TEAM ? body.group : NULL;
	spec.days = body.days;
	spec.hours = body.hours;
	spec.minutes = body.minutes;
	spec.description = body.description;
	p = pat_principal(req, kind);
	if ((e = svc_create(&req->app->svc, &req->arena, &p, &spec, &m, &f)) != ERR_OK)
		return request_fault(req, e, &f);
	if ((note = arena_alloc(&req->arena, sizeof(*note))) == NULL)
		return ERR_INTERNAL;
	memcpy(note->id, m.id, sizeof(note->id));
	note->kind = kind;

	pat_minted(req, &m);

	/*
	 * The token leaves only once its row has committed: the answer waits
	 * for pat_created, and the worker reads its next request meanwhile.
	 */
	req->pending = pat_created;
	req->pending_arg = note;
	return ERR_OK;
}

/* One token as a list shows it: Terrakube's fields, then ours. */
static void
pat_item(yajl_gen g, const struct pat_row *r, int64_t now, long inactive_days)
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
	json_key_str(g, "status", svc_status(r, now, inactive_days));
	/* Only a rotated token has these, so others keep Terrakube's shape. */
	if (r->rotated) {
		json_key_str(g, "rotatedTo", r->rotated_to);
		json_key_time(g, "graceUntil", r->grace_ms, 0);
		json_key_time(g, "reusedAfterRotationAt", r->reused_ms, !r->has_reused);
	}
	yajl_gen_map_close(g);
}

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
pat_list_caller(struct request *req)
{
	char cred[HEADER_CRED_MAX + 8];
	enum error e;

	if (req->auth.scheme == AUTH_BEARER && !req->auth.malformed) {
		snprintf(cred, sizeof(cred), "cred:%.*s", (int)req->auth.len,
		    req->auth.cred);
		if ((e = pat_list_allowed(req, cred)) != ERR_OK)
			return e;
	}
	if ((e = auth_caller(req, &req->app->auth)) != ERR_OK)
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
	enum owner_kind kind = req->owner_kind;

	struct fault f = { NULL, "" };
	struct principal p;
	struct pat_row *rows;
	size_t n;
	int64_t now = token_now_ms();
	enum error e;

	if ((e = pat_list_caller(req)) != ERR_OK)
		return e;
	p = pat_principal(req, kind);
	if ((e = svc_list(&req->app->svc, &req->arena, &p, &rows, &n, &f)) != ERR_OK)
		return request_fault(req, e, &f);
	req->status = 202;	/* Terrakube's status for a list */
	yajl_gen_array_open(req->gen);
	for (size_t i = 0; i < n; i++)
		pat_item(req->gen, &rows[i], now, req->app->svc.policy.inactive_days);
	yajl_gen_array_close(req->gen);
	return ERR_OK;
}

enum error
team_current(struct request *req)
{
	enum error e;

	if ((e = auth_caller(req, &req->app->auth)) != ERR_OK)
		return e;
	req->status = 202;	/* Terrakube's status */
	yajl_gen_map_open(req->gen);
	json_str(req->gen, "groups");
	yajl_gen_array_open(req->gen);
	for (size_t i = 0; i < req->caller.ngroups; i++)
		json_str(req->gen, req->caller.groups[i]);
	yajl_gen_array_close(req->gen);
	yajl_gen_map_close(req->gen);
	return ERR_OK;
}

enum error
pat_get(struct request *req)
{
	struct fault f = { NULL, "" };
	struct principal p;
	struct pat_row row;
	enum error e;

	if ((e = auth_caller(req, &req->app->auth)) != ERR_OK)
		return e;
	p = pat_principal(req, OWNER_USER);
	if ((e = svc_get(&req->app->svc, &req->arena, &p, req->param, &row, &f)) != ERR_OK)
		return request_fault(req, e, &f);
	req->status = 200;
	pat_item(req->gen, &row, token_now_ms(), req->app->svc.policy.inactive_days);
	return ERR_OK;
}

enum error
pat_revoke(struct request *req)
{
	enum owner_kind kind = req->owner_kind;

	struct fault f = { NULL, "" };
	struct principal p;
	enum error e;

	if ((e = auth_caller(req, &req->app->auth)) != ERR_OK)
		return e;
	p = pat_principal(req, kind);
	if ((e = svc_revoke(&req->app->svc, &req->arena, &p, req->param, &f)) != ERR_OK)
		return request_fault(req, e, &f);
	req->status = 202;	/* Terrakube's status, with an empty body */
	return ERR_OK;
}

#define PAT_AUDIT_DEFAULT	50
#define PAT_AUDIT_MAX		500

/* A query parameter as a whole number from 1 to max; dflt when absent. */
static enum error
pat_query_number(struct request *req, const char *name, long long max,
    long long dflt, long long *out)
{
	const char *q = req->p.query != NULL ? req->p.query : "", *v;
	char *end;
	size_t len;
	int n, ok = 0;

	*out = dflt;
	if ((n = form_get(&req->arena, q, strlen(q), name, &v, &len)) == 0)
		return ERR_OK;
	/* 19 digits may still be past int64: strtoll says so in errno. */
	if (n == 1 && len > 0 && len <= 19 && strspn(v, "0123456789") == len) {
		errno = 0;
		*out = strtoll(v, &end, 10);
		ok = errno == 0 && *end == '\0' && *out >= 1 && *out <= max;
	}
	if (!ok) {
		char *msg = arena_alloc(&req->arena, 96);

		if (msg != NULL)
			snprintf(msg, 96, "%s must be a whole number from 1 to %lld, "
			    "given once", name, max);
		return request_fail(req, ERR_INVALID_FIELD, name, msg);
	}
	return ERR_OK;
}

enum error
pat_audit(struct request *req)
{
	struct principal p;
	struct audit_row *rows;
	long long limit, before;
	size_t n;
	enum error e;

	if ((e = auth_caller(req, &req->app->auth)) != ERR_OK ||
	    (e = pat_query_number(req, "limit", PAT_AUDIT_MAX, PAT_AUDIT_DEFAULT,
	    &limit)) != ERR_OK ||
	    (e = pat_query_number(req, "before", INT64_MAX, 0, &before)) != ERR_OK)
		return e;
	p = pat_principal(req, OWNER_USER);
	if ((e = svc_audit(&req->app->svc, &req->arena, &p, before, (long)limit,
	    &rows, &n)) != ERR_OK)
		return e;
	req->status = 200;
	yajl_gen_array_open(req->gen);
	for (size_t i = 0; i < n; i++) {
		yajl_gen_map_open(req->gen);
		json_key_int(req->gen, "id", rows[i].id);
		json_key_time(req->gen, "at", rows[i].at_ms, 0);
		json_key_str(req->gen, "event", rows[i].event);
		json_key_str(req->gen, "tokenId", rows[i].token_id);
		json_key_str(req->gen, "ownerKind", rows[i].owner_kind);
		json_key_str(req->gen, "owner", rows[i].owner);
		json_key_str(req->gen, "actor", rows[i].actor);
		json_key_str(req->gen, "actorVia", rows[i].via);
		json_key_str(req->gen, "address", rows[i].addr);
		json_key_str(req->gen, "requestId", rows[i].request_id);
		yajl_gen_map_close(req->gen);
	}
	yajl_gen_array_close(req->gen);
	return ERR_OK;
}

/* ------------------------------------------------------------------ lifecycle */

struct pat_rotate_body {
	long long	 grace;
};

static const struct json_field rotate_fields[] = {
	{ "graceSeconds", JSON_INTEGER, 0, 31 * 86400,
	    offsetof(struct pat_rotate_body, grace), 1, NULL },
};

enum error
pat_rotate(struct request *req)
{
	enum owner_kind kind = req->owner_kind;

	const struct json_field *bad = NULL;
	struct fault f = { NULL, "" };
	struct pat_rotate_body body = { 0 };
	struct principal p;
	struct token_minted m;
	const char *why = NULL;
	enum error e;

	if ((e = request_body_check(req)) != ERR_OK ||
	    (e = auth_caller(req, &req->app->auth)) != ERR_OK ||
	    (e = request_body_read(req)) != ERR_OK)
		return e;
	/* The body is optional; one that is sent is a JSON object. */
	if (req->body_len > 0) {
		if (req->media != MEDIA_JSON)
			return ERR_MEDIA_TYPE;
		e = json_decode(req->body, req->body_len, rotate_fields, 1, &body,
		    &req->arena, &bad, &why);
		if (e == ERR_INVALID_FIELD)
			return pat_field_error(req, bad->name, why);
		if (e != ERR_OK)
			return e;
	}
	p = pat_principal(req, kind);
	if ((e = svc_rotate(&req->app->svc, &req->arena, &p, req->param,
	    (long)body.grace, &m, &f)) != ERR_OK)
		return request_fault(req, e, &f);
	pat_minted(req, &m);
	return ERR_OK;
}

enum error
pat_self_get(struct request *req)
{
	struct fault f = { NULL, "" };
	struct principal p;
	struct pat_row row;
	enum error e;

	if ((e = auth_caller(req, &req->app->auth)) != ERR_OK)
		return e;
	p = pat_principal(req, req->caller.via == CALLER_TEAM ? OWNER_TEAM : OWNER_USER);
	if ((e = svc_self(&req->app->svc, &req->arena, &p, &row, &f)) != ERR_OK)
		return request_fault(req, e, &f);
	req->status = 200;
	pat_item(req->gen, &row, token_now_ms(), req->app->svc.policy.inactive_days);
	return ERR_OK;
}

enum error
pat_self_revoke(struct request *req)
{
	struct fault f = { NULL, "" };
	struct principal p;
	enum error e;

	if ((e = auth_caller(req, &req->app->auth)) != ERR_OK)
		return e;
	p = pat_principal(req, req->caller.via == CALLER_TEAM ? OWNER_TEAM : OWNER_USER);
	if ((e = svc_revoke_self(&req->app->svc, &req->arena, &p, &f)) != ERR_OK)
		return request_fault(req, e, &f);
	req->status = 202;
	return ERR_OK;
}

#define PAT_REPORT_MAX	100

struct pat_report_body {
	struct json_strings	 tokens;
};

static const struct json_field report_fields[] = {
	{ "tokens", JSON_STRINGS, 1, PAT_REPORT_MAX,
	    offsetof(struct pat_report_body, tokens), 0, NULL },
};

/*
 * POST /pat/v1/revoke: whoever holds a leaked token may report it, so no
 * caller is needed, and the answer is 202 whatever the tokens were: it
 * reveals nothing.  Reports are rate-limited by address.
 */
enum error
pat_report(struct request *req)
{
	const struct json_field *bad = NULL;
	struct pat_report_body body;
	const char *why = NULL, *addr;
	char key[80];
	long revoked;
	enum error e;

	addr = auth_client_addr(req, req->app->auth.trusted_proxies);
	snprintf(key, sizeof(key), "report:%s", addr != NULL ? addr : "-");
	if (!ratelimit_take(&req->app->reports, key))
		return request_fail(req, ERR_RATE, NULL, "too many reports from this "
		    "address; retry in a second");
	if ((e = request_body_check(req)) != ERR_OK ||
	    (e = request_body_read(req)) != ERR_OK)
		return e;
	if (req->media != MEDIA_JSON)
		return ERR_MEDIA_TYPE;
	memset(&body, 0, sizeof(body));
	e = json_decode(req->body, req->body_len, report_fields, 1, &body, &req->arena,
	    &bad, &why);
	if (e == ERR_INVALID_FIELD)
		return pat_field_error(req, bad->name, why);
	if (e != ERR_OK)
		return e;
	if ((e = svc_report(&req->app->svc, &req->arena, body.tokens.items,
	    body.tokens.n, addr, &revoked)) != ERR_OK)
		return e;
	req->status = 202;
	return ERR_OK;
}
