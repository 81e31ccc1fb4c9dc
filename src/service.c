/*
 * service.c - the token service: create, check, list, get, revoke and the
 * audit trail, for any front end.  It knows nothing of HTTP: keys and
 * policy come in as values, and every call says who acts (a principal).
 * Every change is one statement of sql/, which records its event.
 */
#include "service.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "config.h"
#include "identity.h"
#include "log.h"
#include "uuid.h"

static const char *const principal_vias[] = {
	[CALLER_NONE] = "none", [CALLER_PAT] = "pat", [CALLER_TEAM] = "team",
	[CALLER_OIDC] = "oidc", [CALLER_REMOTE_USER] = "remote_user",
	[CALLER_ADMIN] = "admin",
};

const char *
principal_via(enum caller_via via)
{
	return (unsigned)via < sizeof(principal_vias) / sizeof(principal_vias[0]) ?
	    principal_vias[via] : "none";
}

static enum error fault_set(struct fault *, enum error, const char *,
    const char *, ...) __attribute__((format(printf, 4, 5)));

static enum error
fault_set(struct fault *f, enum error e, const char *field, const char *fmt, ...)
{
	va_list ap;

	f->field = field;
	va_start(ap, fmt);
	vsnprintf(f->message, sizeof(f->message), fmt, ap);
	va_end(ap);
	return e;
}

int
svc_init(struct svc *svc, struct db *db, const struct token_keys *keys,
    const struct svc_policy *policy)
{
	memset(svc, 0, sizeof(*svc));
	svc->db = db;
	svc->keys = *keys;
	svc->policy = *policy;
	return (svc->claims = yajl_gen_alloc(NULL)) != NULL ? 0 : -1;
}

void
svc_free(struct svc *svc)
{
	if (svc->claims != NULL)
		yajl_gen_free(svc->claims);
	memset(svc, 0, sizeof(*svc));
}

long
svc_list_limit(const struct svc *svc)
{
	return 2 * svc->policy.max_tokens;
}

static struct db_actor
svc_actor(const struct principal *p)
{
	const struct caller *c = p->actor;
	struct db_actor who = { c->via == CALLER_TEAM ? c->group : c->email,
	    principal_via(c->via), p->addr, p->request_id };

	return who;
}

/* A team token manages its group's team tokens and nothing else (CONTRACT 4). */
static enum error
svc_may(const struct principal *p, struct fault *f)
{
	if (p->kind == OWNER_USER && p->actor->via == CALLER_TEAM)
		return fault_set(f, ERR_FORBIDDEN, NULL, "a team token may manage "
		    "only its own group's team tokens");
	return ERR_OK;
}

static int
svc_member(const struct caller *c, const char *group)
{
	for (size_t i = 0; i < c->ngroups; i++)
		if (strcmp(c->groups[i], group) == 0)
			return 1;
	return 0;
}

enum error
svc_create(struct svc *svc, struct arena *a, const struct principal *p,
    const struct token_spec *spec, struct token_minted *m, struct fault *f)
{
	const struct caller *c = p->actor;
	long limit = svc->policy.max_days > 0 ? svc->policy.max_days : CONFIG_DAYS_MAX;
	int64_t now_us = token_now_us(), lifetime = token_lifetime(spec);
	struct db_actor who = svc_actor(p);
	enum error e;

	/* days, hours and minutes together: within max_days (or 36500 days). */
	if (lifetime > limit * 86400LL)
		return fault_set(f, ERR_INVALID_FIELD, "days", "days, hours and minutes "
		    "together must be at most %ld days%s", limit,
		    svc->policy.max_days > 0 ? " (max_days)" : "");
	if (lifetime == 0 && svc->policy.max_days > 0)
		return fault_set(f, ERR_INVALID_FIELD, "days", "days must give a "
		    "lifetime: tokens that never expire are not allowed (max_days)");
	/* A token made by a token cannot outlive it (CONTRACT 4). */
	if ((c->via == CALLER_PAT || c->via == CALLER_TEAM) && c->has_expires &&
	    (lifetime == 0 || now_us / 1000000 + lifetime > c->expires_ms / 1000))
		return fault_set(f, ERR_INVALID_FIELD, "days", "days, hours and "
		    "minutes must not make a token that outlives the token that "
		    "makes it");
	/* Input first, then whether this actor may (CONTRACT 5). */
	if ((e = svc_may(p, f)) != ERR_OK)
		return e;
	if (spec->group != NULL && !svc_member(c, spec->group))
		return fault_set(f, ERR_FORBIDDEN, "group", "group: the caller is not "
		    "in this group");

	if ((e = token_sign(&svc->keys, svc->claims, a, c, spec, now_us, m)) != ERR_OK)
		return e != ERR_FORBIDDEN ? e : fault_set(f, e, NULL, "the caller's "
		    "identity is too large to carry in a token: its groups, name and "
		    "email together must be smaller");
	m->row.cap = svc->policy.max_tokens;
	return db_pat_insert_send(svc->db, a, &m->row, &who);
}

