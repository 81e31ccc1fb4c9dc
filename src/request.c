/* request.c - one request: its input, its arena, and the answer being built. */
#include "request.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define REQUEST_ARENA_FIRST	(32 * 1024)

void
request_init(struct request *req, struct app *app, yajl_gen gen)
{
	memset(req, 0, sizeof(*req));
	req->app = app;
	req->gen = gen;
	arena_init(&req->arena, REQUEST_ARENA_FIRST);
	req->body_buf = xmalloc(REQUEST_BODY_MAX + 1);
}

const char *
request_env(const struct request *req, const char *name)
{
	return FCGX_GetParam(name, req->envp);
}

static int
request_id_ok(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	return n > 0 && n < 40 && strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

/*
 * The path to route on.  Apache CGI and mod_fcgid put it in PATH_INFO;
 * nginx's fastcgi_params put it in SCRIPT_NAME (and DOCUMENT_URI).
 */
static const char *
request_path(struct request *req)
{
	const char *p, *q;
	size_t n;

	if ((p = request_env(req, "PATH_INFO")) == NULL || *p == '\0')
		if ((p = request_env(req, "SCRIPT_NAME")) == NULL || *p == '\0')
			if ((p = request_env(req, "DOCUMENT_URI")) == NULL || *p == '\0')
				if ((p = request_env(req, "REQUEST_URI")) == NULL)
					p = "/";
	n = (q = strchr(p, '?')) != NULL ? (size_t)(q - p) : strlen(p);
	if (n > 1 && p[n - 1] == '/')
		n--;
	if ((q = arena_strndup(&req->arena, p, n)) == NULL)
		return "/";
	return q;
}

/* nginx sends a few dozen short parameters; far more is not a web server talking. */
static enum error
request_params_check(char **envp)
{
	size_t n;

	for (n = 0; envp != NULL && envp[n] != NULL; n++)
		if (n >= REQUEST_PARAMS_MAX ||
		    strnlen(envp[n], REQUEST_PARAM_LEN_MAX + 1) > REQUEST_PARAM_LEN_MAX)
			return ERR_PARAMS_TOO_LARGE;
	return ERR_OK;
}

enum error
request_begin(struct request *req, char **envp, FCGX_Stream *in, FCGX_Stream *out)
{
	static unsigned long counter;
	const char *id;

	req->envp = envp;
	req->in = in;
	req->out = out;
	clock_gettime(CLOCK_MONOTONIC, &req->start);
	if ((req->method = request_env(req, "REQUEST_METHOD")) == NULL)
		req->method = "GET";
	req->path = request_path(req);
	if (request_id_ok(id = request_env(req, "REQUEST_ID")) ||
	    request_id_ok(id = request_env(req, "HTTP_X_REQUEST_ID")))
		snprintf(req->id, sizeof(req->id), "%s", id);
	else
		snprintf(req->id, sizeof(req->id), "%lx-%lx", (long)getpid(), ++counter);
	log_set_request(req->id);
	yajl_gen_reset(req->gen, NULL);
	yajl_gen_clear(req->gen);
	return in != NULL ? request_params_check(envp) : ERR_OK;
}

void
request_end(struct request *req)
{
	log_set_request(NULL);
	arena_reset(&req->arena);
	req->envp = NULL;
	req->in = req->out = NULL;
	req->method = req->path = req->param = NULL;
	req->body = NULL;
	req->body_len = 0;
	memset(&req->caller, 0, sizeof(req->caller));
	req->status = 0;
	req->headers = NULL;
	req->headers_len = req->headers_cap = 0;
	req->err_message = req->err_field = req->allow = NULL;
	req->sent = 0;
	req->pending = NULL;
	req->pending_arg = NULL;
}

void
request_free(struct request *req)
{
	arena_free(&req->arena);
	free(req->body_buf);
	req->body_buf = NULL;
}

static ssize_t
request_read(struct request *req, char *buf, size_t len)
{
	ssize_t n;

	if (req->in != NULL)
		return FCGX_GetStr(buf, (int)len, req->in);
	do
		n = read(STDIN_FILENO, buf, len);
	while (n == -1 && errno == EINTR);
	return n;
}

/* The declared CONTENT_LENGTH: -1 when absent. */
static enum error
request_declared(struct request *req, long long *declared)
{
	const char *cl = request_env(req, "CONTENT_LENGTH");
	char *end;

	*declared = -1;
	if (cl == NULL || *cl == '\0')
		return ERR_OK;
	errno = 0;
	*declared = strtoll(cl, &end, 10);
	if (!isdigit((unsigned char)*cl) || *end != '\0' || errno != 0)
		return request_fail(req, ERR_BAD_REQUEST, NULL,
		    "Content-Length is not a number");
	return *declared > REQUEST_BODY_MAX ? ERR_TOO_LARGE : ERR_OK;
}

enum error
request_body_check(struct request *req)
{
	long long declared;

	return request_declared(req, &declared);
}

enum error
request_body_read(struct request *req)
{
	long long declared;
	size_t want, got = 0;
	ssize_t n;
	enum error e;

	if ((e = request_declared(req, &declared)) != ERR_OK)
		return e;
	/*
	 * FastCGI marks the end of the body, so read to it (one byte past the
	 * cap tells a body that is too large).  Plain CGI must not read past
	 * CONTENT_LENGTH.
	 */
	if (req->in != NULL)
		want = REQUEST_BODY_MAX + 1;
	else
		want = declared > 0 ? (size_t)declared : 0;
	while (got < want && (n = request_read(req, req->body_buf + got,
	    want - got)) > 0)
		got += (size_t)n;
	if (got > REQUEST_BODY_MAX)
		return ERR_TOO_LARGE;
	if (declared < 0 && got > 0)
		return ERR_LENGTH_REQUIRED;
	if (declared >= 0 && got != (size_t)declared)
		return request_fail(req, ERR_BAD_REQUEST, NULL,
		    "the body length does not match Content-Length");
	req->body_buf[got] = '\0';
	req->body = req->body_buf;
	req->body_len = got;
	return ERR_OK;
}

int
request_is_json(const struct request *req)
{
	static const char media[] = "application/json";
	const char *ct = request_env(req, "CONTENT_TYPE");

	if (ct == NULL)
		return 0;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, media, sizeof(media) - 1) != 0)
		return 0;
	ct += sizeof(media) - 1;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

int
request_header(struct request *req, const char *name, const char *value)
{
	size_t nl = strlen(name), vl = strlen(value), need = nl + vl + 4;
	char *grown;

	for (const char *p = value; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return -1;
	if (req->headers_len + need > req->headers_cap) {
		size_t cap = req->headers_cap ? req->headers_cap * 2 : 512;

		while (cap < req->headers_len + need)
			cap *= 2;
		if ((grown = arena_alloc(&req->arena, cap)) == NULL)
			return -1;
		if (req->headers_len > 0)
			memcpy(grown, req->headers, req->headers_len);
		req->headers = grown;
		req->headers_cap = cap;
	}
	memcpy(req->headers + req->headers_len, name, nl);
	memcpy(req->headers + req->headers_len + nl, ": ", 2);
	memcpy(req->headers + req->headers_len + nl + 2, value, vl);
	memcpy(req->headers + req->headers_len + nl + 2 + vl, "\r\n", 2);
	req->headers_len += need;
	return 0;
}

enum error
request_fail(struct request *req, enum error e, const char *field,
    const char *message)
{
	req->err_field = field;
	req->err_message = message;
	return e;
}
