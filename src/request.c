/* request.c - one request: its input, its arena, and the answer being built. */
#include "request.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
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
	req->declared = -1;
}

#define RP(name, field)	{ name, sizeof(name) - 1, offsetof(struct request_params, field) }

static const struct {
	const char	*name;
	size_t		 len;
	size_t		 offset;
} request_known[] = {
	RP("REQUEST_METHOD", method),
	RP("PATH_INFO", path_info),
	RP("SCRIPT_NAME", script_name),
	RP("DOCUMENT_URI", document_uri),
	RP("REQUEST_URI", request_uri),
	RP("REQUEST_ID", request_id),
	RP("HTTP_X_REQUEST_ID", x_request_id),
	RP("CONTENT_LENGTH", content_length),
	RP("CONTENT_TYPE", content_type),
	RP("HTTP_TRANSFER_ENCODING", transfer_encoding),
	RP("HTTP_AUTHORIZATION", authorization),
	RP("REMOTE_USER", remote_user),
	RP("AUTH_TYPE", auth_type),
	RP("REMOTE_ADDR", remote_addr),
	RP("HTTP_X_FORWARDED_FOR", forwarded_for),
	RP("HTTP_ORIGIN", origin),
	RP("HTTP_ACCESS_CONTROL_REQUEST_METHOD", cors_method),
	RP("PAT_EMAIL", pat_email),
	RP("QUERY_STRING", query),
};

/* Pick the parameters patgate reads out of envp; ERR_PARAMS_TOO_LARGE past the bounds. */
static enum error
request_params_read(struct request_params *rp, char **envp, int bounded)
{
	const char *eq;
	size_t n, i, nl;

	memset(rp, 0, sizeof(*rp));
	for (n = 0; envp != NULL && envp[n] != NULL; n++) {
		/* nginx sends a few dozen short parameters; far more is not a web server talking. */
		if (bounded && (n >= REQUEST_PARAMS_MAX ||
		    strnlen(envp[n], REQUEST_PARAM_LEN_MAX + 1) > REQUEST_PARAM_LEN_MAX))
			return ERR_PARAMS_TOO_LARGE;
		if ((eq = strchr(envp[n], '=')) == NULL)
			continue;
		nl = (size_t)(eq - envp[n]);
		for (i = 0; i < sizeof(request_known) / sizeof(request_known[0]); i++)
			if (request_known[i].len == nl &&
			    memcmp(request_known[i].name, envp[n], nl) == 0) {
				*(const char **)((char *)rp + request_known[i].offset) = eq + 1;
				rp->nauthorization += request_known[i].offset ==
				    offsetof(struct request_params, authorization);
				break;
			}
	}
	return ERR_OK;
}

