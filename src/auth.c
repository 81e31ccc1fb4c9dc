/* auth.c - who is calling: a PAT, an OIDC identity token, or REMOTE_USER. */
#include "auth.h"

#include <arpa/inet.h>

#include <string.h>
#include <strings.h>

#include <openssl/sha.h>

#include "alloc.h"
#include "app.h"
#include "jose.h"
#include "jwks.h"
#include "log.h"
#include "token.h"
#include "utf8.h"

#define AUTH_LEEWAY_S		60
#define AUTH_EMAIL_MAX		320
#define AUTH_NAME_MAX		255
#define AUTH_GROUPS_MAX		100
#define AUTH_GROUPS_BYTES	4000	/* they must fit in one X-Pat-Groups header */
#define AUTH_CACHE_SIZE		64	/* identity tokens remembered per worker */

/*
 * Identity tokens this worker has verified.  A client such as a CLI sends
 * the same token until it expires, and checking its RS256 signature each
 * time costs more than the rest of the request.  An entry is keyed by the
 * token's SHA-256, holds only what the signature and claims established,
 * and is used only while the JWKS it was checked against is unchanged; the
 * token's lifetime is checked again on every use.
 */
struct auth_cached {
	unsigned char	 digest[SHA256_DIGEST_LENGTH];
	unsigned	 generation;
	int		 used;
	int64_t		 exp, nbf;
	int		 has_nbf;
	char		*email, *name;
	char		**groups;
	size_t		 ngroups;
};

static struct auth_cached	auth_cache[AUTH_CACHE_SIZE];
static size_t			auth_cache_next;

