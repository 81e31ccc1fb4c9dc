/*
 * ceiling_list.c - the like-for-like ceiling of a list: for each request,
 * pick one of the bench's list owners at random (list<k>@bench.example, k
 * below LIST_OWNERS), read that owner's tokens from patgate's own table
 * with a prepared SELECT of the columns patgate's list reads, by the same
 * index and in the same order, and answer them as a JSON array made with
 * yajl, every column a string as libpq's text format gives it.  No
 * identity token is checked and nothing is converted: the least work an
 * answer of those rows through this stack can do.
 *
 * Environment: PG_CONNINFO (libpq conninfo), LIST_OWNERS (default 500).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fcgiapp.h>
#include <libpq-fe.h>
#include <yajl/yajl_gen.h>

#define SELECT_BY_OWNER \
	"SELECT id, owner_email, owner_name, array_to_string(owner_groups, ','), " \
	"owner_group, description, days, hours, minutes, created_at, updated_at, " \
	"updated_by, expires_at, last_used_at, revoked_at IS NOT NULL, " \
	"grace_until, rotated_to, reused_at FROM pat " \
	"WHERE owner_email = $1 AND owner_group IS NULL AND revoked_at IS NULL " \
	"ORDER BY created_at DESC, id DESC LIMIT 1000"

static void
gen_str(yajl_gen g, const char *s, size_t len)
{
	yajl_gen_string(g, (const unsigned char *)s, len);
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

/* One request: one owner's rows, or a 500. */
static void
list_answer(PGconn *conn, FCGX_Request *r, long owners, unsigned *seed)
{
	const char	*status = "200 OK";
	const unsigned char *body;
	const char	*values[1];
	char		 email[64], header[160];
	int		 header_len, i, j, n, cols;
	size_t		 body_len;
	PGresult	*res;
	yajl_gen	 g;

	snprintf(email, sizeof(email), "list%ld@bench.example",
	    (long)(rand_r(seed) % owners));
	values[0] = email;
	res = PQexecPrepared(conn, "by_owner", 1, values, NULL, NULL, 0);

	g = yajl_gen_alloc(NULL);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		status = "500 Internal Server Error";
		yajl_gen_map_open(g);
		gen_str(g, "error", 5);
		gen_str(g, "db", 2);
		yajl_gen_map_close(g);
	} else {
		n = PQntuples(res);
		cols = PQnfields(res);
		yajl_gen_array_open(g);
		for (i = 0; i < n; i++) {
			yajl_gen_map_open(g);
			for (j = 0; j < cols; j++) {
				const char *name = PQfname(res, j);

				gen_str(g, name, strlen(name));
				if (PQgetisnull(res, i, j))
					yajl_gen_null(g);
				else
					gen_str(g, PQgetvalue(res, i, j),
					    (size_t)PQgetlength(res, i, j));
			}
			yajl_gen_map_close(g);
		}
		yajl_gen_array_close(g);
	}
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
	long		 owners = env_long("LIST_OWNERS", 500);
	unsigned	 seed = (unsigned)getpid();

	conn = PQconnectdb(getenv("PG_CONNINFO") ? getenv("PG_CONNINFO") : "");
	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "ceiling_list: %s", PQerrorMessage(conn));
		return 1;
	}
	res = PQprepare(conn, "by_owner", SELECT_BY_OWNER, 1, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		fprintf(stderr, "ceiling_list: %s", PQerrorMessage(conn));
		return 1;
	}
	PQclear(res);
	if (FCGX_Init() != 0 || FCGX_InitRequest(&r, 0, 0) != 0)
		return 1;
	while (FCGX_Accept_r(&r) == 0) {
		list_answer(conn, &r, owners, &seed);
		FCGX_Finish_r(&r);
	}
	PQfinish(conn);
	return 0;
}