enum error
svc_created(struct svc *svc, const char *id, enum owner_kind kind)
{
	enum error e = db_result(svc->db);

	if (e == ERR_OK)
		log_msg(LVL_INFO, "event=created id=%s kind=%s", id,
		    kind == OWNER_TEAM ? "team" : "user");
	else if (e == ERR_LIMIT)
		log_msg(LVL_INFO, "event=refused_at_cap kind=%s cap=%ld",
		    kind == OWNER_TEAM ? "team" : "user", svc->policy.max_tokens);
	return e;
}

/*
 * One line per refused token a minute, however often it is presented: a
 * revoked token in a client's retry loop must not fill the disk.
 */
static void
svc_refused(const char *id, const char *reason)
{
	long held = log_limit(id, 60);

	if (held >= 0)
		log_msg(LVL_INFO, "event=token_refused id=%s reason=%s held_back=%ld",
		    id, reason, held);
}

enum error
svc_check(struct svc *svc, struct arena *a, const char *token, size_t len,
    const char *addr, struct pat_row *row, struct fault *f)
{
	unsigned char hmac[32];
	const char *jti, *why, *claim;
	int64_t now = token_now_ms();
	enum error e;

	if ((e = token_verify(&svc->keys, a, token, len, now, &jti)) != ERR_OK)
		return e;
	if (token_hmac(&svc->keys, token, len, hmac) == -1)
		return ERR_INTERNAL;
	e = db_pat_use(svc->db, a, hmac, addr, row);
	OPENSSL_cleanse(hmac, sizeof(hmac));
	if (e == ERR_NOT_FOUND)
		return ERR_INVALID_TOKEN;
	if (e != ERR_OK)
		return e;
	if (row->revoked || (row->has_expires && row->expires_ms <= now) ||
	    strcmp(row->id, jti) != 0) {
		svc_refused(row->id, row->revoked ? "revoked" : row->has_expires &&
		    row->expires_ms <= now ? "expired" : "jti_mismatch");
		return ERR_INVALID_TOKEN;
	}
	/* Rows written before the identity rules may hold what they now refuse. */
	if ((why = identity_check(row->email, row->name, row->groups, row->ngroups,
	    !strchr(row->email, '@'), &claim)) != NULL) {
		svc_refused(row->id, "identity");
		return fault_set(f, ERR_INVALID_TOKEN, NULL, "the token's owner %s %s",
		    claim, why);
	}
	return ERR_OK;
}

enum error
svc_list(struct svc *svc, struct arena *a, const struct principal *p,
    struct pat_row **rows, size_t *n, struct fault *f)
{
	const struct caller *c = p->actor;
	enum error e;

	*rows = NULL;
	*n = 0;
	if ((e = svc_may(p, f)) != ERR_OK)
		return e;
	if (p->kind == OWNER_TEAM)
		return db_team_list(svc->db, a, c->groups, c->ngroups,
		    svc_list_limit(svc), rows, n);
	return db_pat_list(svc->db, a, c->email, svc_list_limit(svc), rows, n);
}

enum error
svc_get(struct svc *svc, struct arena *a, const struct principal *p,
    const char *id, struct pat_row *row, struct fault *f)
{
	enum error e;

	if ((e = svc_may(p, f)) != ERR_OK)
		return e;
	if (!uuid_valid(id) || p->kind != OWNER_USER)
		return ERR_NOT_FOUND;
	return db_pat_get(svc->db, a, id, p->actor->email, row);
}

enum error
svc_revoke(struct svc *svc, struct arena *a, const struct principal *p,
    const char *id, struct fault *f)
{
	const struct caller *c = p->actor;
	struct db_actor who = svc_actor(p);
	enum error e;

	if ((e = svc_may(p, f)) != ERR_OK)
		return e;
	if (!uuid_valid(id))
		return ERR_NOT_FOUND;
	if (c->via == CALLER_ADMIN)
		e = db_pat_revoke(svc->db, a, id, NULL, NULL, 0, &who);
	else if (p->kind == OWNER_TEAM)
		e = db_pat_revoke(svc->db, a, id, NULL, c->groups, c->ngroups, &who);
	else
		e = db_pat_revoke(svc->db, a, id, c->email, NULL, 0, &who);
	if (e == ERR_OK)
		log_msg(LVL_INFO, "event=revoked id=%s kind=%s actor_via=%s", id,
		    p->kind == OWNER_TEAM ? "team" : "user", who.via);
	return e;
}

enum error
svc_audit(struct svc *svc, struct arena *a, const struct principal *p,
    long long before, long limit, struct audit_row **rows, size_t *n)
{
	const struct caller *c = p->actor;

	/* A team token reads its group's trail; anyone else, their own. */
	if (c->via == CALLER_TEAM)
		return db_audit_list(svc->db, a, "team", c->group, NULL, before, limit,
		    rows, n);
	return db_audit_list(svc->db, a, "user", c->email, NULL, before, limit, rows, n);
}