int
auth_bearer(const struct request *req, const char **token, size_t *len)
{
	const char *h = request_env(req, "HTTP_AUTHORIZATION"), *end;

	*token = NULL;
	*len = 0;
	if (h == NULL)
		return 0;
	while (*h == ' ' || *h == '\t')
		h++;
	if (strncasecmp(h, "Bearer", 6) != 0 ||
	    (h[6] != ' ' && h[6] != '\t' && h[6] != '\0'))
		return 0;	/* another scheme, such as the server's own Basic */
	h += 6;
	while (*h == ' ' || *h == '\t')
		h++;
	end = h + strlen(h);
	while (end > h && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	/* token68 (RFC 7235), which covers base64url and dots. */
	if (end == h || (size_t)(end - h) > JOSE_TOKEN_MAX ||
	    strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789-._~+/=") < (size_t)(end - h))
		return -1;
	*token = h;
	*len = (size_t)(end - h);
	return 0;
}

/* Identity text must be valid UTF-8 without control characters: it ends up in headers. */
static int
auth_text_ok(const char *s, size_t max_cp)
{
	const char *p = s;
	size_t n = 0, len = strlen(s);

	if (len == 0 || !utf8_valid(s, len))
		return 0;
	while (*p != '\0') {
		if (utf8_is_control(utf8_next(&p)))
			return 0;
		n++;
	}
	return n <= max_cp;
}

static int
auth_identity_ok(const struct caller *c)
{
	size_t bytes = 0;

	if (!auth_text_ok(c->email, AUTH_EMAIL_MAX) ||
	    !auth_text_ok(c->name, AUTH_NAME_MAX) || c->ngroups > AUTH_GROUPS_MAX)
		return 0;
	for (size_t i = 0; i < c->ngroups; i++) {
		if (!auth_text_ok(c->groups[i], AUTH_NAME_MAX))
			return 0;
		bytes += strlen(c->groups[i]) + 1;
	}
	return bytes <= AUTH_GROUPS_BYTES;
}

static enum error
auth_pat(struct request *req, const char *token, size_t len)
{
	struct caller *c = &req->caller;
	struct pat_row row;
	enum error e;

	if ((e = token_check(req, token, len, auth_client_addr(req), &row)) != ERR_OK)
		return e;
	c->via = CALLER_PAT;
	c->email = row.email;
	c->name = row.name;
	c->pat_id = row.id;
	if (token_groups_split(req, row.groups, &c->groups, &c->ngroups) == -1)
		return ERR_INTERNAL;
	return ERR_OK;
}

static int
auth_lifetime_ok(int64_t exp, int has_nbf, int64_t nbf, int64_t now)
{
	return exp + AUTH_LEEWAY_S > now && (!has_nbf || nbf - AUTH_LEEWAY_S <= now);
}

static struct auth_cached *
auth_cache_find(const unsigned char *digest, unsigned generation)
{
	for (size_t i = 0; i < AUTH_CACHE_SIZE; i++)
		if (auth_cache[i].used && auth_cache[i].generation == generation &&
		    memcmp(auth_cache[i].digest, digest, sizeof(auth_cache[i].digest)) == 0)
			return &auth_cache[i];
	return NULL;
}

static void
auth_cache_put(const unsigned char *digest, unsigned generation,
    const struct jose_claims *claims, const struct caller *c)
{
	struct auth_cached *e = &auth_cache[auth_cache_next];
	size_t i;

	auth_cache_next = (auth_cache_next + 1) % AUTH_CACHE_SIZE;
	for (i = 0; i < e->ngroups; i++)
		free(e->groups[i]);
	free(e->groups);
	free(e->email);
	free(e->name);
	memcpy(e->digest, digest, sizeof(e->digest));
	e->generation = generation;
	e->exp = claims->exp;
	e->nbf = claims->nbf;
	e->has_nbf = claims->has_nbf;
	e->email = xstrdup(c->email);
	e->name = xstrdup(c->name);
	e->groups = xcalloc(c->ngroups ? c->ngroups : 1, sizeof(*e->groups));
	for (i = 0; i < c->ngroups; i++)
		e->groups[i] = xstrdup(c->groups[i]);
	e->ngroups = c->ngroups;
	e->used = 1;
}

static enum error
auth_oidc(struct request *req, const char *token, size_t len)
{
	struct app *app = req->app;
	struct caller *c = &req->caller;
	unsigned char digest[SHA256_DIGEST_LENGTH];
	struct jose_claims claims;
	struct auth_cached *hit;
	const struct jwks *keys;
	struct jose *j;
	int64_t now = token_now_ms() / 1000;

	if (app->jwks.path == NULL)
		return ERR_INVALID_TOKEN;
	keys = jwks_cache_get(&app->jwks);
	SHA256((const unsigned char *)token, len, digest);
	if ((hit = auth_cache_find(digest, app->jwks.generation)) != NULL) {
		if (!auth_lifetime_ok(hit->exp, hit->has_nbf, hit->nbf, now))
			return request_fail(req, ERR_INVALID_TOKEN, NULL, "the "
			    "identity token has expired or is not valid yet");
		c->via = CALLER_OIDC;
		c->email = hit->email;
		c->name = hit->name;
		c->groups = (const char **)hit->groups;
		c->ngroups = hit->ngroups;
		return ERR_OK;
	}
	if ((j = arena_alloc(&req->arena, sizeof(*j))) == NULL)
		return ERR_INTERNAL;
	/* Only RS256 and ES256, each only with a key of its own type. */
	if (jose_parse(j, token, len) == -1 ||
	    (j->alg != JOSE_ALG_RS256 && j->alg != JOSE_ALG_ES256) ||
	    jwks_verify(keys, j) == -1 ||
	    jose_claims_parse(&claims, j->payload, j->payload_len, &req->arena) == -1)
		return ERR_INVALID_TOKEN;
	if (claims.iss == NULL || strcmp(claims.iss, app->cfg.oidc_issuer) != 0 ||
	    !jose_claims_has_aud(&claims, app->cfg.oidc_audience) ||
	    !claims.has_exp || claims.email == NULL ||
	    !auth_lifetime_ok(claims.exp, claims.has_nbf, claims.nbf, now))
		return request_fail(req, ERR_INVALID_TOKEN, NULL, "the identity "
		    "token's issuer, audience, lifetime or email is not acceptable");
	c->via = CALLER_OIDC;
	c->email = claims.email;
	c->name = claims.name != NULL && claims.name[0] != '\0' ? claims.name :
	    claims.email;
	c->groups = claims.groups;
	c->ngroups = claims.ngroups;
	if (!auth_identity_ok(c))
		return request_fail(req, ERR_INVALID_TOKEN, NULL, "the identity "
		    "token's email, name or groups are empty, too long, or hold "
		    "control characters");
	auth_cache_put(digest, app->jwks.generation, &claims, c);
	return ERR_OK;
}

void
auth_cache_clear(void)
{
	for (size_t i = 0; i < AUTH_CACHE_SIZE; i++) {
		for (size_t k = 0; k < auth_cache[i].ngroups; k++)
			free(auth_cache[i].groups[k]);
		free(auth_cache[i].groups);
		free(auth_cache[i].email);
		free(auth_cache[i].name);
	}
	memset(auth_cache, 0, sizeof(auth_cache));
	auth_cache_next = 0;
}

enum error
auth_caller(struct request *req)
{
	const char *token, *user;
	struct caller *c = &req->caller;
	size_t len;

	if (auth_bearer(req, &token, &len) == -1)
		return ERR_INVALID_TOKEN;
	if (token != NULL) {
		/* A bearer token that fails is never passed over for REMOTE_USER. */
		if (token_is_pat(token, len))
			return auth_pat(req, token, len);
		return auth_oidc(req, token, len);
	}
	user = request_env(req, "REMOTE_USER");
	if (!req->app->cfg.trust_remote_user || user == NULL || *user == '\0')
		return ERR_UNAUTHORIZED;
	c->via = CALLER_REMOTE_USER;
	c->email = c->name = user;
	c->groups = NULL;
	c->ngroups = 0;
	if (!auth_identity_ok(c))
		return request_fail(req, ERR_UNAUTHORIZED, NULL,
		    "REMOTE_USER is too long or holds control characters");
	return ERR_OK;
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
auth_client_addr(struct request *req)
{
	const char *remote = request_env(req, "REMOTE_ADDR"), *xff, *end, *start;
	const char *trusted = req->app->cfg.trusted_proxies;

	if (remote == NULL || !auth_addr_ok(remote, strlen(remote)))
		return NULL;
	if (*trusted == '\0' || !auth_trusted(trusted, remote, strlen(remote)) ||
	    (xff = request_env(req, "HTTP_X_FORWARDED_FOR")) == NULL)
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
			return arena_strndup(&req->arena, start, (size_t)(end - start));
		end = start;
	}
	return remote;
}
