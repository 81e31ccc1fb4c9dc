/* request.h - one request: its input, its arena, and the answer being built. */
#ifndef PATGATE_REQUEST_H
#define PATGATE_REQUEST_H

#include <stddef.h>
#include <time.h>

#include <fcgiapp.h>
#include <yajl/yajl_gen.h>

#include "alloc.h"
#include "error.h"

#define REQUEST_BODY_MAX	65536
#define REQUEST_PARAMS_MAX	1000		/* FastCGI parameters in one request */
#define REQUEST_PARAM_LEN_MAX	65536		/* bytes in one of them */

struct app;

enum caller_via { CALLER_NONE, CALLER_PAT, CALLER_OIDC, CALLER_REMOTE_USER };

/* Who is calling (CONTRACT 2).  Strings live in the request arena. */
struct caller {
	enum caller_via	 via;
	const char	*email;
	const char	*name;		/* never ends in " (Token)" */
	const char	**groups;
	size_t		 ngroups;
	const char	*pat_id;	/* the PAT used, when via == CALLER_PAT */
};

struct request {
	struct app	*app;
	char		**envp;		/* FastCGI params, or environ under CGI */
	FCGX_Stream	*in, *out;	/* NULL under plain CGI: stdin, stdout */
	const char	*method;
	const char	*path;		/* the path routed on, without the query */
	const char	*param;		/* the {id} segment of the route, if any */
	char		 id[40];	/* the request id put in every log line */
	struct timespec	 start;
	struct arena	 arena;		/* everything else allocated for the request */

	char		*body_buf;	/* REQUEST_BODY_MAX + 1 bytes, kept */
	const char	*body;
	size_t		 body_len;
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

const char	*request_env(const struct request *, const char *name);
/* Refuse a declared CONTENT_LENGTH that is malformed or over the cap, before reading. */
enum error	 request_body_check(struct request *);
/* Read the body, at most REQUEST_BODY_MAX bytes (ERR_TOO_LARGE past it). */
enum error	 request_body_read(struct request *);
/* 1 when the Content-Type's media type is application/json. */
int		 request_is_json(const struct request *);
/* Add a response header; values with control characters are refused (-1). */
int		 request_header(struct request *, const char *name, const char *value);
/* Note which field was at fault and why, for the error answer. */
enum error	 request_fail(struct request *, enum error, const char *field,
		    const char *message);

#endif
