/* auth.c - who is calling: a PAT, an OIDC identity token, or REMOTE_USER. */
#include "auth.h"

#include <arpa/inet.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/sha.h>

#include "alloc.h"
#include "identity.h"
#include "jose.h"
#include "jwks.h"
#include "log.h"
#include "service.h"
#include "token.h"
#include "utf8.h"

#define AUTH_LEEWAY_S		60
#define AUTH_CACHE_WAYS		4	/* identity tokens remembered per set */
#define AUTH_CACHE_SETS		128	/* so 512 per worker */
#define AUTH_CACHE_TEXT		176	/* an identity that needs more is not remembered */

/*
 * Identity tokens this worker has verified.  A client such as a CLI sends
 * the same token until it expires, and checking its RS256 signature each
 * time costs more than the rest of the request.  An entry is keyed by the
 * token's SHA-256, which also picks its set, holds only what the signature
 * and claims established, in a fixed-size record (so that remembering
 * allocates nothing and leaves no holes in the heap), and is used only
 * while the JWKS it was checked against is unchanged; the token's lifetime
 * is checked again on every use.
 */
struct auth_cached {
	unsigned char	 digest[SHA256_DIGEST_LENGTH];
	unsigned	 generation;
	int		 has_nbf;
	int64_t		 exp, nbf;
	uint16_t	 ngroups;
	unsigned char	 used;
	char		 text[AUTH_CACHE_TEXT];	/* email, name, groups: NUL after each */
};

static struct auth_cached	auth_cache[AUTH_CACHE_SETS][AUTH_CACHE_WAYS];
static unsigned char		auth_cache_next[AUTH_CACHE_SETS];

/*
 * Refuse an identity that breaks CONTRACT 2's rules for identity text, with
 * a message that names the claim; via says where it came from.
 */
static enum error
auth_identity(struct request *req, enum error refusal, const char *source)
{
	const struct caller *c = &req->caller;
	const char *claim, *why;
	char *msg;

	why = identity_check(c->email, c->name, c->groups, c->ngroups,
	    c->via == CALLER_REMOTE_USER, &claim);
	if (why == NULL)
		return ERR_OK;
	if ((msg = arena_alloc(&req->arena, 200)) != NULL)
		snprintf(msg, 200, "the %s's %s %s%s", source, claim,
		    strcmp(claim, "groups") == 0 ? "claim: a group " : "", why);
	return request_fail(req, refusal, NULL, msg);
}

static enum error
auth_pat(struct request *req, const struct auth *ctx, const char *token, size_t len)
{
	struct caller *c = &req->caller;
	struct pat_row row;
	struct fault f = { NULL, "" };
	enum error e;

	if ((e = svc_check(ctx->svc, &req->arena, token, len,
	    auth_client_addr(req, ctx->trusted_proxies), &row, &f)) != ERR_OK)
		return request_fault(req, e, &f);
	c->via = row.group != NULL ? CALLER_TEAM : CALLER_PAT;
	c->group = row.group;
	c->email = row.email;
	c->name = row.name;
	c->groups = row.groups;
	c->ngroups = row.ngroups;
	c->pat_id = row.id;
	c->expires_ms = row.expires_ms;
	c->has_expires = row.has_expires;
	return ERR_OK;
}

static int
auth_lifetime_ok(int64_t exp, int has_nbf, int64_t nbf, int64_t now)
{
	return exp + AUTH_LEEWAY_S > now && (!has_nbf || nbf - AUTH_LEEWAY_S <= now);
}

/* The set a token's digest picks. */
static size_t
auth_cache_set(const unsigned char *digest)
{
	return (size_t)(digest[0] | digest[1] << 8) % AUTH_CACHE_SETS;
}

static struct auth_cached *
auth_cache_find(const unsigned char *digest, unsigned generation)
{
	struct auth_cached *set = auth_cache[auth_cache_set(digest)];

	for (size_t i = 0; i < AUTH_CACHE_WAYS; i++)
		if (set[i].used && set[i].generation == generation &&
		    memcmp(set[i].digest, digest, sizeof(set[i].digest)) == 0)
			return &set[i];
	return NULL;
}

