/*
 * ceiling.h - what the database ceilings (ceiling_select.c,
 * ceiling_insert.c and ceiling_list.c) share: one connection with one
 * prepared statement, the FastCGI loop and the answer's framing.  Each
 * ceiling stays one program of one gcc line; its own file holds its one
 * request.
 */
#ifndef CEILING_H
#define CEILING_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fcgiapp.h>
#include <libpq-fe.h>
#include <yajl/yajl_gen.h>

/* What a request may need: a seed of its own, and the ceiling's count. */
struct ceiling {
	unsigned	 seed;
	long		 n;		/* ROWS, LIST_OWNERS, ...; unused by some */
};

static inline void
gen_str(yajl_gen g, const char *s)
{
	yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}

/* A positive number from the environment, or fallback. */
static inline long
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

/* Send g's JSON with status (e.g. "200 OK"). */
static inline void
ceiling_reply(FCGX_Request *r, const char *status, yajl_gen g)
{
	const unsigned char *body;
	size_t		 body_len;
	char		 header[160];
	int		 header_len;

	yajl_gen_get_buf(g, &body, &body_len);
	header_len = snprintf(header, sizeof(header), "Status: %s\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
	    status, body_len);
	FCGX_PutStr(header, header_len, r->out);
	FCGX_PutStr((const char *)body, (int)body_len, r->out);
}

/*
 * Connect to PG_CONNINFO, prepare sql as "stmt", and answer every request
 * on the socket spawn-fcgi handed over (fd 0) with answer.
 */
static inline int
ceiling_serve(const char *who, const char *sql, int nparams, long n,
    void (*answer)(PGconn *, FCGX_Request *, struct ceiling *))
{
	struct ceiling	 c = { (unsigned)getpid(), n };
	FCGX_Request	 r;
	PGconn		*conn;
	PGresult	*res;

	conn = PQconnectdb(getenv("PG_CONNINFO") ? getenv("PG_CONNINFO") : "");
	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "%s: %s", who, PQerrorMessage(conn));
		return 1;
	}
	res = PQprepare(conn, "stmt", sql, nparams, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		fprintf(stderr, "%s: %s", who, PQerrorMessage(conn));
		return 1;
	}
	PQclear(res);
	if (FCGX_Init() != 0 || FCGX_InitRequest(&r, 0, 0) != 0)
		return 1;
	while (FCGX_Accept_r(&r) == 0) {
		answer(conn, &r, &c);
		FCGX_Finish_r(&r);
	}
	PQfinish(conn);
	return 0;
}

#endif
