/* fuzz_jose.c - the JOSE/JWT parser and verifiers: the PAT (HS256) and OIDC (RS256, ES256) paths. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "jose.h"
#include "jwks.h"

/* An RSA 2048 and an EC P-256 public key, made once with tests/e2e/oidc.py. */
static const char fuzz_jwks[] = "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"fuzz-rsa\",\"use\":\"sig\",\"alg\":\"RS256\",\"n\":\"ldk0ZSYOC1j3Wf8zjtp2SIVT5Xc6JQO7vpPlsFe7i7NHjiAjuyBPKd9yOu-se4tZHKhb5svt4OQp-FISzuGai85DIsmfwtvh06ynrUl8CuUsPoH7pyClM6kzsJgjAFDHIH0AJib7nz1lj-saskxdKloCYAW6apgJQxEDdXWsBckhpUWdVZRqnyh_6zK5uzHoVgWe54QvcGXSXuKAumc8J4sc5sn6LNaMQqd4iQC3HDKQTwjO9ebBmVLPhSQN5YhtqmPzElxJkvHjSz7K0X1JSBD0LiPKSGfMN8-nnHxnqHN5NRtA7kgm3i-bEan1unVa04Q7ByrixT689M0Z5UKWTQ\",\"e\":\"AQAB\"},{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"fuzz-ec\",\"use\":\"sig\",\"alg\":\"ES256\",\"x\":\"iLnul4AD_Fxwxx6KT4CIo8wl6jkgOgRxk0y4c2CVfm0\",\"y\":\"4tcYm-yTXyThwI6K8Q7AzJ-gIsSEEFouCnogj-WTytY\"}]}";

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct jose_hmac *key;
	static struct jwks *keys;
	static struct arena a;
	static struct jose j;
	struct jose_parts parts;
	struct jose_claims claims;
	unsigned char sig[64];
	ssize_t n;
	char err[128];

	if (key == NULL) {
		key = jose_hmac_new((const unsigned char *)
		    "0123456789abcdef0123456789abcdef", 32);
		keys = jwks_parse(fuzz_jwks, strlen(fuzz_jwks), err, sizeof(err));
		arena_init(&a, 4096);
		if (key == NULL || keys == NULL)
			abort();
	}
	/* The PAT path: split, HS256 in constant time. */
	if (jose_split((const char *)data, size, &parts) == 0 &&
	    (n = b64url_decode(sig, sizeof(sig), parts.seg[2], parts.len[2])) >= 0)
		(void)jose_hs256_verify(key, &parts, sig, (size_t)n);
	/* The OIDC path: header, key choice, signature, claims. */
	if (jose_parse(&j, (const char *)data, size) == 0) {
		(void)jwks_verify(keys, &j);
		(void)jose_claims_parse(&claims, j.payload, j.payload_len, &a);
	}
	/* The claims parser on its own, on raw input. */
	if (jose_claims_parse(&claims, (const char *)data, size, &a) == 0 &&
	    claims.naud > 0 && claims.aud == NULL)
		abort();
	arena_reset(&a);
	return 0;
}
