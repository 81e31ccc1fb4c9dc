/*
 * service.c - the token service: create, check, list, get, revoke and the
 * audit trail, for any front end.  It knows nothing of HTTP: keys and
 * policy come in as values, and every call says who acts (a principal).
 * Every change is one statement of sql/, which records its event.
 */
#include "service.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "cache.h"
#include "alloc.h"
#include "config.h"
#include "ended.h"
#include "identity.h"
#include "log.h"
#include "metrics.h"
#include "standby.h"
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
	clock_gettime(CLOCK_MONOTONIC, &svc->started);
	return (svc->claims = yajl_gen_alloc(NULL)) != NULL ? 0 : -1;
}

#define SVC_CHANNEL	"patgate_token"

void
svc_cache(struct svc *svc, size_t entries, long max_age_s)
{
	/* About 340 bytes an entry: 1024 of them take a third of a megabyte. */
	if ((svc->cache = cache_new(entries, max_age_s * 1000)) != NULL)
		db_listen(svc->db, SVC_CHANNEL);
}

#define SVC_OWNERS	"patgate_owner"

void
svc_standby(struct svc *svc, struct db *read, int verify_on_standby)
{
	svc->db_read = read;
	svc->verify_on_standby = verify_on_standby;
	if (read != NULL) {
		svc->standby = standby_new(svc->db, read);
		db_listen(svc->db, SVC_CHANNEL);
		db_listen(svc->db, SVC_OWNERS);
	}
}

/*
 * A notification: "<event>:<token id>" (sql/0007) or, of an owner,
 * "user:<email>" or "team:<group>" (sql/0012).  Only "created" ends nothing.
 */
static void
svc_notified(void *arg, const char *channel, const char *payload)
{
	struct svc *svc = arg;
	const char *colon = strchr(payload, ':');

	metrics_count(M_NOTIFICATIONS);
	if (strcmp(channel, SVC_OWNERS) == 0) {
		if (svc->standby != NULL)
			standby_heard(svc->standby, payload);
		return;
	}
	if (colon == NULL)
		return;
	if (svc->standby != NULL)
		standby_heard(svc->standby, colon + 1);
	if (strncmp(payload, "created:", 8) == 0)
		return;
	svc->notified++;
	cache_drop(svc->cache, colon + 1);
}

/*
 * Take in the primary's notifications before a standby is asked: a change
 * it tells of may not have reached the standby yet.
 */
static void
svc_listening(struct svc *svc)
{
	unsigned long gen;

	/* Connect to the primary if need be: only it tells of changes. */
	if ((gen = db_generation(svc->db)) == 0 && db_ready(svc->db) == ERR_OK)
		gen = db_generation(svc->db);
	if (gen != 0 && db_notifies(svc->db, svc_notified, svc) == -1)
		gen = 0;
	if (gen != svc->standby_gen) {
		svc->standby_gen = gen;
		standby_listening(svc->standby, gen != 0 ? db_connected_ms(svc->db) : 0);
	}
}

/* May the standby answer a read of prefix and key (see standby_may)? */
static int
svc_standby_may(struct svc *svc, const char *prefix, const char *key)
{
	if (svc->standby == NULL)
		return 0;
	svc_listening(svc);
	return standby_may(svc->standby, prefix, key);
}

/* Count where a read for the standby went; e is what the standby answered. */
static int
svc_standby_answered(struct svc *svc, enum error e)
{
	int ok = e != ERR_UNAVAILABLE && standby_same(svc->standby);

	metrics_count(ok ? M_STANDBY_READS : M_STANDBY_TO_PRIMARY);
	return ok;
}

/*
 * The lookup of a check: the primary's, which also records the use; or a
 * standby's, when it has caught up with every change to the token notified.
 */
