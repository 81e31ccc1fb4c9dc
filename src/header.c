/* header.c - the request headers patgate reads, each parsed by one set of rules. */
#include "header.h"

#include <string.h>
#include <strings.h>

#include "jose.h"

static int
header_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* RFC 9110 5.6.2 tchar. */
static int
header_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* RFC 9110 11.2 token68, with its trailing '=' padding. */
static int
header_token68(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
	    (s[i] >= '0' && s[i] <= '9') || (s[i] != '\0' && strchr("-._~+/", s[i]) != NULL)))
		i++;
	if (i == 0)
		return 0;
	while (i < n && s[i] == '=')
		i++;
	return i == n;
}

void
header_authorization(const char *h, struct authorization *a)
{
	const char *scheme, *end;
	size_t sl;

	memset(a, 0, sizeof(*a));
	if (h == NULL)
		return;
	while (header_ows(*h))
		h++;
	for (scheme = h; header_tchar(*h); h++)
		;
	sl = (size_t)(h - scheme);
	if (sl == 6 && strncasecmp(scheme, "Bearer", 6) == 0)
		a->scheme = AUTH_BEARER;
	else if (sl == 5 && strncasecmp(scheme, "Basic", 5) == 0)
		a->scheme = AUTH_BASIC;
	else {
		a->scheme = AUTH_OTHER;
		return;
	}
	if (*h != '\0' && !header_ows(*h)) {
		a->malformed = 1;	/* "Bearerx", "Basic:" */
		return;
	}
	while (header_ows(*h))
		h++;
	end = h + strlen(h);
	while (end > h && header_ows(end[-1]))
		end--;
	a->cred = h;
	a->len = (size_t)(end - h);
	if (a->len == 0 || a->len > HEADER_CRED_MAX || !header_token68(h, a->len))
		a->malformed = 1;
}

enum media_type
header_media_type(const char *v)
{
	const char *type, *sub;
	size_t tl, sl;

	if (v == NULL)
		return MEDIA_NONE;
	while (header_ows(*v))
		v++;
	for (type = v; header_tchar(*v); v++)
		;
	tl = (size_t)(v - type);
	if (*v++ != '/')
		return MEDIA_OTHER;
	for (sub = v; header_tchar(*v); v++)
		;
	sl = (size_t)(v - sub);
	while (header_ows(*v))
		v++;
	if ((*v != '\0' && *v != ';') || tl != 11 ||
	    strncasecmp(type, "application", 11) != 0)
		return MEDIA_OTHER;
	if ((sl == 4 && strncasecmp(sub, "json", 4) == 0) ||
	    (sl > 5 && strncasecmp(sub + sl - 5, "+json", 5) == 0))
		return MEDIA_JSON;
	if (sl == 21 && strncasecmp(sub, "x-www-form-urlencoded", 21) == 0)
		return MEDIA_FORM;
	return MEDIA_OTHER;
}

int
header_basic_decode(const char *cred, size_t len, char *buf, size_t bufsz,
    const char **password)
{
	char b64url[HEADER_CRED_MAX];
	size_t i, pad = 0;
	ssize_t n;
	char *colon;

	/* Standard base64 with its padding, read by the strict base64url decoder. */
	while (pad < len && pad < 2 && cred[len - 1 - pad] == '=')
		pad++;
	if (len == 0 || (pad > 0 && len % 4 != 0) || len > sizeof(b64url))
		return -1;
	for (i = 0; i < len - pad; i++) {
		if (cred[i] == '-' || cred[i] == '_' || cred[i] == '=')
			return -1;
		b64url[i] = cred[i] == '+' ? '-' : cred[i] == '/' ? '_' : cred[i];
	}
	if (bufsz == 0 || (n = b64url_decode((unsigned char *)buf, bufsz - 1, b64url,
	    len - pad)) < 0 || memchr(buf, '\0', (size_t)n) != NULL)
		return -1;
	buf[n] = '\0';
	if ((colon = strchr(buf, ':')) == NULL)
		return -1;
	*colon = '\0';
	*password = colon + 1;
	return 0;
}
