/* token.c - patgate's PATs: Terrakube's HS256 JWT, minted and checked. */
#include "token.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "app.h"
#include "jose.h"
#include "json.h"
#include "log.h"
#include "identity.h"
#include "uuid.h"

int64_t
token_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
token_now_ms(void)
{
	return token_now_us() / 1000;
}

int
token_is_pat(const char *token, size_t len)
{
	size_t hl = sizeof(TOKEN_HEADER_B64) - 1;

	return len > hl && memcmp(token, TOKEN_HEADER_B64, hl) == 0 && token[hl] == '.';
}

/* The owner's name as stored: one " (Token)" suffix is the token's, not the owner's. */
static const char *
token_owner_name(struct request *req, const char *name)
{
	size_t n = strlen(name), sl = sizeof(TOKEN_NAME_SUFFIX) - 1;

	if (n > sl && strcmp(name + n - sl, TOKEN_NAME_SUFFIX) == 0)
		return arena_strndup(&req->arena, name, n - sl);
	return name;
}

/* "<text><suffix>" in the arena. */
static const char *
token_suffixed(struct request *req, const char *text, const char *suffix)
{
	size_t n = strlen(text) + strlen(suffix) + 1;
	char *s;

	if ((s = arena_alloc(&req->arena, n)) == NULL)
		return NULL;
	strcpy(stpcpy(s, text), suffix);
	return s;
}

enum error
token_mint(struct request *req, const struct caller *creator,
    const struct token_spec *spec, struct token_minted *m)
{
	struct app *app = req->app;
	yajl_gen g = app->claims_gen;
	const unsigned char *claims;
	const char *name, *sub, *display;
	size_t claims_len, i, cap;
	int64_t now_us = token_now_us(), iat = now_us / 1000000;
	int64_t lifetime = spec->days * 86400 + spec->hours * 3600 + spec->minutes * 60;

	memset(m, 0, sizeof(*m));
	if (uuid_v4(m->id) == -1)
		return ERR_INTERNAL;
	/* A PAT is its owner's; a team token is its group's (CONTRACT 4). */
	if (spec->group == NULL) {
		if ((name = token_owner_name(req, creator->name)) == NULL ||
		    (sub = display = token_suffixed(req, name, TOKEN_NAME_SUFFIX)) == NULL)
			return ERR_INTERNAL;
	} else {
		name = spec->group;
		if ((sub = token_suffixed(req, name, TOKEN_TEAM_SUFFIX)) == NULL ||
		    (display = token_suffixed(req, name, TOKEN_NAME_SUFFIX)) == NULL)
			return ERR_INTERNAL;
	}

	/* A token made by a token cannot outlive it (CONTRACT 4). */
	if ((creator->via == CALLER_PAT || creator->via == CALLER_TEAM) &&
	    creator->has_expires &&
	    (lifetime == 0 || iat + lifetime > creator->expires_ms / 1000))
		return request_fail(req, ERR_INVALID_FIELD, "days", "days, hours and "
		    "minutes must not make a token that outlives the token that "
		    "makes it");

	/* Terrakube's claims, in Terrakube's order. */
	yajl_gen_reset(g, NULL);
	yajl_gen_clear(g);
	yajl_gen_map_open(g);
	json_key_str(g, "iss", app->cfg.issuer);
	json_key_str(g, "sub", sub);
	json_str(g, "aud");
	yajl_gen_array_open(g);
	json_str(g, app->cfg.audience);
	yajl_gen_array_close(g);
	json_key_str(g, "jti", m->id);
	json_key_str(g, "email", creator->email);
	if (spec->group != NULL)
		json_key_str(g, "description", spec->description);
	json_str(g, "email_verified");
	yajl_gen_bool(g, 1);
	json_key_str(g, "name", display);
	json_str(g, "groups");
	yajl_gen_array_open(g);
	if (spec->group != NULL)
		json_str(g, spec->group);
	else
		for (i = 0; i < creator->ngroups; i++)
			json_str(g, creator->groups[i]);
	yajl_gen_array_close(g);
	json_key_int(g, "iat", iat);
	if (lifetime > 0)
		json_key_int(g, "exp", iat + lifetime);
	yajl_gen_map_close(g);
	if (yajl_gen_get_buf(g, &claims, &claims_len) != yajl_gen_status_ok)
		return ERR_INTERNAL;

	/*
	 * A token longer than a check accepts could never be used: refuse to
	 * issue it.  Only a very large identity (many long groups) gets here.
	 */
	cap = sizeof(TOKEN_HEADER_B64) + B64URL_LEN(claims_len) + B64URL_LEN(32) + 3;
	if (cap > TOKEN_MAX)
		return request_fail(req, ERR_FORBIDDEN, NULL, "the caller's "
		    "identity is too large to carry in a token: its groups, name "
		    "and email together must be smaller");
	if ((m->token = arena_alloc(&req->arena, cap)) == NULL ||
	    jose_hs256_sign(app->secret, m->token, cap, TOKEN_HEADER_B64,
	    (const char *)claims, claims_len) == 0 ||
	    jose_hmac(app->pepper, m->token, strlen(m->token), m->row.hmac) == -1)
		return ERR_INTERNAL;

	m->row.id = m->id;
	m->row.email = creator->email;
	m->row.name = name;
	if (spec->group != NULL) {
		m->group_list[0] = spec->group;
		m->row.groups = m->group_list;
		m->row.ngroups = 1;
	} else {
		m->row.groups = creator->groups;
		m->row.ngroups = creator->ngroups;
	}
	m->row.group = spec->group;
	m->row.description = spec->description;
	m->row.days = spec->days;
	m->row.hours = spec->hours;
	m->row.minutes = spec->minutes;
	m->row.created_us = now_us;
	m->row.expires_ms = lifetime > 0 ? (iat + lifetime) * 1000 : -1;
	m->row.cap = app->cfg.max_tokens_per_user;
	return ERR_OK;
}

