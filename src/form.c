/* form.c - application/x-www-form-urlencoded bodies (introspection requests). */
#include "form.h"

#include <sys/types.h>

#include <string.h>

static int
form_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode s[0..n) into out (at least n bytes); returns the length or -1. */
static ssize_t
form_decode(char *out, const char *s, size_t n)
{
	size_t i, o = 0;
	int hi, lo;

	for (i = 0; i < n; i++) {
		if (s[i] == '+')
			out[o++] = ' ';
		else if (s[i] != '%')
			out[o++] = s[i];
		else if (i + 2 < n && (hi = form_hex(s[i + 1])) >= 0 &&
		    (lo = form_hex(s[i + 2])) >= 0) {
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else
			return -1;
	}
	return (ssize_t)o;
}

int
form_get(struct arena *a, const char *body, size_t len, const char *name,
    const char **value, size_t *vlen)
{
	const char *p = body, *end = body + len, *amp, *eq;
	size_t nl = strlen(name), vl;
	int found = 0;
	char *key, *buf;
	ssize_t kl, n;

	*value = NULL;
	*vlen = 0;
	while (p < end) {
		if ((amp = memchr(p, '&', (size_t)(end - p))) == NULL)
			amp = end;
		if ((eq = memchr(p, '=', (size_t)(amp - p))) == NULL)
			eq = amp;
		if ((key = arena_alloc(a, (size_t)(eq - p) + 1)) == NULL ||
		    (kl = form_decode(key, p, (size_t)(eq - p))) < 0)
			goto err;
		vl = eq < amp ? (size_t)(amp - eq - 1) : 0;
		/* Every value is decoded, so a malformed one anywhere is noticed. */
		if ((buf = arena_alloc(a, vl + 1)) == NULL ||
		    (n = form_decode(buf, eq < amp ? eq + 1 : amp, vl)) < 0)
			goto err;
		buf[n] = '\0';
		if ((size_t)kl == nl && memcmp(key, name, nl) == 0 && found++ == 0) {
			*value = buf;
			*vlen = (size_t)n;
		}
		p = amp + 1;
	}
	return found;
err:
	*value = NULL;
	*vlen = 0;
	return -1;
}
