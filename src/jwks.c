/* jwks.c - OIDC signing keys from a JWKS file, re-read when the file changes. */
#include "jwks.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <yajl/yajl_tree.h>

#include "alloc.h"
#include "log.h"

#define JWKS_FILE_MAX	(1 << 20)
#define JWKS_KEYS_MAX	64

struct jwks_key {
	char		 kid[256];
	enum jose_alg	 alg;
	EVP_PKEY	*pkey;
};

struct jwks {
	struct jwks_key	*keys;
	size_t		 n;
};

static const char *
jwk_string(yajl_val jwk, const char *name)
{
	const char *path[] = { name, NULL };

	return YAJL_GET_STRING(yajl_tree_get(jwk, path, yajl_t_string));
}

static BIGNUM *
jwk_bignum(yajl_val jwk, const char *name)
{
	unsigned char buf[1024];
	const char *s = jwk_string(jwk, name);
	ssize_t n;

	if (s == NULL || (n = b64url_decode(buf, sizeof(buf), s, strlen(s))) <= 0)
		return NULL;
	return BN_bin2bn(buf, (int)n, NULL);
}

static EVP_PKEY *
jwk_fromdata(const char *type, OSSL_PARAM_BLD *bld)
{
	EVP_PKEY_CTX *ctx = NULL, *check = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY *pkey = NULL;

	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto done;
	if ((check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL ||
	    EVP_PKEY_public_check(check) != 1) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
done:
	EVP_PKEY_CTX_free(check);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pkey;
}

static EVP_PKEY *
jwk_rsa(yajl_val jwk)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	BIGNUM *n, *e;
	EVP_PKEY *pkey = NULL;

	n = jwk_bignum(jwk, "n");
	e = jwk_bignum(jwk, "e");
	/* At least 2048 bits, counted in the number, not in its padded encoding. */
	if (bld != NULL && n != NULL && e != NULL && BN_num_bits(n) >= 2048 &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) == 1 &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) == 1)
		pkey = jwk_fromdata("RSA", bld);
	BN_free(n);
	BN_free(e);
	OSSL_PARAM_BLD_free(bld);
	return pkey;
}

static EVP_PKEY *
jwk_ec(yajl_val jwk)
{
	unsigned char point[65];
	const char *x = jwk_string(jwk, "x"), *y = jwk_string(jwk, "y");
	const char *crv = jwk_string(jwk, "crv");
	OSSL_PARAM_BLD *bld;
	EVP_PKEY *pkey = NULL;

	if (crv == NULL || strcmp(crv, "P-256") != 0 || x == NULL || y == NULL ||
	    b64url_decode(point + 1, 32, x, strlen(x)) != 32 ||
	    b64url_decode(point + 33, 32, y, strlen(y)) != 32)
		return NULL;
	point[0] = 0x04;	/* uncompressed point */
	if ((bld = OSSL_PARAM_BLD_new()) != NULL &&
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    "prime256v1", 0) == 1 &&
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
	    point, sizeof(point)) == 1)
		pkey = jwk_fromdata("EC", bld);
	OSSL_PARAM_BLD_free(bld);
	return pkey;
}

/* Fill k from one JWK; 0 if usable, -1 to skip it. */
static int
jwk_load(struct jwks_key *k, yajl_val jwk)
{
	const char *kty = jwk_string(jwk, "kty"), *use = jwk_string(jwk, "use");
	const char *alg = jwk_string(jwk, "alg"), *kid = jwk_string(jwk, "kid");

	memset(k, 0, sizeof(*k));
	if (kty == NULL || (use != NULL && strcmp(use, "sig") != 0) ||
	    (kid != NULL && strlen(kid) >= sizeof(k->kid)))
		return -1;
	if (strcmp(kty, "RSA") == 0 && (alg == NULL || strcmp(alg, "RS256") == 0)) {
		k->alg = JOSE_ALG_RS256;
		k->pkey = jwk_rsa(jwk);
	} else if (strcmp(kty, "EC") == 0 &&
	    (alg == NULL || strcmp(alg, "ES256") == 0)) {
		k->alg = JOSE_ALG_ES256;
		k->pkey = jwk_ec(jwk);
	}
	if (k->pkey == NULL)
		return -1;
	if (kid != NULL)
		strcpy(k->kid, kid);
	return 0;
}

struct jwks *
jwks_parse(const char *json, size_t len, char *err, size_t errsz)
{
	const char *keys_path[] = { "keys", NULL };
	char *text, yerr[128];
	yajl_val root, keys;
	struct jwks *set;
	size_t i;

	text = xmalloc(len + 1);
	memcpy(text, json, len);
	text[len] = '\0';
	root = strlen(text) == len ? yajl_tree_parse(text, yerr, sizeof(yerr)) : NULL;
	free(text);
	if (root == NULL) {
		snprintf(err, errsz, "not valid JSON");
		return NULL;
	}
	if ((keys = yajl_tree_get(root, keys_path, yajl_t_array)) == NULL) {
		yajl_tree_free(root);
		snprintf(err, errsz, "no \"keys\" array");
		return NULL;
	}
	set = xcalloc(1, sizeof(*set));
	set->keys = xcalloc(JWKS_KEYS_MAX, sizeof(*set->keys));
	for (i = 0; i < YAJL_GET_ARRAY(keys)->len && set->n < JWKS_KEYS_MAX; i++)
		if (YAJL_IS_OBJECT(YAJL_GET_ARRAY(keys)->values[i]) &&
		    jwk_load(&set->keys[set->n], YAJL_GET_ARRAY(keys)->values[i]) == 0)
			set->n++;
	yajl_tree_free(root);
	if (set->n == 0) {
		jwks_free(set);
		snprintf(err, errsz, "no RS256 or ES256 (P-256) signing key");
		return NULL;
	}
	return set;
}

