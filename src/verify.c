/* verify.c - the edge check for nginx auth_request, and RFC 7662 introspection. */
#include "verify.h"

#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "app.h"
#include "auth.h"
#include "form.h"
#include "jose.h"
#include "json.h"
#include "log.h"
#include "token.h"

/* Groups joined by commas for X-Pat-Groups, in the arena; identity rules keep commas out. */
static const char *
verify_groups_header(struct request *req, const char *const *groups, size_t n)
{
	size_t i, len = 1;
	char *s, *p;

	for (i = 0; i < n; i++)
		len += strlen(groups[i]) + 1;
	if ((p = s = arena_alloc(&req->arena, len)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (i > 0)
			*p++ = ',';
		p = stpcpy(p, groups[i]);
	}
	*p = '\0';
	return s;
}

static void
verify_groups_json(yajl_gen g, const char *const *groups, size_t n)
{
	yajl_gen_array_open(g);
	for (size_t i = 0; i < n; i++)
		json_str(g, groups[i]);
	yajl_gen_array_close(g);
}

/*
 * This runs once per proxied request: one HMAC and one database round trip,
 * and no heap allocation beyond the request arena.
 */
enum error
verify_get(struct request *req)
{
	const struct authorization *a = &req->auth;
	struct pat_row row;
	struct fault f = { NULL, "" };
	const char *groups;
	char expires[25];
	enum error e;
	int team;

	if (a->scheme != AUTH_BEARER)
		return ERR_UNAUTHORIZED;
	if (a->malformed)
		return ERR_INVALID_TOKEN;
	if ((e = svc_check(&req->app->svc, &req->arena, a->cred, a->len,
	    auth_client_addr(req, req->app->auth.trusted_proxies), &row, &f)) != ERR_OK)
		return request_fault(req, e, &f);
	/*
	 * At the edge a team token is its group, not the member who made it:
	 * no X-Pat-Email, so a backend that keys on email never takes it for
	 * that person (CONTRACT 4).
	 */
	team = row.group != NULL;
	json_time_format(expires, row.expires_ms);
	groups = verify_groups_header(req, row.groups, row.ngroups);
	/* Stored identities hold no control characters; refuse to answer if one does. */
	if (groups == NULL || request_header(req, "X-Pat-Id", row.id) == -1 ||
	    request_header(req, "X-Pat-Kind", team ? "team" : "user") == -1 ||
	    (!team && request_header(req, "X-Pat-Email", row.email) == -1) ||
	    request_header(req, "X-Pat-Name", row.name) == -1 ||
	    request_header(req, "X-Pat-Groups", groups) == -1 ||
	    (row.has_expires && request_header(req, "X-Pat-Expires-At", expires) == -1)) {
		log_msg(LVL_ERROR, "event=unsafe_identity id=%s", row.id);
		return ERR_INTERNAL;
	}
	req->status = 200;
	yajl_gen_map_open(req->gen);
	json_str(req->gen, "active");
	yajl_gen_bool(req->gen, 1);
	json_key_str(req->gen, "id", row.id);
	json_key_str(req->gen, "kind", team ? "team" : "user");
	json_key_str(req->gen, "email", team ? NULL : row.email);
	json_key_str(req->gen, "name", row.name);
	json_str(req->gen, "groups");
	verify_groups_json(req->gen, row.groups, row.ngroups);
	json_key_time(req->gen, "expiresAt", row.expires_ms, !row.has_expires);
	if (team)
		json_key_str(req->gen, "createdBy", row.email);
	yajl_gen_map_close(req->gen);
	return ERR_OK;
}

/* Compare digests, so that the comparison's time says nothing about the secret. */
static int
verify_secret_equal(const char *given, size_t len, const char *secret)
{
	unsigned char a[32], b[32];
	unsigned int al = 0, bl = 0;

	if (EVP_Digest(given, len, a, &al, EVP_sha256(), NULL) != 1 ||
	    EVP_Digest(secret, strlen(secret), b, &bl, EVP_sha256(), NULL) != 1)
		return 0;
	return CRYPTO_memcmp(a, b, sizeof(a)) == 0;
}

/* The introspection client presents introspect_secret as Bearer or Basic. */
static int
introspect_client_ok(struct request *req)
{
	const char *secret = req->app->cfg.introspect_secret, *password;
	const struct authorization *a = &req->auth;
	char buf[HEADER_CRED_MAX];

	if (*secret == '\0' || a->malformed)
		return 0;
	if (a->scheme == AUTH_BEARER)
		return verify_secret_equal(a->cred, a->len, secret);
	/* user:password; the password is the secret. */
	if (a->scheme != AUTH_BASIC ||
	    header_basic_decode(a->cred, a->len, buf, sizeof(buf), &password) == -1)
		return 0;
	return verify_secret_equal(password, strlen(password), secret);
}

enum error
introspect_post(struct request *req)
{
	struct fault f = { NULL, "" };
	struct pat_row row;
	const char *token;
	char *sub;
	size_t len;
	enum error e;

	if (!introspect_client_ok(req))
		return request_fail(req, ERR_UNAUTHORIZED, NULL, "introspection "
		    "needs the introspect_secret as a Bearer or Basic credential");
	if ((e = request_body_read(req)) != ERR_OK)
		return e;
	if (req->media != MEDIA_FORM)
		return request_fail(req, ERR_MEDIA_TYPE, NULL, "the Content-Type "
		    "must be application/x-www-form-urlencoded");
	if (form_get(&req->arena, req->body, req->body_len, "token", &token, &len) != 1)
		return request_fail(req, ERR_BAD_REQUEST, "token",
		    "the form must hold one token parameter");

	req->status = 200;
	/* Only a refused token is inactive: an outage must not read as a revocation. */
	if ((e = svc_check(&req->app->svc, &req->arena, token, len,
	    auth_client_addr(req, req->app->auth.trusted_proxies), &row, &f)) != ERR_OK &&
	    e != ERR_INVALID_TOKEN)
		return e;
	yajl_gen_map_open(req->gen);
	json_str(req->gen, "active");
	yajl_gen_bool(req->gen, e == ERR_OK);
	if (e == ERR_OK) {
		/* The token's own sub: "<name> (Token)", or "<group> (Team Token)". */
		const char *suffix = row.group != NULL ? TOKEN_TEAM_SUFFIX :
		    TOKEN_NAME_SUFFIX;

		if ((sub = arena_alloc(&req->arena, strlen(row.name) +
		    strlen(suffix) + 1)) == NULL)
			return ERR_INTERNAL;
		strcpy(stpcpy(sub, row.name), suffix);
		json_key_str(req->gen, "sub", sub);
		json_key_str(req->gen, "username", row.name);
		if (row.group == NULL)
			json_key_str(req->gen, "email", row.email);
		if (row.has_expires)
			json_key_int(req->gen, "exp", row.expires_ms / 1000);
		json_key_int(req->gen, "iat", row.created_ms / 1000);
		json_key_str(req->gen, "jti", row.id);
		json_key_str(req->gen, "token_type", "Bearer");
		json_str(req->gen, "groups");
		verify_groups_json(req->gen, row.groups, row.ngroups);
	}
	yajl_gen_map_close(req->gen);
	return ERR_OK;
}
