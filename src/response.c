/* response.c - write the answer: status, headers and JSON body, or a JSON error. */
#include "response.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "json.h"
#include "log.h"

static char	*response_buf;		/* kept between requests */
static size_t	 response_cap;

static void
response_write(struct request *req, const char *buf, size_t len)
{
	ssize_t n;

	if (req->out != NULL) {
		if (FCGX_PutStr(buf, (int)len, req->out) < 0)
			log_msg(LVL_WARN, "event=write_failed reason=\"the web server "
			    "closed the connection\"");
		return;
	}
	while (len > 0) {
		if ((n = write(STDOUT_FILENO, buf, len)) < 0) {
			if (errno == EINTR)
				continue;
			log_msg(LVL_WARN, "event=write_failed reason=\"%s\"",
			    strerror(errno));
			return;
		}
		buf += n;
		len -= (size_t)n;
	}
}

void
response_send(struct request *req)
{
	const unsigned char *body = NULL;
	size_t body_len = 0, head, need;
	int n;

	if (req->sent)
		return;
	req->sent = 1;
	if (req->text != NULL) {
		body = (const unsigned char *)req->text;
		body_len = req->text_len;
	} else if (yajl_gen_get_buf(req->gen, &body, &body_len) != yajl_gen_status_ok)
		body_len = 0;
	/* Only the head goes through this buffer; the body is written from yajl's. */
	need = 512 + req->headers_len +
	    (req->cors_origin != NULL ? strlen(req->cors_origin) : 0);
	if (need > response_cap) {
		response_cap = need * 2;
		response_buf = xrealloc(response_buf, response_cap);
	}
	/* A 204 has no body and so no Content-Length (RFC 9110 8.6). */
	if (req->status == 204)
		n = snprintf(response_buf, response_cap, "Status: 204 %s\r\n"
		    "Cache-Control: no-store\r\nX-Request-Id: %s\r\n",
		    error_reason(204), req->id);
	else
		n = snprintf(response_buf, response_cap,
		    "Status: %d %s\r\n%sContent-Length: %zu\r\n"
		    "Cache-Control: no-store\r\nX-Request-Id: %s\r\n",
		    req->status, error_reason(req->status),
		    body_len == 0 ? "" : req->text != NULL ? req->text_type :
		    "Content-Type: application/json; charset=utf-8\r\n",
		    body_len, req->id);
	head = (size_t)n;
	/*
	 * Errors and 401s included: the UI must be able to read why (CONTRACT
	 * 3).  Terrakube's UI can be built to send credentials (cookies), and
	 * a browser then wants Allow-Credentials too, as Terrakube's API sends
	 * it; the origin is one listed by name, never "*".
	 */
	/* Like GitHub's token-expiration header: clients can warn before it stops. */
	if ((req->caller.via == CALLER_PAT || req->caller.via == CALLER_TEAM) &&
	    req->caller.has_expires) {
		char when[25];

		json_time_format(when, req->caller.expires_ms);
		head += (size_t)snprintf(response_buf + head, response_cap - head,
		    "X-Pat-Expires-At: %s\r\n", when);
	}
	if (req->cors_origin != NULL)
		head += (size_t)snprintf(response_buf + head, response_cap - head,
		    "Access-Control-Allow-Origin: %s\r\n"
		    "Access-Control-Allow-Credentials: true\r\nVary: Origin\r\n",
		    req->cors_origin);
	if (req->headers_len > 0)
		memcpy(response_buf + head, req->headers, req->headers_len);
	head += req->headers_len;
	memcpy(response_buf + head, "\r\n", 2);
	head += 2;
	response_write(req, response_buf, head);
	if (body_len > 0)
		response_write(req, (const char *)body, body_len);
}

void
response_error(struct request *req, enum error e)
{
	const struct error_info *info = error_info(e);
	yajl_gen g = req->gen;

	yajl_gen_reset(g, NULL);
	yajl_gen_clear(g);
	req->headers_len = 0;
	req->text = NULL;
	req->status = info->status;
	switch (e) {
	case ERR_UNAUTHORIZED:
		request_header(req, "WWW-Authenticate", "Bearer realm=\"patgate\"");
		break;
	case ERR_INVALID_TOKEN:
		request_header(req, "WWW-Authenticate",
		    "Bearer realm=\"patgate\", error=\"invalid_token\"");
		break;
	case ERR_METHOD:
		request_header(req, "Allow", req->allow != NULL ? req->allow : "");
		break;
	case ERR_RATE:
		request_header(req, "Retry-After", "1");
		break;
	case ERR_UNAVAILABLE:
	case ERR_SCHEMA:
	case ERR_MISCONFIGURED:
		request_header(req, "Retry-After", "5");
		break;
	default:
		break;
	}
	yajl_gen_map_open(g);
	json_key_str(g, "error", info->code);
	json_key_str(g, "message", req->err_message != NULL ?
	    req->err_message : info->message);
	if (req->err_field != NULL)
		json_key_str(g, "field", req->err_field);
	yajl_gen_map_close(g);
	response_send(req);
}

void
response_free(void)
{
	free(response_buf);
	response_buf = NULL;
	response_cap = 0;
}
