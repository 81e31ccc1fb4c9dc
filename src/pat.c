/* pat.c - the Terrakube-compatible PAT API: create, list, get, revoke. */
#include "pat.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "auth.h"
#include "json.h"
#include "log.h"
#include "token.h"
#include "uuid.h"

struct pat_create_body {
	long long	 days;
	const char	*description;
};

/* The body of POST /pat/v1, declared once and checked by json_decode. */
static const struct json_field pat_create_fields[] = {
	{ "days", JSON_INTEGER, 0, CONFIG_DAYS_MAX,
	    offsetof(struct pat_create_body, days) },
	{ "description", JSON_TEXT, 1, 255,
	    offsetof(struct pat_create_body, description) },
};

static enum error
pat_field_error(struct request *req, const char *field, const char *why)
{
	char *msg = arena_alloc(&req->arena, 160);

	if (msg != NULL)
		snprintf(msg, 160, "%s %s", field, why);
	return request_fail(req, ERR_INVALID_FIELD, field, msg);
}

/* What the log line of a created token needs once its row has committed. */
struct pat_note {
	char		 id[37];
	long long	 days;
};

static enum error
pat_created(struct request *req)
{
	const struct pat_note *note = req->pending_arg;
	enum error e;

	if ((e = db_pat_insert_result(req->app->db)) == ERR_OK)
		log_msg(LVL_INFO, "event=pat_created id=%s days=%lld", note->id,
		    note->days);
	else if (e == ERR_LIMIT)
		log_msg(LVL_INFO, "event=pat_refused_at_cap cap=%ld",
		    req->app->cfg.max_tokens_per_user);
	return e;
}

enum error
pat_create(struct request *req)
{
	struct app *app = req->app;
	const struct json_field *bad = NULL;
	struct pat_create_body body;
	struct token_minted m;
	struct pat_note *note;
	const char *why = NULL;
	char created[25], max[128];
	enum error e;

	/* Like nginx's own limit, a declared oversize body is refused first. */
	if ((e = request_body_check(req)) != ERR_OK)
		return e;
	if ((e = auth_caller(req)) != ERR_OK)
		return e;
	if ((e = request_body_read(req)) != ERR_OK)
		return e;
	if (req->media != MEDIA_JSON)
		return ERR_MEDIA_TYPE;
	e = json_decode(req->body, req->body_len, pat_create_fields,
	    sizeof(pat_create_fields) / sizeof(pat_create_fields[0]), &body,
	    &req->arena, &bad, &why);
	if (e == ERR_INVALID_FIELD)
		return pat_field_error(req, bad->name, why);
	if (e != ERR_OK)
		return e;
	if (app->cfg.max_days > 0 && (body.days == 0 || body.days > app->cfg.max_days)) {
		snprintf(max, sizeof(max), "must be from 1 to %ld (max_days)%s",
		    app->cfg.max_days, body.days == 0 ?
		    ": tokens that never expire are not allowed" : "");
		return pat_field_error(req, "days", arena_strndup(&req->arena, max,
		    strlen(max)));
	}

	if ((e = token_mint(req, &req->caller, body.days, body.description, &m)) != ERR_OK)
		return e;
	if ((note = arena_alloc(&req->arena, sizeof(*note))) == NULL)
		return ERR_INTERNAL;
	memcpy(note->id, m.id, sizeof(note->id));
	note->days = body.days;

	req->status = 201;
	yajl_gen_map_open(req->gen);
	json_key_str(req->gen, "token", m.token);
	json_key_str(req->gen, "id", m.id);
	json_key_str(req->gen, "description", body.description);
	json_key_int(req->gen, "days", body.days);
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

/* One token as GET /pat/v1 shows it: Terrakube's fields, then ours. */
static void
pat_item(yajl_gen g, const struct pat_row *r, int64_t now)
{
	yajl_gen_map_open(g);
	json_key_str(g, "id", r->id);
	json_key_int(g, "days", r->days);
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

enum error
pat_list(struct request *req)
{
	struct pat_row *rows;
	size_t n, i;
	int64_t now = token_now_ms();
	enum error e;

	if ((e = auth_caller(req)) != ERR_OK)
		return e;
	/*
	 * Live tokens are capped; expired ones are listed too, so the list is
	 * bounded as well: twice the cap, newest first.
	 */
	if ((e = db_pat_list(req->app->db, &req->arena, req->caller.email,
	    2 * req->app->cfg.max_tokens_per_user, &rows,
	    &n)) != ERR_OK)
		return e;
	req->status = 202;	/* Terrakube's status for the list */
	yajl_gen_array_open(req->gen);
	for (i = 0; i < n; i++)
		pat_item(req->gen, &rows[i], now);
	yajl_gen_array_close(req->gen);
	return ERR_OK;
}

enum error
pat_get(struct request *req)
{
	struct pat_row row;
	enum error e;

	if ((e = auth_caller(req)) != ERR_OK)
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

enum error
pat_revoke(struct request *req)
{
	enum error e;

	if ((e = auth_caller(req)) != ERR_OK)
		return e;
	if (!uuid_valid(req->param))
		return ERR_NOT_FOUND;
	if ((e = db_pat_revoke(req->app->db, req->param, req->caller.email,
	    req->caller.email)) != ERR_OK)
		return e;
	log_msg(LVL_INFO, "event=pat_revoked id=%s", req->param);
	req->status = 202;	/* Terrakube's status, with an empty body */
	return ERR_OK;
}