static char *
jwks_read(const char *path, size_t *lenp, struct stat *st)
{
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	if (fstat(fd, st) == 0 && st->st_size <= JWKS_FILE_MAX) {
		buf = xmalloc(JWKS_FILE_MAX + 1);
		while ((n = read(fd, buf + len, JWKS_FILE_MAX - len)) > 0)
			len += (size_t)n;
		if (n < 0) {
			free(buf);
			buf = NULL;
		}
	} else
		errno = EFBIG;
	close(fd);
	*lenp = len;
	return buf;
}

struct jwks *
jwks_load(const char *path, char *err, size_t errsz)
{
	struct stat st;
	struct jwks *set;
	size_t len;
	char *text, why[128];

	if ((text = jwks_read(path, &len, &st)) == NULL) {
		snprintf(err, errsz, "cannot read %s: %s", path, strerror(errno));
		return NULL;
	}
	set = jwks_parse(text, len, why, sizeof(why));
	free(text);
	if (set == NULL)
		snprintf(err, errsz, "%s: %s", path, why);
	return set;
}

void
jwks_free(struct jwks *set)
{
	if (set == NULL)
		return;
	for (size_t i = 0; i < set->n; i++)
		EVP_PKEY_free(set->keys[i].pkey);
	free(set->keys);
	free(set);
}

size_t
jwks_count(const struct jwks *set)
{
	return set != NULL ? set->n : 0;
}

int
jwks_verify(const struct jwks *set, const struct jose *j)
{
	if (set == NULL || (j->alg != JOSE_ALG_RS256 && j->alg != JOSE_ALG_ES256))
		return -1;
	for (size_t i = 0; i < set->n; i++) {
		const struct jwks_key *k = &set->keys[i];

		if (k->alg != j->alg || (j->kid[0] != '\0' && strcmp(k->kid, j->kid) != 0))
			continue;
		if (jose_pkey_verify(j, k->pkey) == 0)
			return 0;
	}
	return -1;
}

/* Record the file's stamp; all zero when it cannot be seen. */
static void
jwks_cache_stamp(struct jwks_cache *c, const struct stat *st)
{
	c->mtime = st->st_mtim;
	c->dev = st->st_dev;
	c->ino = st->st_ino;
	c->size = st->st_size;
}

/* Drop the keys and load the file again; a failure leaves none trusted. */
static void
jwks_cache_load(struct jwks_cache *c)
{
	jwks_free(c->keys);
	c->generation++;
	if ((c->keys = jwks_load(c->path, c->why, sizeof(c->why))) != NULL)
		c->why[0] = '\0';
}

void
jwks_cache_open(struct jwks_cache *c, const char *path)
{
	struct stat st;

	memset(c, 0, sizeof(*c));
	c->path = xstrdup(path);
	if (stat(path, &st) == 0)
		jwks_cache_stamp(c, &st);
	jwks_cache_load(c);
	if (c->keys == NULL)
		log_msg(LVL_WARN, "event=jwks_unusable reason=\"%s\" "
		    "action=\"identity tokens are refused until the file holds a key\"",
		    c->why);
}

const struct jwks *
jwks_cache_get(struct jwks_cache *c)
{
	struct stat st;

	if (c->path == NULL)
		return NULL;
	if (stat(c->path, &st) == -1) {
		if (c->keys != NULL || c->size != -1) {
			snprintf(c->why, sizeof(c->why), "cannot read %s: %s", c->path,
			    strerror(errno));
			jwks_free(c->keys);
			c->keys = NULL;
			c->generation++;
			memset(&c->mtime, 0, sizeof(c->mtime));
			c->size = -1;	/* seen missing: a file that comes back is new */
			log_msg(LVL_WARN, "event=jwks_unusable reason=\"%s\"", c->why);
		}
		return NULL;
	}
	if (st.st_mtim.tv_sec == c->mtime.tv_sec &&
	    st.st_mtim.tv_nsec == c->mtime.tv_nsec && st.st_ino == c->ino &&
	    st.st_dev == c->dev && st.st_size == c->size)
		return c->keys;
	jwks_cache_stamp(c, &st);
	jwks_cache_load(c);
	if (c->keys == NULL)
		log_msg(LVL_WARN, "event=jwks_unusable reason=\"%s\" "
		    "action=\"the keys loaded before are no longer trusted\"", c->why);
	else
		log_msg(LVL_INFO, "event=jwks_reloaded keys=%zu", c->keys->n);
	return c->keys;
}

void
jwks_cache_close(struct jwks_cache *c)
{
	jwks_free(c->keys);
	free(c->path);
	memset(c, 0, sizeof(*c));
}
