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

/* Groups joined by commas for X-Pat-Groups, in the arena. */
static const char *
verify_groups_header(struct request *req, const char *joined)
{
	char *s = arena_strndup(&req->arena, joined, strlen(joined));

	for (char *p = s; p != NULL && *p != '\0'; p++)
		if (*p == DB_GROUP_SEP[0])
			*p = ',';
	return s;
}

static void
verify_groups_json(struct request *req, yajl_gen g, const char *joined)
{
	const char **groups;
	size_t n, i;

	yajl_gen_array_open(g);
	if (token_groups_split(req, joined, &groups, &n) == 0)
		for (i = 0; i < n; i++)
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
	struct pat_row row;
	const char *token, *groups;
	size_t len;
	enum error e;

	if (auth_bearer(req, &token, &len) == -1)
		return ERR_INVALID_TOKEN;
	if (token == NULL)
		return ERR_UNAUTHORIZED;
	if ((e = token_check(req, token, len, auth_client_addr(req), &row)) != ERR_OK)
		return e;
	groups = verify_groups_header(req, row.groups);
	/* Stored identities hold no control characters; refuse to answer if one does. */
	if (groups == NULL || request_header(req, "X-Pat-Id", row.id) == -1 ||
	    request_header(req, "X-Pat-Email", row.email) == -1 ||
	    request_header(req, "X-Pat-Name", row.name) == -1 ||
	    request_header(req, "X-Pat-Groups", groups) == -1) {
		log_msg(LVL_ERROR, "event=unsafe_identity id=%s", row.id);
		return ERR_INTERNAL;
	}
	req->status = 200;
	yajl_gen_map_open(req->gen);
	json_str(req->gen, "active");
	yajl_gen_bool(req->gen, 1);
	json_key_str(req->gen, "id", row.id);
	json_key_str(req->gen, "email", row.email);
	json_key_str(req->gen, "name", row.name);
	json_str(req->gen, "groups");
	verify_groups_json(req, req->gen, row.groups);
	json_key_time(req->gen, "expiresAt", row.expires_ms, !row.has_expires);
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
	const char *secret = req->app->cfg.introspect_secret;
	const char *h = request_env(req, "HTTP_AUTHORIZATION"), *colon;
	unsigned char buf[512];
	int n;

	if (*secret == '\0' || h == NULL)
		return 0;
	while (*h == ' ')
		h++;
	if (strncasecmp(h, "Bearer ", 7) == 0) {
		for (h += 7; *h == ' '; h++)
			;
		return verify_secret_equal(h, strlen(h), secret);
	}
	if (strncasecmp(h, "Basic ", 6) != 0)
		return 0;
	for (h += 6; *h == ' '; h++)
		;
	/* user:password in standard base64; the password is the secret. */
	if (strlen(h) > 4 * (sizeof(buf) / 3) ||
	    (n = EVP_DecodeBlock(buf, (const unsigned char *)h, (int)strlen(h))) < 0)
		return 0;
	while (n > 0 && buf[n - 1] == '\0' && h[strlen(h) - 1] == '=')
		n--;	/* EVP_DecodeBlock counts padding as zero bytes */
	if ((colon = memchr(buf, ':', (size_t)n)) == NULL)
		return 0;
	colon++;
	return verify_secret_equal(colon, (size_t)n - (size_t)(colon - (char *)buf),
	    secret);
}

enum error
introspect_post(struct request *req)
{
	struct pat_row row;
	const char *token, *ct;
	char *sub;
	size_t len;
	enum error e;

	if (!introspect_client_ok(req))
		return request_fail(req, ERR_UNAUTHORIZED, NULL, "introspection "
		    "needs the introspect_secret as a Bearer or Basic credential");
	if ((e = request_body_read(req)) != ERR_OK)
		return e;
	ct = request_env(req, "CONTENT_TYPE");
	if (ct == NULL || strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0 ||
	    (ct[33] != '\0' && ct[33] != ';' && ct[33] != ' '))
		return request_fail(req, ERR_MEDIA_TYPE, NULL, "the Content-Type "
		    "must be application/x-www-form-urlencoded");
	if (form_get(&req->arena, req->body, req->body_len, "token", &token, &len) != 1)
		return request_fail(req, ERR_BAD_REQUEST, "token",
		    "the form must hold one token parameter");

	req->status = 200;
	e = token_check(req, token, len, auth_client_addr(req), &row);
	if (e == ERR_UNAVAILABLE || e == ERR_SCHEMA || e == ERR_INTERNAL)
		return e;
	yajl_gen_map_open(req->gen);
	json_str(req->gen, "active");
	yajl_gen_bool(req->gen, e == ERR_OK);
	if (e == ERR_OK) {
		size_t n = strlen(row.name) + sizeof(TOKEN_NAME_SUFFIX);

		if ((sub = arena_alloc(&req->arena, n)) == NULL)
			return ERR_INTERNAL;
		strcpy(stpcpy(sub, row.name), TOKEN_NAME_SUFFIX);
		json_key_str(req->gen, "sub", sub);
		json_key_str(req->gen, "username", row.name);
		json_key_str(req->gen, "email", row.email);
		if (row.has_expires)
			json_key_int(req->gen, "exp", row.expires_ms / 1000);
		json_key_int(req->gen, "iat", row.created_ms / 1000);
		json_key_str(req->gen, "jti", row.id);
		json_key_str(req->gen, "token_type", "Bearer");
		json_str(req->gen, "groups");
		verify_groups_json(req, req->gen, row.groups);
	}
	yajl_gen_map_close(req->gen);
	return ERR_OK;
}
