/* fuzz_jwks.c - the JWKS loader. */
#include <stdint.h>
#include <stdlib.h>

#include "jwks.h"

#define JWKS_KEYS_MAX	64	/* as in src/jwks.c */

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jwks *keys;
	char err[256];

	err[0] = '\0';
	keys = jwks_parse((const char *)data, size, err, sizeof(err));
	/* A set holds at least one key and at most the cap; a refusal says why. */
	if (keys == NULL ? err[0] == '\0' :
	    jwks_count(keys) == 0 || jwks_count(keys) > JWKS_KEYS_MAX)
		abort();
	jwks_free(keys);
	return 0;
}
