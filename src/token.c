/*
 * token.c - the token format: Terrakube's HS256 JWT, signed and verified.
 * Pure: keys come in as a value, and nothing here knows HTTP or the store.
 */
#include "token.h"

#include <string.h>
#include <time.h>

#include "json.h"
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

int64_t
token_lifetime(const struct token_spec *spec)
{
	return spec->days * 86400 + spec->hours * 3600 + spec->minutes * 60;
}

/* "<text><suffix>" in the arena. */
static const char *
token_suffixed(struct arena *a, const char *text, const char *suffix)
{
	size_t n = strlen(text) + strlen(suffix) + 1;
	char *s;

	if ((s = arena_alloc(a, n)) == NULL)
		return NULL;
	strcpy(stpcpy(s, text), suffix);
	return s;
}

/* The owner's name as stored: one " (Token)" suffix is the token's, not the owner's. */
static const char *
token_owner_name(struct arena *a, const char *name)
{
	size_t n = strlen(name), sl = sizeof(TOKEN_NAME_SUFFIX) - 1;

	if (n > sl && strcmp(name + n - sl, TOKEN_NAME_SUFFIX) == 0)
		return arena_strndup(a, name, n - sl);
	return name;
}

enum error
token_sign(const struct token_keys *keys, yajl_gen g, struct arena *a,
    const struct caller *creator, const struct token_spec *spec, int64_t now_us,
    struct token_minted *m)
{
	const unsigned char *claims;
	const char *name, *sub, *display;
	size_t claims_len, i, cap;
	int64_t iat = now_us / 1000000, lifetime = token_lifetime(spec);

	memset(m, 0, sizeof(*m));
	if (uuid_v4(m->id) == -1)
		return ERR_INTERNAL;
	/* A PAT is its owner's; a team token is its group's (CONTRACT 4). */
	if (spec->group == NULL) {
		if ((name = token_owner_name(a, creator->name)) == NULL ||
		    (sub = display = token_suffixed(a, name, TOKEN_NAME_SUFFIX)) == NULL)
			return ERR_INTERNAL;
	} else {
		name = spec->group;
		if ((sub = token_suffixed(a, name, TOKEN_TEAM_SUFFIX)) == NULL ||
		    (display = token_suffixed(a, name, TOKEN_NAME_SUFFIX)) == NULL)
			return ERR_INTERNAL;
	}
	m->exp = lifetime > 0 ? iat + lifetime : 0;

	yajl_gen_reset(g, NULL);
	yajl_gen_clear(g);
	yajl_gen_map_open(g);
	json_key_str(g, "iss", keys->issuer);
	json_key_str(g, "sub", sub);
	json_str(g, "aud");
	yajl_gen_array_open(g);
	json_str(g, keys->audience);
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
	if (m->exp > 0)
		json_key_int(g, "exp", m->exp);
	yajl_gen_map_close(g);
	if (yajl_gen_get_buf(g, &claims, &claims_len) != yajl_gen_status_ok)
		return ERR_INTERNAL;

	/*
	 * A token longer than a check accepts could never be used: refuse to
	 * issue it.  Only a very large identity (many long groups) gets here.
	 */
	cap = sizeof(TOKEN_HEADER_B64) + B64URL_LEN(claims_len) + B64URL_LEN(32) + 3;
	if (cap > TOKEN_MAX)
		return ERR_FORBIDDEN;
	if ((m->token = arena_alloc(a, cap)) == NULL ||
	    jose_hs256_sign(keys->secret, m->token, cap, TOKEN_HEADER_B64,
	    (const char *)claims, claims_len) == 0 ||
	    token_hmac(keys, m->token, strlen(m->token), m->row.hmac) == -1)
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
	m->row.expires_ms = m->exp > 0 ? m->exp * 1000 : -1;
	return ERR_OK;
}

enum error
token_verify(const struct token_keys *keys, struct arena *a, const char *token,
    size_t len, int64_t now_ms, const char **jti, int64_t *exp_ms)
{
	unsigned char sig[32];
	struct jose_parts parts;
	struct jose_claims claims;
	char *payload;
	ssize_t n;

	*jti = NULL;
	/*
	 * Shape and signature first: garbage never reaches the database.  A
	 * secret rotated out still checks the tokens it signed.
	 */
	if (!token_is_pat(token, len) || jose_split(token, len, &parts) == -1 ||
	    b64url_decode(sig, sizeof(sig), parts.seg[2], parts.len[2]) != 32)
		return ERR_INVALID_TOKEN;
	if (jose_hs256_verify(keys->secret, &parts, sig, sizeof(sig)) == -1) {
		size_t i;

		for (i = 0; i < keys->nold_secrets; i++)
			if (jose_hs256_verify(keys->old_secrets[i], &parts, sig,
			    sizeof(sig)) == 0)
				break;
		if (i == keys->nold_secrets)
			return ERR_INVALID_TOKEN;
	}
	if ((payload = arena_alloc(a, parts.len[1] + 1)) == NULL)
		return ERR_INTERNAL;
	if ((n = b64url_decode((unsigned char *)payload, parts.len[1], parts.seg[1],
	    parts.len[1])) < 0 ||
	    jose_claims_parse(&claims, payload, (size_t)n, a) == -1 ||
	    claims.iss == NULL || strcmp(claims.iss, keys->issuer) != 0 ||
	    !jose_claims_has_aud(&claims, keys->audience) || claims.jti == NULL ||
	    (claims.has_exp && claims.exp * 1000 <= now_ms))
		return ERR_INVALID_TOKEN;
	*jti = claims.jti;
	*exp_ms = claims.has_exp ? claims.exp * 1000 : -1;
	return ERR_OK;
}

int
token_hmac(const struct token_keys *keys, const char *token, size_t len,
    unsigned char out[32])
{
	return jose_hmac(keys->pepper, token, len, out);
}
