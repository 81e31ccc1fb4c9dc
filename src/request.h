/* request.h - one request: its input, its arena, and the answer being built. */
#ifndef PATGATE_REQUEST_H
#define PATGATE_REQUEST_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <fcgiapp.h>
#include <yajl/yajl_gen.h>

#include "alloc.h"
#include "error.h"
#include "header.h"
#include "principal.h"

#define REQUEST_BODY_MAX	65536
#define REQUEST_PARAMS_MAX	1000		/* FastCGI parameters in one request */
#define REQUEST_PARAM_LEN_MAX	65536		/* bytes in one of them */
#define REQUEST_DRAIN_MAX	(1 << 20)	/* body bytes read past an answer under CGI */

struct app;

/*
 * The FastCGI (or CGI) parameters patgate reads, picked out of envp in one
 * pass.  A name given twice takes its last value, as a web server's own
 * configuration would read (nginx: a later fastcgi_param overrides).
 */
struct request_params {
	const char	*method, *path_info, *script_name, *document_uri, *request_uri;
	const char	*request_id, *x_request_id;
	const char	*content_length, *content_type, *transfer_encoding;
	const char	*authorization, *remote_user, *auth_type, *remote_addr;
	const char	*forwarded_for;
	const char	*origin, *cors_method;
	const char	*pat_email;
	const char	*query;
	unsigned	 nauthorization;	/* how many Authorization headers came */
};

struct request {
	struct app	*app;
	char		**envp;		/* FastCGI params, or environ under CGI */
	FCGX_Stream	*in, *out;	/* NULL under plain CGI: stdin, stdout */
	struct request_params p;
	const char	*method;
	const char	*path;		/* the path routed on, without the query */
	const char	*param;		/* the {id} segment of the route, if any */
	char		 id[40];	/* the request id put in every log line */
	struct timespec	 start;
	struct arena	 arena;		/* everything else allocated for the request */

	int		 endpoint;	/* enum metric_endpoint of the route */
	enum owner_kind	 owner_kind;	/* whose tokens the route is about */
	const char	*text;		/* a body that is not JSON, and its type */
	size_t		 text_len;
	const char	*text_type;
	const char	*cors_origin;	/* a listed Origin: every answer names it */
	int		 cors_path;	/* the path takes part in CORS */

	/* The headers, parsed once by header.c's rules. */
	struct authorization auth;
	enum media_type	 media;
	long long	 declared;	/* CONTENT_LENGTH; -1 when absent, -2 when malformed */
	int		 chunked;	/* Transfer-Encoding: chunked, with no CONTENT_LENGTH */

	char		*body_buf;	/* REQUEST_BODY_MAX + 1 bytes, kept */
	const char	*body;
	size_t		 body_len;
	size_t		 consumed;	/* body bytes read so far (CGI: from stdin) */
	struct caller	 caller;

	/* The answer. */
	int		 status;
	yajl_gen	 gen;		/* the JSON body; empty means no body */
	char		*headers;	/* extra "Name: value\r\n" lines */
	size_t		 headers_len, headers_cap;
	const char	*err_message;	/* overrides the error table's message */
	const char	*err_field;
	const char	*allow;		/* the Allow header of a 405 */
	int		 sent;		/* the answer has been written */
	/* Set when the answer waits on a write in flight: gives its outcome. */
	enum error	(*pending)(struct request *);
	void		*pending_arg;
};

void		 request_init(struct request *, struct app *, yajl_gen);
/* Start a request on new input: sets method, path and id; checks the params' size. */
enum error	 request_begin(struct request *, char **envp, FCGX_Stream *in,
		    FCGX_Stream *out);
/* Release everything the request allocated; the arena's first block stays. */
void		 request_end(struct request *);
void		 request_free(struct request *);

/* Refuse a declared CONTENT_LENGTH that is malformed or over the cap, before reading. */
enum error	 request_body_check(struct request *);
/* Read the body, at most REQUEST_BODY_MAX bytes (ERR_TOO_LARGE past it). */
enum error	 request_body_read(struct request *);
/*
 * Under plain CGI, read what is left of the body and throw it away (at most
 * REQUEST_DRAIN_MAX bytes in all): a web server such as mod_cgid resets the
 * connection, and cuts the answer off, if the program exits before reading it.
 */
void		 request_drain(struct request *);
/* Add a response header; values with control characters are refused (-1). */
int		 request_header(struct request *, const char *name, const char *value);
/* The same from a fault the service gave: returns e. */
enum error	 request_fault(struct request *, enum error e, const struct fault *);
/* Note which field was at fault and why, for the error answer. */
enum error	 request_fail(struct request *, enum error, const char *field,
		    const char *message);

#endif
