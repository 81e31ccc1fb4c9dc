/*
 * ceiling_select.c - the nginx -> libfcgi + libpq ceiling, as ceilings.sh's
 * row iii: for each request, hash a token of a random row ("tok<n>", or n
 * from the query string) with SHA-256, look it up with a prepared SELECT by
 * hash, and answer the row as JSON made with yajl.  The least work a token
 * check through this stack can do; patgate's verify is measured against it.
 *
 * Environment: PG_CONNINFO (libpq conninfo), ROWS (rows in the table).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fcgiapp.h>
#include <libpq-fe.h>
#include <openssl/evp.h>
#include <yajl/yajl_gen.h>

#define SELECT_BY_HASH \
	"SELECT id, owner, description, expires_at, revoked_at IS NOT NULL " \
	"FROM pat WHERE token_hash = $1"

static void
gen_str(yajl_gen g, const char *s)
{
	yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}

static long
env_long(const char *name, long fallback)
{
	const char	*s = getenv(name);
	char		*end;
	long		 v;

	if (s == NULL || *s == '\0')
		return fallback;
	errno = 0;
	v = strtol(s, &end, 10);
	return errno != 0 || *end != '\0' || v < 1 ? fallback : v;
}

/* One request: look the token up and answer its row, 404 or 500. */
static void
select_answer(PGconn *conn, FCGX_Request *r, long rows, unsigned *seed)
{
	const char	*qs = FCGX_GetParam("QUERY_STRING", r->envp);
	const char	*status = "200 OK";
	const unsigned char *body;
	unsigned char	 hash[EVP_MAX_MD_SIZE];
	unsigned int	 hash_len = 0;
	char		 token[32], header[160];
	int		 header_len;
	const char	*values[1];
	int		 lengths[1], formats[1] = { 1 };
	long		 n;
	size_t		 body_len;
	PGresult	*res;
	yajl_gen	 g;

	n = qs != NULL && *qs != '\0' ? strtol(qs, NULL, 10) :
	    1 + rand_r(seed) % rows;
	snprintf(token, sizeof(token), "tok%ld", n);
	EVP_Digest(token, strlen(token), hash, &hash_len, EVP_sha256(), NULL);
	values[0] = (const char *)hash;
	lengths[0] = (int)hash_len;
	res = PQexecPrepared(conn, "by_hash", 1, values, lengths, formats, 0);

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
	yajl_gen_get_buf(g, &body, &body_len);
	header_len = snprintf(header, sizeof(header), "Status: %s\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
	    status, body_len);
	FCGX_PutStr(header, header_len, r->out);
	FCGX_PutStr((const char *)body, (int)body_len, r->out);
	yajl_gen_free(g);
	PQclear(res);
}

int
main(void)
{
	FCGX_Request	 r;
	PGconn		*conn;
	PGresult	*res;
	long		 rows = env_long("ROWS", 100000);
	unsigned	 seed = (unsigned)getpid();

	conn = PQconnectdb(getenv("PG_CONNINFO") ? getenv("PG_CONNINFO") : "");
	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "ceiling_select: %s", PQerrorMessage(conn));
		return 1;
	}
	res = PQprepare(conn, "by_hash", SELECT_BY_HASH, 1, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		fprintf(stderr, "ceiling_select: %s", PQerrorMessage(conn));
		return 1;
	}
	PQclear(res);
	if (FCGX_Init() != 0 || FCGX_InitRequest(&r, 0, 0) != 0)
		return 1;
	while (FCGX_Accept_r(&r) == 0) {
		select_answer(conn, &r, rows, &seed);
		FCGX_Finish_r(&r);
	}
	PQfinish(conn);
	return 0;
}