static int
request_id_ok(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	return n > 0 && n < 40 && strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static int
request_set(const char *s)
{
	return s != NULL && *s != '\0';
}

/*
 * The path to route on.  Apache CGI and mod_fcgid put it in PATH_INFO;
 * nginx's fastcgi_params put it in SCRIPT_NAME (and DOCUMENT_URI).
 */
static const char *
request_path(struct request *req)
{
	const struct request_params *rp = &req->p;
	const char *p, *q;
	size_t n;

	p = request_set(rp->path_info) ? rp->path_info :
	    request_set(rp->script_name) ? rp->script_name :
	    request_set(rp->document_uri) ? rp->document_uri :
	    rp->request_uri != NULL ? rp->request_uri : "/";
	n = (q = strchr(p, '?')) != NULL ? (size_t)(q - p) : strlen(p);
	if (n > 1 && p[n - 1] == '/')
		n--;
	if ((q = arena_strndup(&req->arena, p, n)) == NULL)
		return "/";
	return q;
}

/* CONTENT_LENGTH as a number: -1 when absent, -2 when it is not a number. */
static long long
request_content_length(const char *cl)
{
	long long v;
	char *end;

	if (cl == NULL || *cl == '\0')
		return -1;
	errno = 0;
	v = strtoll(cl, &end, 10);
	if (!isdigit((unsigned char)*cl) || *end != '\0' || errno != 0)
		return -2;
	return v;
}

enum error
request_begin(struct request *req, char **envp, FCGX_Stream *in, FCGX_Stream *out)
{
	static unsigned long counter;
	const char *te;
	enum error e;

	req->envp = envp;
	req->in = in;
	req->out = out;
	clock_gettime(CLOCK_MONOTONIC, &req->start);
	e = request_params_read(&req->p, envp, in != NULL);
	if ((req->method = req->p.method) == NULL)
		req->method = "GET";
	req->path = request_path(req);
	if (request_id_ok(req->p.request_id))
		snprintf(req->id, sizeof(req->id), "%s", req->p.request_id);
	else if (request_id_ok(req->p.x_request_id))
		snprintf(req->id, sizeof(req->id), "%s", req->p.x_request_id);
	else
		snprintf(req->id, sizeof(req->id), "%lx-%lx", (long)getpid(), ++counter);
	log_set_request(req->id);
	yajl_gen_reset(req->gen, NULL);
	yajl_gen_clear(req->gen);
	header_authorization(req->p.authorization, &req->auth);
	req->media = header_media_type(req->p.content_type);
	req->declared = request_content_length(req->p.content_length);
	te = req->p.transfer_encoding;
	req->chunked = req->declared == -1 && te != NULL && strcasestr(te, "chunked") != NULL;
	if (e != ERR_OK)
		return e;
	/* Two credentials are one too many: which of them would be the caller? */
	if (req->p.nauthorization > 1)
		return request_fail(req, ERR_BAD_REQUEST, NULL,
		    "the request has more than one Authorization header");
	return ERR_OK;
}

void
request_end(struct request *req)
{
	log_set_request(NULL);
	arena_reset(&req->arena);
	req->envp = NULL;
	req->in = req->out = NULL;
	memset(&req->p, 0, sizeof(req->p));
	memset(&req->auth, 0, sizeof(req->auth));
	req->media = MEDIA_NONE;
	req->cors_origin = NULL;
	req->cors_path = 0;
	req->endpoint = 0;
	req->text = req->text_type = NULL;
	req->text_len = 0;
	req->declared = -1;
	req->chunked = 0;
	req->method = req->path = req->param = NULL;
	req->body = NULL;
	req->body_len = req->consumed = 0;
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
	if (n > 0)
		req->consumed += (size_t)n;
	return n;
}

/* A declared CONTENT_LENGTH that is malformed or over the cap, before reading. */
static enum error
request_declared(struct request *req)
{
	if (req->declared == -2)
		return request_fail(req, ERR_BAD_REQUEST, NULL,
		    "Content-Length is not a number");
	return req->declared > REQUEST_BODY_MAX ? ERR_TOO_LARGE : ERR_OK;
}

enum error
request_body_check(struct request *req)
{
	return request_declared(req);
}

enum error
request_body_read(struct request *req)
{
	size_t want, got = 0;
	ssize_t n;
	enum error e;

	if ((e = request_declared(req)) != ERR_OK)
		return e;
	/*
	 * FastCGI marks the end of the body, and so does a chunked upload
	 * under CGI (the server closes the program's input), so read to it:
	 * one byte past the cap tells a body that is too large.  Otherwise
	 * plain CGI must not read past CONTENT_LENGTH.
	 */
	if (req->in != NULL || req->chunked)
		want = REQUEST_BODY_MAX + 1;
	else
		want = req->declared > 0 ? (size_t)req->declared : 0;
	while (got < want && (n = request_read(req, req->body_buf + got,
	    want - got)) > 0)
		got += (size_t)n;
	if (got > REQUEST_BODY_MAX)
		return ERR_TOO_LARGE;
	if (req->declared < 0 && !req->chunked && got > 0)
		return ERR_LENGTH_REQUIRED;
	if (req->declared >= 0 && got != (size_t)req->declared)
		return request_fail(req, ERR_BAD_REQUEST, NULL,
		    "the body length does not match Content-Length");
	req->body_buf[got] = '\0';
	req->body = req->body_buf;
	req->body_len = got;
	return ERR_OK;
}

void
request_drain(struct request *req)
{
	char buf[8192];
	size_t left;
	ssize_t n;

	if (req->in != NULL || req->consumed >= REQUEST_DRAIN_MAX)
		return;
	if (req->chunked)
		left = REQUEST_DRAIN_MAX - req->consumed;
	else if (req->declared > (long long)req->consumed)
		left = (size_t)req->declared - req->consumed;
	else
		return;
	if (left > REQUEST_DRAIN_MAX - req->consumed)
		left = REQUEST_DRAIN_MAX - req->consumed;
	while (left > 0 && (n = request_read(req, buf, left < sizeof(buf) ?
	    left : sizeof(buf))) > 0)
		left -= (size_t)n;
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
request_fault(struct request *req, enum error e, const struct fault *f)
{
	if (e == ERR_OK || f->message[0] == '\0')
		return e;
	return request_fail(req, e, f->field, arena_strndup(&req->arena, f->message,
	    strlen(f->message)));
}

enum error
request_fail(struct request *req, enum error e, const char *field,
    const char *message)
{
	req->err_field = field;
	req->err_message = message;
	return e;
}
