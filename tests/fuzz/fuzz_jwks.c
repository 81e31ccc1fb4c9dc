/* fuzz_jwks.c - the JWKS loader. */
#include <stdint.h>

#include "jwks.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];

	jwks_free(jwks_parse((const char *)data, size, err, sizeof(err)));
	return 0;
}
