/*
 * ceiling_insert.c - the nginx -> libfcgi + libpq ceiling for a create: for
 * each request, read the body, make 32 random bytes for the token's hash,
 * INSERT one row into patgate's own pat table with a prepared statement
 * (synchronous_commit on, the server's default, so the answer waits for
 * the commit's flush), and answer 201 with the row's id as JSON made with
 * yajl.  The least work a create through this stack can do; patgate's
 * create is measured against it, with as many of these processes as
 * patgate has workers.  Its rows say "ceiling token", so that the harness
 * can take them out again.
 *
 * Environment: PG_CONNINFO (libpq conninfo of patgate's database).
 */
#include <openssl/rand.h>

#include "ceiling.h"

#define INSERT_ROW \
	"INSERT INTO pat (id, token_hmac, owner_email, owner_name, owner_groups, " \
	"description, days, created_at, expires_at, updated_at, updated_by) " \
	"VALUES (gen_random_uuid(), $1, $2, 'User', '{}', 'ceiling token', 30, " \
	"now(), now() + interval '30 days', now(), $2) RETURNING id"
#define BODY_MAX	65536

/* One request: read its body, insert a row, answer 201 with its id, or 500. */
static void
insert_answer(PGconn *conn, FCGX_Request *r, struct ceiling *c)
{
	static char	 body_in[BODY_MAX];
	const char	*status = "201 Created";
	unsigned char	 hash[32];
	char		 owner[64];
	int		 got, total = 0;
	const char	*values[2];
	int		 lengths[2], formats[2] = { 1, 0 };
	PGresult	*res = NULL;
	yajl_gen	 g;

	/* The body is read as patgate reads it, and thrown away. */
	while (total < BODY_MAX &&
	    (got = FCGX_GetStr(body_in + total, BODY_MAX - total, r->in)) > 0)
		total += got;
	snprintf(owner, sizeof(owner), "user%u@bench.example",
	    (unsigned)rand_r(&c->seed) % 1000);
	g = yajl_gen_alloc(NULL);
	yajl_gen_map_open(g);
	if (RAND_bytes(hash, sizeof(hash)) != 1) {
		status = "500 Internal Server Error";
		gen_str(g, "error");
		gen_str(g, "rand");
		goto answer;
	}
	values[0] = (const char *)hash;
	lengths[0] = (int)sizeof(hash);
	values[1] = owner;
	lengths[1] = 0;
	res = PQexecPrepared(conn, "stmt", 2, values, lengths, formats, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		status = "500 Internal Server Error";
		gen_str(g, "error");
		gen_str(g, "db");
	} else {
		gen_str(g, "id");
		gen_str(g, PQgetvalue(res, 0, 0));
	}
answer:
	yajl_gen_map_close(g);
	ceiling_reply(r, status, g);
	yajl_gen_free(g);
	PQclear(res);
}

int
main(void)
{
	return ceiling_serve("ceiling_insert", INSERT_ROW, 2, 0, insert_answer);
}