/*
 * One line per refused token a minute, however often it is presented: a
 * revoked token in a client's retry loop must not fill the disk.
 */
static void
token_refused(const char *id, const char *reason)
{
	long held = log_limit(id, 60);

	if (held >= 0)
		log_msg(LVL_INFO, "event=token_refused id=%s reason=%s held_back=%ld",
		    id, reason, held);
}

enum error
token_check(struct request *req, const char *token, size_t len,
    const char *addr, struct pat_row *row)
{
	struct app *app = req->app;
	unsigned char sig[32], hmac[32];
	struct jose_parts parts;
	struct jose_claims claims;
	const char *why, *claim;
	char *payload, *msg;
	ssize_t n;
	int64_t now = token_now_ms();
	enum error e;

	/* Shape and signature first: garbage never reaches the database. */
	if (!token_is_pat(token, len) || jose_split(token, len, &parts) == -1 ||
	    b64url_decode(sig, sizeof(sig), parts.seg[2], parts.len[2]) != 32 ||
	    jose_hs256_verify(app->secret, &parts, sig, sizeof(sig)) == -1)
		return ERR_INVALID_TOKEN;
	if ((payload = arena_alloc(&req->arena, parts.len[1])) == NULL)
		return ERR_INTERNAL;
	if ((n = b64url_decode((unsigned char *)payload, parts.len[1], parts.seg[1],
	    parts.len[1])) < 0 ||
	    jose_claims_parse(&claims, payload, (size_t)n, &req->arena) == -1 ||
	    claims.iss == NULL || strcmp(claims.iss, app->cfg.issuer) != 0 ||
	    !jose_claims_has_aud(&claims, app->cfg.audience) || claims.jti == NULL ||
	    (claims.has_exp && claims.exp * 1000 <= now))
		return ERR_INVALID_TOKEN;

	if (jose_hmac(app->pepper, token, len, hmac) == -1)
		return ERR_INTERNAL;
	e = db_pat_use(app->db, &req->arena, hmac, addr, row);
	OPENSSL_cleanse(hmac, sizeof(hmac));
	if (e == ERR_NOT_FOUND)
		return ERR_INVALID_TOKEN;
	if (e != ERR_OK)
		return e;
	if (row->revoked || (row->has_expires && row->expires_ms <= now) ||
	    strcmp(row->id, claims.jti) != 0) {
		token_refused(row->id, row->revoked ? "revoked" : row->has_expires &&
		    row->expires_ms <= now ? "expired" : "jti_mismatch");
		return ERR_INVALID_TOKEN;
	}
	/* Rows written before the identity rules may hold what they now refuse. */
	if ((why = identity_check(row->email, row->name, row->groups, row->ngroups,
	    !strchr(row->email, '@'), &claim)) != NULL) {
		token_refused(row->id, "identity");
		if ((msg = arena_alloc(&req->arena, 160)) != NULL)
			snprintf(msg, 160, "the token's owner %s %s", claim, why);
		return request_fail(req, ERR_INVALID_TOKEN, NULL, msg);
	}
	return ERR_OK;
}