static enum error
svc_lookup(struct svc *svc, struct arena *a, const unsigned char hmac[32],
    const char *addr, struct pat_row *row)
{
	enum error e;

	if (!svc->verify_on_standby)
		return db_pat_use(svc->db, a, hmac, addr, svc->policy.inactive_days, row);
	if (!svc_standby_may(svc, "", NULL)) {
		metrics_count(M_STANDBY_TO_PRIMARY);
		return db_pat_use(svc->db, a, hmac, addr, svc->policy.inactive_days, row);
	}
	e = db_pat_lookup(svc->db_read, a, hmac, row);
	if (e == ERR_OK && standby_same(svc->standby) && svc_standby_may(svc, "", row->id)) {
		metrics_count(M_STANDBY_READS);
		if (addr == NULL || strchr(addr, ',') == NULL) {
			size_t i;

			for (i = 0; i < svc->ntouch && strcmp(svc->touch[i].id, row->id) != 0; i++)
				;
			if (i == svc->ntouch && svc->ntouch < SVC_TOUCH_MAX) {
				snprintf(svc->touch[i].id, sizeof(svc->touch[0].id), "%s", row->id);
				snprintf(svc->touch[i].addr, sizeof(svc->touch[0].addr), "%s",
				    addr != NULL ? addr : "");
				svc->ntouch++;
			}
		}
		return ERR_OK;
	}
	/* Not there yet (just created), changed lately, or the standby is down. */
	metrics_count(M_STANDBY_TO_PRIMARY);
	return db_pat_use(svc->db, a, hmac, addr, svc->policy.inactive_days, row);
}

static void
svc_ended_id(void *arg, const char *id)
{
	((struct svc *)arg)->notified++;
	cache_drop(((struct svc *)arg)->cache, id);
}

static void
svc_ended_hmac(void *arg, const unsigned char *hmac)
{
	((struct svc *)arg)->notified++;
	cache_drop_hmac(((struct svc *)arg)->cache, hmac);
}

/*
 * Before the cache answers: take in what was notified.  A new connection
 * may have missed notifications, and a lost one tells nothing: either way
 * the cache starts again empty, and is not used while there is none.
 */
static int
svc_cache_ready(struct svc *svc)
{
	unsigned long gen;

	if (svc->cache == NULL)
		return 0;
	/* What this supervisor's workers ended: known here before any notification. */
	ended_take(svc_ended_id, svc_ended_hmac, svc);
	gen = db_generation(svc->db);
	if (gen != svc->cache_gen) {
		cache_flush(svc->cache);
		svc->cache_gen = gen;
	}
	if (gen != 0 && db_notifies(svc->db, svc_notified, svc) == -1) {
		cache_flush(svc->cache);
		svc->cache_gen = 0;
	}
	return svc->cache_gen != 0;
}

void
svc_idle(struct svc *svc)
{
	char ids[SVC_TOUCH_MAX * 37 + 1], addrs[SVC_TOUCH_MAX * 65 + 1];
	char *p = ids, *q = addrs;

	db_heard(svc->db, svc_notified, svc);
	if (svc->ntouch == 0)
		return;
	for (size_t i = 0; i < svc->ntouch; i++) {
		if (i > 0) {
			*p++ = ',';
			*q++ = ',';
		}
		p = stpcpy(p, svc->touch[i].id);
		q = stpcpy(q, svc->touch[i].addr);
	}
	svc->ntouch = 0;
	(void)db_touch(svc->db, ids, addrs);
}

/* A cache hit is a use too: recorded later, at most once a minute per token. */
static void
svc_touch_later(struct svc *svc, const unsigned char hmac[32], const char *id,
    const char *addr, int64_t now)
{
	if (svc->ntouch == SVC_TOUCH_MAX || !cache_touch_due(svc->cache, hmac, now))
		return;
	snprintf(svc->touch[svc->ntouch].id, sizeof(svc->touch[0].id), "%s", id);
	snprintf(svc->touch[svc->ntouch].addr, sizeof(svc->touch[0].addr), "%s",
	    addr != NULL && strchr(addr, ',') == NULL ? addr : "");
	svc->ntouch++;
}

