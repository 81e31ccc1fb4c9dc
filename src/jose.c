/* jose.c - compact JWS and JWT claims over libcrypto (RFC 7515, 7518, 7519). */
#include "jose.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/bn.h>
#include <yajl/yajl_parse.h>
#include <yajl/yajl_tree.h>

#include "utf8.h"

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t
b64url_encode(char *dst, const unsigned char *src, size_t n)
{
	size_t i, o = 0;

	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)src[i] << 16 | src[i + 1] << 8 | src[i + 2];
		dst[o++] = b64url_alphabet[v >> 18 & 63];
		dst[o++] = b64url_alphabet[v >> 12 & 63];
		dst[o++] = b64url_alphabet[v >> 6 & 63];
		dst[o++] = b64url_alphabet[v & 63];
	}
	if (n - i == 1) {
		dst[o++] = b64url_alphabet[src[i] >> 2];
		dst[o++] = b64url_alphabet[(src[i] & 3) << 4];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)src[i] << 8 | src[i + 1];
		dst[o++] = b64url_alphabet[v >> 10 & 63];
		dst[o++] = b64url_alphabet[v >> 4 & 63];
		dst[o++] = b64url_alphabet[(v & 15) << 2];
	}
	dst[o] = '\0';
	return o;
}

static int
b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

ssize_t
b64url_decode(unsigned char *dst, size_t dstsz, const char *src, size_t n)
{
	uint32_t acc = 0;
	size_t i, o = 0;
	int bits = 0, v;

	if (n % 4 == 1 || n > SIZE_MAX / 3 || (n * 3) / 4 > dstsz)
		return -1;
	for (i = 0; i < n; i++) {
		if ((v = b64url_value((unsigned char)src[i])) < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		if ((bits += 6) >= 8) {
			bits -= 8;
			dst[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc != 0)		/* non-canonical: unused low bits set */
		return -1;
	return (ssize_t)o;
}

int
jose_split(const char *token, size_t len, struct jose_parts *p)
{
	const char *d1, *d2;

	if (len == 0 || len > JOSE_TOKEN_MAX ||
	    (d1 = memchr(token, '.', len)) == NULL ||
	    (d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token))) == NULL ||
	    memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)) != NULL)
		return -1;
	p->seg[0] = token;
	p->len[0] = (size_t)(d1 - token);
	p->seg[1] = d1 + 1;
	p->len[1] = (size_t)(d2 - d1 - 1);
	p->seg[2] = d2 + 1;
	p->len[2] = len - (size_t)(d2 + 1 - token);
	p->signed_len = (size_t)(d2 - token);
	return (p->len[0] == 0 || p->len[1] == 0 || p->len[2] == 0) ? -1 : 0;
}

/* RFC 7515 4: a header with a member named twice is refused. */
static int
jose_has_duplicates(yajl_val obj)
{
	size_t i, k, n = YAJL_GET_OBJECT(obj)->len;

	for (i = 0; i < n; i++)
		for (k = i + 1; k < n; k++)
			if (strcmp(YAJL_GET_OBJECT(obj)->keys[i],
			    YAJL_GET_OBJECT(obj)->keys[k]) == 0)
				return 1;
	return 0;
}

int
jose_parse(struct jose *j, const char *token, size_t len)
{
	const char *alg_path[] = { "alg", NULL }, *kid_path[] = { "kid", NULL };
	const char *crit_path[] = { "crit", NULL }, *alg, *kid;
	char header[1024];
	yajl_val root;
	ssize_t n;
	int rc = -1;

	memset(j, 0, offsetof(struct jose, payload));
	if (jose_split(token, len, &j->parts) == -1 ||
	    (n = b64url_decode((unsigned char *)header, sizeof(header) - 1,
	    j->parts.seg[0], j->parts.len[0])) < 0)
		return -1;
	header[n] = '\0';
	if (strlen(header) != (size_t)n)
		return -1;	/* a NUL inside the header */
	if ((n = b64url_decode((unsigned char *)j->payload, sizeof(j->payload) - 1,
	    j->parts.seg[1], j->parts.len[1])) < 0)
		return -1;
	j->payload[n] = '\0';
	j->payload_len = (size_t)n;
	if ((n = b64url_decode(j->sig, sizeof(j->sig), j->parts.seg[2],
	    j->parts.len[2])) < 0)
		return -1;
	j->sig_len = (size_t)n;

	/* A NUL inside a member ("HS256\u0000x") would pass for a shorter name. */
	if (strstr(header, "\\u0000") != NULL ||
	    (root = yajl_tree_parse(header, NULL, 0)) == NULL)
		return -1;
	alg = YAJL_GET_STRING(yajl_tree_get(root, alg_path, yajl_t_string));
	kid = YAJL_GET_STRING(yajl_tree_get(root, kid_path, yajl_t_string));
	if (!YAJL_IS_OBJECT(root) || alg == NULL || jose_has_duplicates(root) ||
	    yajl_tree_get(root, crit_path, yajl_t_any) != NULL ||
	    (yajl_tree_get(root, kid_path, yajl_t_any) != NULL && kid == NULL))
		goto done;
	if (strcmp(alg, "HS256") == 0)
		j->alg = JOSE_ALG_HS256;
	else if (strcmp(alg, "RS256") == 0)
		j->alg = JOSE_ALG_RS256;
	else if (strcmp(alg, "ES256") == 0)
		j->alg = JOSE_ALG_ES256;
	if (kid != NULL) {
		if (strlen(kid) >= sizeof(j->kid))
			goto done;
		strcpy(j->kid, kid);
	}
	rc = 0;
done:
	yajl_tree_free(root);
	return rc;
}

