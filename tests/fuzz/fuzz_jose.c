/* fuzz_jose.c - the JOSE/JWT parser and verifiers: the PAT (HS256) and OIDC (RS256, ES256) paths. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "jose.h"
#include "jwks.h"
#include "token.h"

/*
 * An RSA 2048 and an EC P-256 public key, made once with tests/e2e/oidc.py;
 * corpus/jose/rs256 and es256 are signed with their private halves, and
 * corpus/jose/pat with the HS256 key below, so the signed seeds verify.
 */
static const char fuzz_jwks[] = "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"fuzz-rsa\",\"use\":\"sig\",\"alg\":\"RS256\",\"n\":\"ldk0ZSYOC1j3Wf8zjtp2SIVT5Xc6JQO7vpPlsFe7i7NHjiAjuyBPKd9yOu-se4tZHKhb5svt4OQp-FISzuGai85DIsmfwtvh06ynrUl8CuUsPoH7pyClM6kzsJgjAFDHIH0AJib7nz1lj-saskxdKloCYAW6apgJQxEDdXWsBckhpUWdVZRqnyh_6zK5uzHoVgWe54QvcGXSXuKAumc8J4sc5sn6LNaMQqd4iQC3HDKQTwjO9ebBmVLPhSQN5YhtqmPzElxJkvHjSz7K0X1JSBD0LiPKSGfMN8-nnHxnqHN5NRtA7kgm3i-bEan1unVa04Q7ByrixT689M0Z5UKWTQ\",\"e\":\"AQAB\"},{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"fuzz-ec\",\"use\":\"sig\",\"alg\":\"ES256\",\"x\":\"iLnul4AD_Fxwxx6KT4CIo8wl6jkgOgRxk0y4c2CVfm0\",\"y\":\"4tcYm-yTXyThwI6K8Q7AzJ-gIsSEEFouCnogj-WTytY\"}]}";
static const char fuzz_secret[] = "0123456789abcdef0123456789abcdef";

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* What a caller reads from parsed claims is there to read. */
static void
claims_check(const struct jose_claims *c)
{
	size_t i;

	if ((c->naud > 0 && c->aud == NULL) || (c->ngroups > 0 && c->groups == NULL))
		abort();
	for (i = 0; i < c->naud; i++)
		(void)strlen(c->aud[i]);
	for (i = 0; i < c->ngroups; i++)
		(void)strlen(c->groups[i]);
	(void)jose_claims_has_aud(c, "Terrakube");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct jose_hmac *key;
	static struct jwks *keys;
	static struct arena a;
	static struct jose j;
	const char *token = (const char *)data;
	struct token_keys tkeys = { 0 };	/* no previous secrets or peppers */
	struct jose_parts parts;
	struct jose_claims claims;
	const char *jti;
	int64_t exp;
	char err[128];

	if (key == NULL) {
		key = jose_hmac_new((const unsigned char *)fuzz_secret,
		    sizeof(fuzz_secret) - 1);
		keys = jwks_parse(fuzz_jwks, strlen(fuzz_jwks), err, sizeof(err));
		arena_init(&a, 4096);
		if (key == NULL || jwks_count(keys) != 2)
			abort();
	}
	/* The split's own invariants. */
	if (jose_split(token, size, &parts) == 0 && (parts.seg[0] != token ||
	    parts.signed_len != parts.len[0] + 1 + parts.len[1] ||
	    parts.seg[2] + parts.len[2] != token + size))
		abort();
	/* The PAT path: the service's own check of a token before its row. */
	tkeys.secret = tkeys.pepper = key;
	tkeys.issuer = tkeys.audience = "Terrakube";
	if (token_verify(&tkeys, &a, token, size, 0, &jti, &exp) == ERR_OK && jti == NULL)
		abort();
	/* The OIDC path as auth_oidc walks it: header, key choice, signature, claims. */
	if (jose_parse(&j, token, size) == 0) {
		if (strlen(j.kid) >= sizeof(j.kid) || j.payload_len >= sizeof(j.payload))
			abort();
		(void)jwks_verify(keys, &j);
		if (jose_claims_parse(&claims, j.payload, j.payload_len, &a) == 0)
			claims_check(&claims);
	}
	/* The claims parser on its own, on raw input. */
	if (jose_claims_parse(&claims, token, size, &a) == 0)
		claims_check(&claims);
	arena_reset(&a);
	return 0;
}