static void
auth_cache_put(const unsigned char *digest, unsigned generation,
    const struct jose_claims *claims, const struct caller *c)
{
	size_t i, n = auth_cache_set(digest), size = strlen(c->email) +
	    strlen(c->name) + 2;
	struct auth_cached *set = auth_cache[n], *e;
	char *p;

	for (i = 0; i < c->ngroups; i++)
		size += strlen(c->groups[i]) + 1;
	if (size > AUTH_CACHE_TEXT || c->ngroups > UINT16_MAX)
		return;
	for (i = 0; i < AUTH_CACHE_WAYS && set[i].used; i++)
		continue;
	if (i == AUTH_CACHE_WAYS) {	/* the set is full: its oldest goes */
		i = auth_cache_next[n];
		auth_cache_next[n] = (unsigned char)((i + 1) % AUTH_CACHE_WAYS);
	}
	e = &set[i];
	p = stpcpy(e->text, c->email) + 1;
	p = stpcpy(p, c->name) + 1;
	for (i = 0; i < c->ngroups; i++)
		p = stpcpy(p, c->groups[i]) + 1;
	e->ngroups = (uint16_t)c->ngroups;
	memcpy(e->digest, digest, sizeof(e->digest));
	e->generation = generation;
	e->exp = claims->exp;
	e->nbf = claims->nbf;
	e->has_nbf = claims->has_nbf;
	e->used = 1;
}

/* The caller a remembered identity names, its strings copied into the arena. */
static enum error
auth_cache_caller(struct request *req, const struct auth_cached *hit)
{
	struct caller *c = &req->caller;
	const char *p = hit->text, **groups;
	size_t i, n;

	if ((groups = arena_alloc(&req->arena, (hit->ngroups + 1u) *
	    sizeof(*groups))) == NULL)
		return ERR_INTERNAL;
	n = strlen(p);
	c->email = arena_strndup(&req->arena, p, n);
	p += n + 1;
	n = strlen(p);
	c->name = arena_strndup(&req->arena, p, n);
	p += n + 1;
	for (i = 0; i < hit->ngroups; i++, p += n + 1) {
		n = strlen(p);
		if ((groups[i] = arena_strndup(&req->arena, p, n)) == NULL)
			return ERR_INTERNAL;
	}
	if (c->email == NULL || c->name == NULL)
		return ERR_INTERNAL;
	c->via = CALLER_OIDC;
	c->groups = groups;
	c->ngroups = hit->ngroups;
	return ERR_OK;
}