/* ------------------------------------------------------------------ claims */

enum claim {
	CL_NONE, CL_ISS, CL_SUB, CL_JTI, CL_EMAIL, CL_NAME, CL_AUD, CL_GROUPS,
	CL_EXP, CL_NBF, CL_IAT, CL_EMAIL_VERIFIED, CL_OTHER
};

static const char *const claim_names[] = {
	[CL_ISS] = "iss", [CL_SUB] = "sub", [CL_JTI] = "jti", [CL_EMAIL] = "email",
	[CL_NAME] = "name", [CL_AUD] = "aud", [CL_GROUPS] = "groups",
	[CL_EXP] = "exp", [CL_NBF] = "nbf", [CL_IAT] = "iat",
	[CL_EMAIL_VERIFIED] = "email_verified",
};

struct claims_state {
	struct jose_claims	*c;
	struct arena		*arena;
	enum claim		 key;		/* the depth-1 key being read */
	unsigned		 seen;		/* bit per claim */
	int			 depth;		/* maps and arrays open */
	int			 in_array;	/* inside aud or groups */
	size_t			 cap;
};

static int
claims_string_list(struct claims_state *s, const char ***list, size_t *n,
    const char *v)
{
	const char **grown;

	if (*n == s->cap) {
		if (s->cap >= 1024)
			return 0;
		s->cap = s->cap ? s->cap * 2 : 8;
		if ((grown = arena_alloc(s->arena, s->cap * sizeof(*grown))) == NULL)
			return 0;
		if (*n > 0)
			memcpy(grown, *list, *n * sizeof(*grown));
		*list = grown;
	}
	(*list)[(*n)++] = v;
	return 1;
}

static int
claims_on_string(void *ctx, const unsigned char *v, size_t len)
{
	struct claims_state *s = ctx;
	struct jose_claims *c = s->c;
	char *str;

	if (s->depth > 2 || (s->depth == 2 && !s->in_array))
		return 1;
	if (s->key == CL_OTHER)
		return 1;
	if (s->key == CL_EMAIL_VERIFIED && !s->in_array) {
		c->has_email_verified = 1;	/* "true" is a string, not true */
		return 1;
	}
	if (memchr(v, '\0', len) != NULL || !utf8_valid((const char *)v, len) ||
	    (str = arena_strndup(s->arena, (const char *)v, len)) == NULL)
		return 0;
	if (s->in_array)
		return s->key == CL_AUD ? claims_string_list(s, &c->aud, &c->naud, str)
		    : claims_string_list(s, &c->groups, &c->ngroups, str);
	switch (s->key) {
	case CL_ISS: c->iss = str; return 1;
	case CL_SUB: c->sub = str; return 1;
	case CL_JTI: c->jti = str; return 1;
	case CL_EMAIL: c->email = str; return 1;
	case CL_NAME: c->name = str; return 1;
	case CL_AUD:
		if ((c->aud = arena_alloc(s->arena, sizeof(*c->aud))) == NULL)
			return 0;
		c->aud[0] = str;
		c->naud = 1;
		return 1;
	default: return 0;
	}
}

