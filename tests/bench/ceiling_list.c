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
#include "ceiling.h"

#define SELECT_BY_OWNER \
	"SELECT id, owner_email, owner_name, array_to_string(owner_groups, ','), " \
	"owner_group, description, days, hours, minutes, created_at, updated_at, " \
	"updated_by, expires_at, last_used_at, revoked_at IS NOT NULL, " \
	"grace_until, rotated_to, reused_at FROM pat " \
	"WHERE owner_email = $1 AND owner_group IS NULL AND revoked_at IS NULL " \
	"ORDER BY created_at DESC, id DESC LIMIT 1000"

/* One request: one owner's rows, or a 500. */
static void
list_answer(PGconn *conn, FCGX_Request *r, struct ceiling *c)
{
	const char	*status = "200 OK";
	const char	*values[1];
	char		 email[64];
	int		 i, j, n, cols;
	PGresult	*res;
	yajl_gen	 g;

	snprintf(email, sizeof(email), "list%ld@bench.example",
	    (long)(rand_r(&c->seed) % c->n));
	values[0] = email;
	res = PQexecPrepared(conn, "stmt", 1, values, NULL, NULL, 0);

	g = yajl_gen_alloc(NULL);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		status = "500 Internal Server Error";
		yajl_gen_map_open(g);
		gen_str(g, "error");
		gen_str(g, "db");
		yajl_gen_map_close(g);
	} else {
		n = PQntuples(res);
		cols = PQnfields(res);
		yajl_gen_array_open(g);
		for (i = 0; i < n; i++) {
			yajl_gen_map_open(g);
			for (j = 0; j < cols; j++) {
				gen_str(g, PQfname(res, j));
				if (PQgetisnull(res, i, j))
					yajl_gen_null(g);
				else
					yajl_gen_string(g, (const unsigned char *)
					    PQgetvalue(res, i, j),
					    (size_t)PQgetlength(res, i, j));
			}
			yajl_gen_map_close(g);
		}
		yajl_gen_array_close(g);
	}
	ceiling_reply(r, status, g);
	yajl_gen_free(g);
	PQclear(res);
}

int
main(void)
{
	return ceiling_serve("ceiling_list", SELECT_BY_OWNER, 1,
	    env_long("LIST_OWNERS", 500), list_answer);
}
