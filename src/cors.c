/* cors.c - cross-origin calls from Terrakube's UI, by the rules of CONTRACT 3. */
#include "cors.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "request.h"

#define CORS_MAX_AGE	"600"

/* The next entry of a list separated by spaces or commas; its length in *len. */
static const char *
cors_next(const char **p, size_t *len)
{
	const char *start;

	*p += strspn(*p, " ,\t");
	if (**p == '\0')
		return NULL;
	start = *p;
	*len = strcspn(start, " ,\t");
	*p += *len;
	return start;
}

/* scheme://host[:port], with nothing after it. */
static int
cors_origin_ok(const char *s, size_t len)
{
	const char *end = s + len, *p = s, *host;

	while (p < end && ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
	    (p > s && ((*p >= '0' && *p <= '9') || *p == '+' || *p == '-' || *p == '.'))))
		p++;
	if (p == s || end - p < 4 || memcmp(p, "://", 3) != 0)
		return 0;
	host = p += 3;
	while (p < end && *p != ':' && *p != '/' && *p != '?' && *p != '#' &&
	    *p != '@' && *p != '*' && (unsigned char)*p > 0x20 && *p != 0x7f)
		p++;
	if (p == host)
		return 0;
	if (p < end && *p == ':') {
		const char *port = ++p;

		while (p < end && *p >= '0' && *p <= '9')
			p++;
		if (p == port || p - port > 5)
			return 0;
	}
	return p == end;
}

int
cors_origins_check(const char *list, char *why, size_t whysz)
{
	const char *p = list, *e;
	size_t len;

	while ((e = cors_next(&p, &len)) != NULL)
		if (!cors_origin_ok(e, len)) {
			snprintf(why, whysz, "\"%.*s\" is not scheme://host[:port]%s",
			    (int)(len > 100 ? 100 : len), e, memchr(e, '*', len) != NULL ?
			    " (\"*\" is not allowed: list each origin)" : "");
			return -1;
		}
	return 0;
}

/* The paths Terrakube's UI calls; verify and health take no part. */
static int
cors_path(const char *path)
{
	if (strcmp(path, "/pat/v1/verify") == 0 || strcmp(path, "/pat/v1/health") == 0 ||
	    strcmp(path, "/pat/v1/metrics") == 0)
		return 0;
	return strncmp(path, "/pat/v1", 7) == 0 || strcmp(path, "/api/v1") == 0 ||
	    strncmp(path, "/access-token/v1/", 17) == 0 ||
	    strcmp(path, "/access-token/v1") == 0;
}

void
cors_begin(struct request *req, const char *origins)
{
	const char *origin = req->p.origin, *p = origins, *e;
	size_t len;

	req->cors_origin = NULL;
	req->cors_path = cors_path(req->path);
	if (!req->cors_path || origin == NULL || *origin == '\0')
		return;
	/* Scheme and host compare without case; both sides are scheme://host[:port]. */
	while ((e = cors_next(&p, &len)) != NULL)
		if (strlen(origin) == len && strncasecmp(origin, e, len) == 0) {
			req->cors_origin = origin;
			return;
		}
}

enum error
cors_preflight(struct request *req)
{
	const char *origin = req->p.origin, *method = req->p.cors_method;

	if (!req->cors_path || origin == NULL || *origin == '\0' || method == NULL ||
	    *method == '\0')
		return ERR_METHOD;
	if (req->cors_origin == NULL)
		return ERR_CORS_ORIGIN;
	if (request_header(req, "Access-Control-Allow-Methods", req->allow) == -1 ||
	    request_header(req, "Access-Control-Allow-Headers",
	    "Authorization, Content-Type") == -1 ||
	    request_header(req, "Access-Control-Max-Age", CORS_MAX_AGE) == -1)
		return ERR_INTERNAL;
	req->status = 204;
	return ERR_OK;
}