static int
claims_on_number(void *ctx, const char *v, size_t len)
{
	struct claims_state *s = ctx;
	char buf[64], *end;
	double d;

	if (s->in_array)
		return 0;
	if (s->depth != 1 || s->key == CL_OTHER)
		return 1;
	if (s->key == CL_EMAIL_VERIFIED) {
		s->c->has_email_verified = 1;
		return 1;
	}
	if (s->key != CL_EXP && s->key != CL_NBF && s->key != CL_IAT)
		return 0;
	if (len >= sizeof(buf))
		return 0;
	memcpy(buf, v, len);
	buf[len] = '\0';
	errno = 0;
	d = strtod(buf, &end);
	if (*end != '\0' || errno != 0 || !isfinite(d) || d < 0 || d > 4e12)
		return 0;
	if (s->key == CL_EXP)
		s->c->exp = (int64_t)d, s->c->has_exp = 1;
	else if (s->key == CL_NBF)
		s->c->nbf = (int64_t)d, s->c->has_nbf = 1;
	else
		s->c->iat = (int64_t)d, s->c->has_iat = 1;
	return 1;
}

/* null, booleans: only harmless where the claim is not one we read. */
static int
claims_on_scalar(void *ctx)
{
	struct claims_state *s = ctx;

	if (!s->in_array && s->depth == 1 && s->key == CL_EMAIL_VERIFIED) {
		s->c->has_email_verified = 1;
		return 1;
	}
	return !s->in_array && (s->depth > 1 || s->key == CL_OTHER);
}

static int
claims_on_bool(void *ctx, int b)
{
	struct claims_state *s = ctx;

	if (!s->in_array && s->depth == 1 && s->key == CL_EMAIL_VERIFIED) {
		s->c->has_email_verified = 1;
		s->c->email_verified = b != 0;
		return 1;
	}
	return claims_on_scalar(ctx);
}

static int
claims_on_map_key(void *ctx, const unsigned char *k, size_t len)
{
	struct claims_state *s = ctx;
	size_t i;

	if (s->depth != 1)
		return 1;
	s->key = CL_OTHER;
	for (i = CL_ISS; i < CL_OTHER; i++)
		if (strlen(claim_names[i]) == len && memcmp(claim_names[i], k, len) == 0) {
			if (s->seen & 1u << i)
				return 0;	/* a duplicate claim */
			s->seen |= 1u << i;
			s->key = (enum claim)i;
		}
	return 1;
}

static int
claims_on_start_map(void *ctx)
{
	struct claims_state *s = ctx;

	if (s->depth >= 1 && s->key != CL_OTHER)
		return 0;
	return ++s->depth < 32;
}

static int
claims_on_end(void *ctx)
{
	struct claims_state *s = ctx;

	if (s->depth == 2 && s->in_array)
		s->in_array = 0;
	s->depth--;
	return 1;
}

static int
claims_on_start_array(void *ctx)
{
	struct claims_state *s = ctx;

	if (s->depth == 0)
		return 0;
	if (s->depth == 1 && s->key != CL_OTHER) {
		if (s->key != CL_AUD && s->key != CL_GROUPS)
			return 0;
		s->in_array = 1;
		s->cap = 0;
		if (s->key == CL_GROUPS &&
		    (s->c->groups = arena_alloc(s->arena, sizeof(char *))) == NULL)
			return 0;
	} else if (s->in_array)
		return 0;	/* arrays inside aud or groups */
	return ++s->depth < 32;
}

static const yajl_callbacks claims_callbacks = {
	claims_on_scalar, claims_on_bool, NULL, NULL, claims_on_number,
	claims_on_string, claims_on_start_map, claims_on_map_key, claims_on_end,
	claims_on_start_array, claims_on_end
};

int
jose_claims_parse(struct jose_claims *c, const char *json, size_t len,
    struct arena *arena)
{
	yajl_alloc_funcs afs = { arena_yajl_malloc, arena_yajl_realloc,
	    arena_yajl_free, arena };
	struct claims_state s;
	yajl_handle h;
	int ok;

	memset(c, 0, sizeof(*c));
	memset(&s, 0, sizeof(s));
	s.c = c;
	s.arena = arena;
	if (len == 0 || json[0] != '{' ||
	    (h = yajl_alloc(&claims_callbacks, &afs, &s)) == NULL)
		return -1;
	ok = yajl_parse(h, (const unsigned char *)json, len) == yajl_status_ok &&
	    yajl_complete_parse(h) == yajl_status_ok;
	yajl_free(h);
	return ok ? 0 : -1;
}

int
jose_claims_has_aud(const struct jose_claims *c, const char *aud)
{
	for (size_t i = 0; i < c->naud; i++)
		if (strcmp(c->aud[i], aud) == 0)
			return 1;
	return 0;
}