void
svc_free(struct svc *svc)
{
	cache_free(svc->cache);
	standby_free(svc->standby);
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
	int64_t now_us = token_now_us(), lifetime = spec->days >= 0 ?
	    token_lifetime(spec) : 0;
	struct db_actor who = svc_actor(p);
	struct token_spec given = *spec;
	enum error e;

	/* No days given: default_days, when it is set. */
	if (given.days < 0) {
		if (svc->policy.default_days == 0)
			return fault_set(f, ERR_INVALID_FIELD, "days", "days is required");
		given.days = svc->policy.default_days;
		lifetime = token_lifetime(&given);
	}
	spec = &given;

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

int
svc_inactive(const struct pat_row *row, int64_t now, long inactive_days)
{
	int64_t last = row->has_last_used ? row->last_used_ms : row->created_ms;

	return inactive_days > 0 && last < now - inactive_days * 86400000LL;
}

const char *
svc_status(const struct pat_row *row, int64_t now, long inactive_days)
{
	if (row->revoked)
		return "revoked";
	if (row->rotated)
		return "rotated";
	if (row->has_expires && row->expires_ms <= now)
		return "expired";
	if (svc_inactive(row, now, inactive_days))
		return "inactive";
	return "active";
}

/*
 * A token stored under a pepper rotated out: find it under each old one,
 * and re-key its row to the current pepper.  Not at once after a start:
 * workers of the previous generation, which know only the old pepper, may
 * still be finishing requests (for at most the supervisor's drain time).
 */
#define SVC_REKEY_AFTER_S	35

static enum error
svc_check_old_pepper(struct svc *svc, struct arena *a, const char *token,
    size_t len, const char *addr, const unsigned char current[32],
    struct pat_row *row)
{
	unsigned char old[32];
	struct timespec now;
	enum error e = ERR_NOT_FOUND;

	clock_gettime(CLOCK_MONOTONIC, &now);
	for (size_t i = 0; i < svc->keys.nold_peppers && e == ERR_NOT_FOUND; i++) {
		if (jose_hmac(svc->keys.old_peppers[i], token, len, old) == -1)
			return ERR_INTERNAL;
		if ((e = db_pat_use(svc->db, a, old, addr, svc->policy.inactive_days,
		    row)) == ERR_OK && now.tv_sec - svc->started.tv_sec >= SVC_REKEY_AFTER_S &&
		    db_rekey(svc->db, row->id, old, current) == ERR_OK)
			log_msg(LVL_INFO, "event=rekeyed id=%s", row->id);
	}
	OPENSSL_cleanse(old, sizeof(old));
	return e;
}

/* The check of a token whose HMAC is hmac: svc_check, which computes and cleanses it. */
static enum error
svc_check_hmac(struct svc *svc, struct arena *a, const char *token, size_t len,
    const unsigned char hmac[32], const char *addr, struct pat_row *row,
    struct fault *f)
{
	const char *jti, *why, *claim;
	int64_t now = token_now_ms(), exp;
	unsigned long heard;
	int old_pepper = 0;
	enum error e;

	/*
	 * A token that passed before, and of which nothing was notified since.
	 * The key is a MAC of the whole token, so a hit is the very string
	 * that passed token_verify: only time can have changed, and an entry
	 * never outlives the token's own exp (see the cache_put below).
	 */
	if (svc_cache_ready(svc) && cache_get(svc->cache, hmac, now, a, row)) {
		if ((!row->has_expires || row->expires_ms > now) &&
		    (!row->rotated || row->grace_ms > now)) {
			svc_touch_later(svc, hmac, row->id, addr, now);
			return ERR_OK;
		}
		cache_drop(svc->cache, row->id);	/* the database decides */
	}
	if ((e = token_verify(&svc->keys, a, token, len, now, &jti, &exp)) != ERR_OK)
		return e;
	/*
	 * What was heard before the lookup: a revocation that commits while it
	 * runs may be told only after it, and the row read must not be kept.
	 */
	heard = svc->notified;
	e = svc_lookup(svc, a, hmac, addr, row);
	if (e == ERR_NOT_FOUND && svc->keys.nold_peppers > 0 &&
	    (e = svc_check_old_pepper(svc, a, token, len, addr, hmac, row)) == ERR_OK)
		old_pepper = 1;	/* not cached by the current HMAC until re-keyed */
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
	/* Rotated: it works through its grace, then stops; a later use is noted. */
	if (row->rotated && row->grace_ms <= now) {
		svc_refused(row->id, "rotated");
		(void)db_pat_reuse(svc->db, row->id, addr);
		return fault_set(f, ERR_INVALID_TOKEN, NULL, "the token was rotated; "
		    "use its successor");
	}
	if (svc_inactive(row, now, svc->policy.inactive_days)) {
		svc_refused(row->id, "inactive");
		return fault_set(f, ERR_INVALID_TOKEN, NULL, "the token was not used "
		    "for %ld days (inactive_days) and no longer works",
		    svc->policy.inactive_days);
	}
	/* Rows written before the identity rules may hold what they now refuse. */
	if ((why = identity_check(row->email, row->name, row->groups, row->ngroups,
	    !strchr(row->email, '@'), &claim)) != NULL) {
		svc_refused(row->id, "identity");
		return fault_set(f, ERR_INVALID_TOKEN, NULL, "the token's owner %s %s",
		    claim, why);
	}
	/* Kept only while its row expires no later than the token says. */
	if (!old_pepper && svc_cache_ready(svc) && svc->notified == heard &&
	    (exp == -1 || (row->has_expires && row->expires_ms <= exp)))
		cache_put(svc->cache, hmac, now, row);
	return ERR_OK;
}

enum error
svc_check(struct svc *svc, struct arena *a, const char *token, size_t len,
    const char *addr, struct pat_row *row, struct fault *f)
{
	unsigned char hmac[32];
	enum error e;

	if (!token_is_pat(token, len))
		return ERR_INVALID_TOKEN;
	if (token_hmac(&svc->keys, token, len, hmac) == -1)
		return ERR_INTERNAL;
	e = svc_check_hmac(svc, a, token, len, hmac, addr, row, f);
	OPENSSL_cleanse(hmac, sizeof(hmac));
	return e;
}

/* May the standby answer for the owner of what p reads: its user, or each of its groups? */
static int
svc_owner_on_standby(struct svc *svc, const struct principal *p)
{
	const struct caller *c = p->actor;

	if (p->kind != OWNER_TEAM)
		return svc_standby_may(svc, "user:", c->email);
	if (!svc_standby_may(svc, "", NULL))
		return 0;
	for (size_t i = 0; i < c->ngroups; i++)
		if (!standby_may(svc->standby, "team:", c->groups[i]))
			return 0;
	return 1;
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
	/*
	 * Reads may go to a standby that has every change notified to the
	 * owner's tokens; one that is down leaves them to the primary.
	 */
	if (svc->standby != NULL && !svc_owner_on_standby(svc, p))
		metrics_count(M_STANDBY_TO_PRIMARY);
	else if (svc->standby != NULL) {
		e = p->kind == OWNER_TEAM ? db_team_list(svc->db_read, a, c->groups,
		    c->ngroups, svc_list_limit(svc), rows, n) :
		    db_pat_list(svc->db_read, a, c->email, svc_list_limit(svc), rows, n);
		if (svc_standby_answered(svc, e))
			return e;
		*rows = NULL;
		*n = 0;
	}
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
	if (svc->standby != NULL && !svc_owner_on_standby(svc, p))
		metrics_count(M_STANDBY_TO_PRIMARY);
	else if (svc->standby != NULL) {
		e = db_pat_get(svc->db_read, a, id, p->actor->email, row);
		if (svc_standby_answered(svc, e))
			return e;
	}
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
		ended_id(id);
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

/*
 * Rotate a token: a successor with the same owner, description and
 * lifetime (counted from now), and the old one working grace_s more
 * seconds.  A token may rotate itself; another token that makes the
 * successor is held to the rule that it cannot make one outliving it.
 */
enum error
svc_rotate(struct svc *svc, struct arena *a, const struct principal *p,
    const char *id, long grace_s, struct token_minted *m, struct fault *f)
{
	const struct caller *c = p->actor;
	struct db_actor who = svc_actor(p);
	struct caller owner;
	struct token_spec spec;
	struct pat_row old;
	int64_t now_us = token_now_us();
	enum error e;

	if ((e = svc_may(p, f)) != ERR_OK)
		return e;
	if (grace_s < 0 || grace_s > svc->policy.max_rotation_grace)
		return fault_set(f, ERR_INVALID_FIELD, "graceSeconds", "graceSeconds "
		    "must be from 0 to %ld (max_rotation_grace)",
		    svc->policy.max_rotation_grace);
	if (!uuid_valid(id))
		return ERR_NOT_FOUND;
	if ((e = db_pat_get_id(svc->db, a, id, &old)) != ERR_OK)
		return e;
	/* Only what the principal owns; anything else is not found. */
	if (c->via != CALLER_ADMIN &&
	    (p->kind == OWNER_TEAM ? old.group == NULL || !svc_member(c, old.group) :
	    old.group != NULL || strcmp(old.email, c->email) != 0))
		return ERR_NOT_FOUND;
	if (old.rotated)
		return fault_set(f, ERR_CONFLICT, NULL, "this token was rotated "
		    "already; rotate its successor");
	memset(&owner, 0, sizeof(owner));
	owner.via = c->via;
	owner.email = old.email;
	owner.name = old.name;
	owner.groups = old.groups;
	owner.ngroups = old.ngroups;
	spec.group = old.group;
	spec.days = old.days;
	spec.hours = old.hours;
	spec.minutes = old.minutes;
	spec.description = old.description;
	if ((c->via == CALLER_PAT || c->via == CALLER_TEAM) && c->has_expires &&
	    (c->pat_id == NULL || strcmp(c->pat_id, id) != 0) &&
	    (token_lifetime(&spec) == 0 ||
	    now_us / 1000000 + token_lifetime(&spec) > c->expires_ms / 1000))
		return fault_set(f, ERR_INVALID_FIELD, "days", "the successor would "
		    "outlive the token that asks for it");
	if ((e = token_sign(&svc->keys, svc->claims, a, &owner, &spec, now_us, m)) != ERR_OK)
		return e;
	if (c->via == CALLER_ADMIN)
		e = db_pat_rotate(svc->db, a, id, NULL, NULL, 0, grace_s, &m->row, &who);
	else if (p->kind == OWNER_TEAM)
		e = db_pat_rotate(svc->db, a, id, NULL, c->groups, c->ngroups, grace_s,
		    &m->row, &who);
	else
		e = db_pat_rotate(svc->db, a, id, c->email, NULL, 0, grace_s, &m->row,
		    &who);
	if (e == ERR_CONFLICT)
		return fault_set(f, e, NULL, "this token was rotated already; rotate "
		    "its successor");
	if (e == ERR_OK)
		ended_id(id);
	if (e == ERR_OK)
		log_msg(LVL_INFO, "event=rotated id=%s successor=%s grace_s=%ld", id,
		    m->id, grace_s);
	return e;
}

/* The token the caller presented, if it is one of ours. */
static const char *
svc_self_id(const struct principal *p, struct fault *f)
{
	const struct caller *c = p->actor;

	if ((c->via != CALLER_PAT && c->via != CALLER_TEAM) || c->pat_id == NULL) {
		(void)fault_set(f, ERR_NOT_FOUND, NULL, "self is the calling token, "
		    "and the caller presented none");
		return NULL;
	}
	return c->pat_id;
}

enum error
svc_self(struct svc *svc, struct arena *a, const struct principal *p,
    struct pat_row *row, struct fault *f)
{
	const char *id = svc_self_id(p, f);

	return id == NULL ? ERR_NOT_FOUND : db_pat_get_id(svc->db, a, id, row);
}

enum error
svc_revoke_self(struct svc *svc, struct arena *a, const struct principal *p,
    struct fault *f)
{
	struct db_actor who = svc_actor(p);
	const char *id = svc_self_id(p, f);
	enum error e;

	if (id == NULL)
		return ERR_NOT_FOUND;
	if ((e = db_pat_revoke(svc->db, a, id, NULL, NULL, 0, &who)) == ERR_OK) {
		ended_id(id);
		log_msg(LVL_INFO, "event=revoked id=%s self=1 actor_via=%s", id, who.via);
	}
	return e;
}

enum error
svc_report(struct svc *svc, struct arena *a, const char *const *tokens, size_t n,
    const char *addr, long *revoked)
{
	unsigned char (*hmacs)[32];
	size_t i, k, m = 0, per = 1 + svc->keys.nold_peppers;
	enum error e;

	*revoked = 0;
	if ((hmacs = arena_alloc(a, (n ? n : 1) * per * sizeof(*hmacs))) == NULL)
		return ERR_INTERNAL;
	/* Each token as it may be stored: under the current pepper or an old one. */
	for (i = 0; i < n; i++) {
		if (!token_is_pat(tokens[i], strlen(tokens[i])))
			continue;
		if (token_hmac(&svc->keys, tokens[i], strlen(tokens[i]), hmacs[m++]) == -1)
			return ERR_INTERNAL;
		for (k = 0; k < svc->keys.nold_peppers; k++)
			if (jose_hmac(svc->keys.old_peppers[k], tokens[i],
			    strlen(tokens[i]), hmacs[m++]) == -1)
				return ERR_INTERNAL;
	}
	e = db_revoke_hmacs(svc->db, a, (const unsigned char (*)[32])hmacs, m, addr,
	    revoked);
	for (i = 0; e == ERR_OK && *revoked > 0 && i < m; i++)
		ended_hmac(hmacs[i]);
	OPENSSL_cleanse(hmacs, (n ? n : 1) * per * sizeof(*hmacs));
	if (e == ERR_OK)
		log_msg(LVL_INFO, "event=reported tokens=%zu revoked=%ld", n, *revoked);
	return e;
}