static enum error
auth_oidc(struct request *req, const struct auth *ctx, const char *token, size_t len)
{
	struct caller *c = &req->caller;
	unsigned char digest[SHA256_DIGEST_LENGTH];
	struct jose_claims claims;
	struct auth_cached *hit;
	const struct jwks *keys;
	struct jose *j;
	int64_t now = token_now_ms() / 1000;
	enum error e;

	if (ctx->jwks == NULL || ctx->jwks->path == NULL)
		return request_fail(req, ERR_INVALID_TOKEN, NULL, "the bearer "
		    "token is not a valid personal access token, and identity "
		    "tokens are not accepted here");
	/* A JWKS file that is gone, empty or useless trusts no key (CONTRACT 7). */
	if ((keys = jwks_cache_get(ctx->jwks)) == NULL) {
		long held = log_limit("oidc_no_keys", 1);

		if (held >= 0)
			log_msg(LVL_WARN, "event=oidc_refused reason=\"no usable "
			    "key in oidc_jwks_file: %s\" held_back=%ld",
			    ctx->jwks->why, held);
		return request_fail(req, ERR_INVALID_TOKEN, NULL, "identity "
		    "tokens cannot be checked: the server trusts no signing key");
	}
	SHA256((const unsigned char *)token, len, digest);
	if ((hit = auth_cache_find(digest, ctx->jwks->generation)) != NULL) {
		if (!auth_lifetime_ok(hit->exp, hit->has_nbf, hit->nbf, now))
			return request_fail(req, ERR_INVALID_TOKEN, NULL, "the "
			    "identity token has expired or is not valid yet");
		return auth_cache_caller(req, hit);
	}
	if ((j = arena_alloc(&req->arena, sizeof(*j))) == NULL)
		return ERR_INTERNAL;
	/* Only RS256 and ES256, each only with a key of its own type. */
	if (jose_parse(j, token, len) == -1 ||
	    (j->alg != JOSE_ALG_RS256 && j->alg != JOSE_ALG_ES256) ||
	    jwks_verify(keys, j) == -1 ||
	    jose_claims_parse(&claims, j->payload, j->payload_len, &req->arena) == -1)
		return ERR_INVALID_TOKEN;
	if (claims.iss == NULL || strcmp(claims.iss, ctx->oidc_issuer) != 0 ||
	    !jose_claims_has_aud(&claims, ctx->oidc_audience) ||
	    !claims.has_exp ||
	    !auth_lifetime_ok(claims.exp, claims.has_nbf, claims.nbf, now))
		return request_fail(req, ERR_INVALID_TOKEN, NULL, "the identity "
		    "token's issuer, audience or lifetime is not acceptable");
	if (ctx->require_verified_email && !claims.email_verified)
		return request_fail(req, ERR_INVALID_TOKEN, NULL, "the identity "
		    "token's email_verified claim must be true");
	c->via = CALLER_OIDC;
	c->email = claims.email;
	/* No name claim: the email stands in.  An empty one is refused below. */
	c->name = claims.name != NULL ? claims.name : claims.email;
	c->groups = claims.groups;
	c->ngroups = claims.ngroups;
	if ((e = auth_identity(req, ERR_INVALID_TOKEN, "identity token")) != ERR_OK)
		return e;
	auth_cache_put(digest, ctx->jwks->generation, &claims, c);
	return ERR_OK;
}

void
auth_cache_clear(void)
{
	memset(auth_cache, 0, sizeof(auth_cache));
	memset(auth_cache_next, 0, sizeof(auth_cache_next));
}

enum error
auth_caller(struct request *req, const struct auth *ctx)
{
	const struct authorization *a = &req->auth;
	struct caller *c = &req->caller;
	const char *user = req->p.remote_user;

	if (a->scheme == AUTH_BEARER) {
		/* A bearer token that fails is never passed over for REMOTE_USER. */
		if (a->malformed)
			return request_fail(req, ERR_INVALID_TOKEN, NULL,
			    "the Authorization header is not \"Bearer <token>\"");
		if (token_is_pat(a->cred, a->len))
			return auth_pat(req, ctx, a->cred, a->len);
		return auth_oidc(req, ctx, a->cred, a->len);
	}
	if (!ctx->trust_remote_user || user == NULL || *user == '\0')
		return ERR_UNAUTHORIZED;
	/*
	 * nginx derives its REMOTE_USER from any client's Basic header, even
	 * where no auth_basic ran.  A server that did authenticate says so in
	 * AUTH_TYPE (Apache always does; the shipped nginx samples do).
	 */
	if (a->scheme == AUTH_BASIC &&
	    (req->p.auth_type == NULL || *req->p.auth_type == '\0')) {
		long held = log_limit("remote_user_unverified", 60);

		if (held >= 0)
			log_msg(LVL_WARN, "event=remote_user_refused reason=\"REMOTE_USER "
			    "came with the client's Basic credential but no AUTH_TYPE: "
			    "the web server did not say it authenticated the user\" "
			    "fix=\"pass AUTH_TYPE from the location that runs "
			    "auth_basic, and REMOTE_USER from nowhere else\" held_back=%ld",
			    held);
		return request_fail(req, ERR_UNAUTHORIZED, NULL, "the web server "
		    "did not authenticate this user");
	}
	c->via = CALLER_REMOTE_USER;
	c->email = c->name = user;
	c->groups = NULL;
	c->ngroups = 0;
	return auth_identity(req, ERR_UNAUTHORIZED, "web server's REMOTE_USER");
}