/* ------------------------------------------------------------------ HMAC */

struct jose_hmac {
	EVP_MAC_CTX	*ctx;
};

struct jose_hmac *
jose_hmac_new(const unsigned char *key, size_t len)
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_END
	};
	struct jose_hmac *h;
	EVP_MAC *mac;

	if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
		return NULL;
	h = xcalloc(1, sizeof(*h));
	h->ctx = EVP_MAC_CTX_new(mac);
	EVP_MAC_free(mac);
	if (h->ctx == NULL || EVP_MAC_init(h->ctx, key, len, params) != 1) {
		jose_hmac_free(h);
		return NULL;
	}
	return h;
}

void
jose_hmac_free(struct jose_hmac *h)
{
	if (h == NULL)
		return;
	EVP_MAC_CTX_free(h->ctx);
	free(h);
}

int
jose_hmac(struct jose_hmac *h, const void *msg, size_t len, unsigned char out[32])
{
	size_t outlen = 0;

	/* A NULL key re-initialises with the key given to jose_hmac_new. */
	if (EVP_MAC_init(h->ctx, NULL, 0, NULL) != 1 ||
	    EVP_MAC_update(h->ctx, msg, len) != 1 ||
	    EVP_MAC_final(h->ctx, out, &outlen, 32) != 1 || outlen != 32)
		return -1;
	return 0;
}

size_t
jose_hs256_sign(struct jose_hmac *h, char *out, size_t outsz,
    const char *header_b64, const char *payload_json, size_t payload_len)
{
	size_t hl = strlen(header_b64), n;
	unsigned char mac[32];

	if (outsz < hl + 1 + B64URL_LEN(payload_len) + 1 + B64URL_LEN(32) + 1)
		return 0;
	memcpy(out, header_b64, hl);
	out[hl] = '.';
	n = hl + 1 + b64url_encode(out + hl + 1,
	    (const unsigned char *)payload_json, payload_len);
	if (jose_hmac(h, out, n, mac) == -1)
		return 0;
	out[n++] = '.';
	n += b64url_encode(out + n, mac, sizeof(mac));
	OPENSSL_cleanse(mac, sizeof(mac));
	return n;
}

int
jose_hs256_verify(struct jose_hmac *h, const struct jose_parts *p,
    const unsigned char *sig, size_t sig_len)
{
	unsigned char mac[32];

	if (sig_len != sizeof(mac) || jose_hmac(h, p->seg[0], p->signed_len, mac) == -1)
		return -1;
	return CRYPTO_memcmp(mac, sig, sizeof(mac)) == 0 ? 0 : -1;
}

/* ------------------------------------------------------------------ RS256, ES256 */

/* JWS carries ECDSA signatures as r || s (RFC 7518 3.4); OpenSSL wants DER. */
static int
jose_es256_der(const unsigned char *raw, size_t len, unsigned char **der)
{
	ECDSA_SIG *sig;
	BIGNUM *r, *s;
	int n;

	if (len != 64 || (sig = ECDSA_SIG_new()) == NULL)
		return -1;
	r = BN_bin2bn(raw, 32, NULL);
	s = BN_bin2bn(raw + 32, 32, NULL);
	if (r == NULL || s == NULL || ECDSA_SIG_set0(sig, r, s) != 1) {
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(sig);
		return -1;
	}
	*der = NULL;
	n = i2d_ECDSA_SIG(sig, der);
	ECDSA_SIG_free(sig);
	return n;
}

int
jose_pkey_verify(const struct jose *j, EVP_PKEY *key)
{
	const unsigned char *sig = j->sig;
	unsigned char *der = NULL;
	size_t sig_len = j->sig_len;
	EVP_MD_CTX *md;
	int n, ok = 0;

	if (j->alg == JOSE_ALG_RS256) {
		if (!EVP_PKEY_is_a(key, "RSA"))
			return -1;
	} else if (j->alg == JOSE_ALG_ES256) {
		if (!EVP_PKEY_is_a(key, "EC") ||
		    (n = jose_es256_der(j->sig, j->sig_len, &der)) <= 0)
			return -1;
		sig = der;
		sig_len = (size_t)n;
	} else
		return -1;
	if ((md = EVP_MD_CTX_new()) != NULL &&
	    EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1)
		ok = EVP_DigestVerify(md, sig, sig_len,
		    (const unsigned char *)j->parts.seg[0], j->parts.signed_len) == 1;
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	return ok ? 0 : -1;
}
