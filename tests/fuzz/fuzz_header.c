/*
 * fuzz_header.c - the request headers: Authorization, Content-Type and a
 * Basic credential's base64, each given the whole input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "header.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
token68_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' && strchr("-._~+/=", c) != NULL);
}

/* A credential lies inside the header, and a usable one is all token68. */
static void
check_authorization(const char *h)
{
	struct authorization a;
	size_t hl = strlen(h);

	header_authorization(h, &a);
	if (a.scheme != AUTH_BEARER && a.scheme != AUTH_BASIC && a.scheme != AUTH_OTHER)
		abort();
	if (a.cred != NULL && (a.cred < h || a.len > hl ||
	    (size_t)(a.cred - h) > hl - a.len))
		abort();
	if (a.scheme == AUTH_OTHER && (a.cred != NULL || a.malformed))
		abort();
	if ((a.scheme == AUTH_BEARER || a.scheme == AUTH_BASIC) && !a.malformed) {
		if (a.cred == NULL || a.len == 0 || a.len > HEADER_CRED_MAX ||
		    (a.cred[-1] != ' ' && a.cred[-1] != '\t'))
			abort();
		for (size_t i = 0; i < a.len; i++)
			if (!token68_char(a.cred[i]) || (a.cred[i] == '=' &&
			    i + 1 < a.len && a.cred[i + 1] != '='))
				abort();
	}
	header_authorization(NULL, &a);
	if (a.scheme != AUTH_NONE || a.cred != NULL)
		abort();
}

/* JSON and form only for application/..., and nothing without a header. */
static void
check_media_type(const char *h)
{
	enum media_type m = header_media_type(h);
	const char *p = h + strspn(h, " \t");

	if (m != MEDIA_JSON && m != MEDIA_FORM && m != MEDIA_OTHER)
		abort();
	if ((m == MEDIA_JSON || m == MEDIA_FORM) && strncasecmp(p, "application/", 12) != 0)
		abort();
	if (m == MEDIA_JSON && strncasecmp(p + 12, "json", 4) != 0 &&
	    strcasestr(p, "+json") == NULL)
		abort();
	if (header_media_type(NULL) != MEDIA_NONE)
		abort();
}

/*
 * A decode never writes past its buffer (exactly bufsz bytes, so that ASan
 * sees one byte too many), and reads only the len bytes it is given; what
 * it gives back is "user\0password\0" inside the buffer.
 */
static void
check_basic(const uint8_t *data, size_t size)
{
	/* The first byte sizes the buffer: 1 to 64 bytes, or 1024 more. */
	size_t bufsz = size > 0 ? data[0] % 64 + (data[0] & 0x80 ? 1024 : 1) : 16;
	size_t len = size > 0 ? size - 1 : 0, ul, pl;
	char *cred = malloc(len > 0 ? len : 1), *buf = malloc(bufsz);
	const char *password = NULL;

	if (cred == NULL || buf == NULL)
		abort();
	memcpy(cred, data + (size > 0), len);
	if (header_basic_decode(cred, len, buf, bufsz, &password) == 0) {
		ul = strnlen(buf, bufsz);
		if (ul >= bufsz || password != buf + ul + 1)
			abort();
		pl = strnlen(password, bufsz - ul - 1);
		if (pl >= bufsz - ul - 1 || ul + 1 + pl > len * 3 / 4)
			abort();
		for (size_t i = 0; i < len; i++)
			if (!token68_char(cred[i]) || cred[i] == '-' || cred[i] == '_' ||
			    cred[i] == '.' || cred[i] == '~')
				abort();
	}
	free(cred);
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *h = malloc(size + 1);

	if (h == NULL)
		abort();
	memcpy(h, data, size);
	h[size] = '\0';
	check_authorization(h);
	check_media_type(h);
	free(h);
	check_basic(data, size);
	return 0;
}