/* One entry of a list: an address, or address/prefix; addr matches it? */
static int
auth_cidr_match(const char *entry, size_t elen, const char *addr)
{
	unsigned char net[16], a[16];
	char buf[64];
	const char *slash;
	long bits = -1;
	int fam, alen;

	if (elen == 0 || elen >= sizeof(buf))
		return 0;
	memcpy(buf, entry, elen);
	buf[elen] = '\0';
	if ((slash = strchr(buf, '/')) != NULL) {
		char *end;

		bits = strtol(slash + 1, &end, 10);
		if (*end != '\0' || end == slash + 1)
			return 0;
		buf[slash - buf] = '\0';
	}
	fam = strchr(buf, ':') != NULL ? AF_INET6 : AF_INET;
	alen = fam == AF_INET6 ? 16 : 4;
	if (bits < 0)
		bits = alen * 8;
	if (bits > alen * 8 || inet_pton(fam, buf, net) != 1 ||
	    inet_pton(fam, addr, a) != 1)
		return 0;
	for (int i = 0; i < alen && bits > 0; i++, bits -= 8) {
		unsigned char mask = bits >= 8 ? 0xff : (unsigned char)(0xff << (8 - bits));

		if ((net[i] & mask) != (a[i] & mask))
			return 0;
	}
	return 1;
}

int
auth_addr_allowed(const char *list, const char *addr)
{
	const char *p = list, *end;

	if (addr == NULL)
		return 0;
	while (*p != '\0') {
		while (*p == ' ' || *p == ',')
			p++;
		end = p + strcspn(p, ", ");
		if (auth_cidr_match(p, (size_t)(end - p), addr))
			return 1;
		p = end;
	}
	return 0;
}

/* Is addr one of the comma-separated trusted_proxies? */
static int
auth_trusted(const char *list, const char *addr, size_t len)
{
	const char *p = list, *end;

	while (*p != '\0') {
		while (*p == ' ' || *p == ',')
			p++;
		end = p + strcspn(p, ", ");
		if ((size_t)(end - p) == len && len > 0 && memcmp(p, addr, len) == 0)
			return 1;
		p = end;
	}
	return 0;
}

static int
auth_addr_ok(const char *s, size_t len)
{
	unsigned char buf[sizeof(struct in6_addr)];
	char tmp[64];

	if (len == 0 || len >= sizeof(tmp))
		return 0;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	return inet_pton(AF_INET, tmp, buf) == 1 || inet_pton(AF_INET6, tmp, buf) == 1;
}

const char *
auth_client_addr(struct request *req, const char *trusted)
{
	return auth_forwarded(&req->arena, req->p.remote_addr, req->p.forwarded_for,
	    trusted);
}

const char *
auth_forwarded(struct arena *a, const char *remote, const char *xff,
    const char *trusted)
{
	const char *end, *start;

	if (remote == NULL || !auth_addr_ok(remote, strlen(remote)))
		return NULL;
	if (*trusted == '\0' || !auth_trusted(trusted, remote, strlen(remote)) ||
	    xff == NULL)
		return remote;
	/* Walk X-Forwarded-For from the right, past the proxies we trust. */
	end = xff + strlen(xff);
	while (end > xff) {
		while (end > xff && (end[-1] == ' ' || end[-1] == ','))
			end--;
		start = end;
		while (start > xff && start[-1] != ',' && start[-1] != ' ')
			start--;
		if (!auth_addr_ok(start, (size_t)(end - start)))
			return remote;
		if (!auth_trusted(trusted, start, (size_t)(end - start)))
			return arena_strndup(a, start, (size_t)(end - start));
		end = start;
	}
	return remote;
}
