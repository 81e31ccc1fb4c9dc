/*
 * ceiling_select.c - the nginx -> libfcgi + libpq ceiling, as ceilings.sh's
 * row iii: for each request, hash a token of a random row ("tok<n>", or n
 * from the query string) with SHA-256, look it up with a prepared SELECT by
 * hash, and answer the row as JSON made with yajl.  The least work a token
 * check through this stack can do; patgate's verify is measured against it.
 *
 * Environment: PG_CONNINFO (libpq conninfo), ROWS (rows in the table).
 */
#include <openssl/evp.h>

#include "ceiling.h"

#define SELECT_BY_HASH \
	"SELECT id, owner, description, expires_at, revoked_at IS NOT NULL " \
	"FROM pat WHERE token_hash = $1"

/* One request: look the token up and answer its row, 404 or 500. */
static void
select_answer(PGconn *conn, FCGX_Request *r, struct ceiling *c)
{
	const char	*qs = FCGX_GetParam("QUERY_STRING", r->envp);
	const char	*status = "200 OK";
	unsigned char	 hash[EVP_MAX_MD_SIZE];
	unsigned int	 hash_len = 0;
	char		 token[32];
	const char	*values[1];
	int		 lengths[1], formats[1] = { 1 };
	long		 n;
	PGresult	*res;
	yajl_gen	 g;

	n = qs != NULL && *qs != '\0' ? strtol(qs, NULL, 10) :
	    1 + rand_r(&c->seed) % c->n;
	snprintf(token, sizeof(token), "tok%ld", n);
	EVP_Digest(token, strlen(token), hash, &hash_len, EVP_sha256(), NULL);
	values[0] = (const char *)hash;
	lengths[0] = (int)hash_len;
	res = PQexecPrepared(conn, "stmt", 1, values, lengths, formats, 0);

	g = yajl_gen_alloc(NULL);
	yajl_gen_map_open(g);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		status = "500 Internal Server Error";
		gen_str(g, "error");
		gen_str(g, "db");
	} else if (PQntuples(res) != 1) {
		status = "404 Not Found";
		gen_str(g, "error");
		gen_str(g, "not_found");
	} else {
		gen_str(g, "id");
		gen_str(g, PQgetvalue(res, 0, 0));
		gen_str(g, "owner");
		gen_str(g, PQgetvalue(res, 0, 1));
		gen_str(g, "description");
		gen_str(g, PQgetvalue(res, 0, 2));
		gen_str(g, "expires_at");
		gen_str(g, PQgetvalue(res, 0, 3));
		gen_str(g, "revoked");
		yajl_gen_bool(g, PQgetvalue(res, 0, 4)[0] == 't');
	}
	yajl_gen_map_close(g);
	ceiling_reply(r, status, g);
	yajl_gen_free(g);
	PQclear(res);
}

int
main(void)
{
	return ceiling_serve("ceiling_select", SELECT_BY_HASH, 1,
	    env_long("ROWS", 100000), select_answer);
}
