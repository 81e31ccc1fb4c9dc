/*
 * demo.c - GET /demo/whoami: the edge gate's demonstration behind auth_request.
 *
 * nginx asks /pat/v1/verify first, then passes the owner's email as the
 * FastCGI parameter PAT_EMAIL, which a client cannot set (client headers
 * arrive as HTTP_*).  This answer only echoes it, JSON-escaped.
 */
#include "demo.h"

#include "json.h"

enum error
demo_whoami(struct request *req)
{
	const char *email = req->p.pat_email;

	if (email == NULL || *email == '\0')
		return ERR_UNAUTHORIZED;
	req->status = 200;
	yajl_gen_map_open(req->gen);
	json_key_str(req->gen, "email", email);
	yajl_gen_map_close(req->gen);
	return ERR_OK;
}
