/* db.c - the PostgreSQL connection and every SQL statement patgate runs. */
#include "db.h"

#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "log.h"
#include "metrics.h"
#include "migrations.h"

#define DB_RETRY_MS	250	/* after a failed connect, answer 503 this long */
#define DB_TIMEOUT_S	10	/* the longest a statement may take */
#define DB_NOTIFY_BURST	256	/* notifications at once after which memory is trimmed */

enum db_stmt {
	ST_PING, ST_INSERT, ST_LIST, ST_TEAM_LIST, ST_GET, ST_REVOKE, ST_USE,
	ST_AUDIT_OWNER, ST_AUDIT_TOKEN, ST_ADMIN_LIST, ST_REVOKE_OWNER, ST_PURGE,
	ST_GET_ID, ST_ROTATE, ST_REUSE, ST_REVOKE_HMACS, ST_REKEY, ST_TOUCH, ST_LOOKUP,
	ST_WAL,
	ST_NOTICE_CLAIM, ST_NOTICE_RELEASE, ST__COUNT
};

/*
 * The columns every statement that returns tokens returns, each named by
 * its enum beside its SQL.  Results come in PostgreSQL's binary format: a
 * list of 500 tokens then costs the server no number or date formatting,
 * and the worker no parsing (db_row reads each type as it is sent).
 */
#define DB_GROUP_SEP	'\x1f'	/* joins groups; control characters never occur in them */
#define DB_PG_EPOCH_US	946684800000000LL	/* 2000-01-01, PostgreSQL's epoch */
#define PAT_COLUMN_LIST(X) \
	X(COL_EMAIL, "owner_email") \
	X(COL_NAME, "owner_name") \
	X(COL_GROUPS, "array_to_string(owner_groups, E'\\x1f')") \
	X(COL_GROUP, "owner_group") \
	X(COL_DESCRIPTION, "description") \
	X(COL_DAYS, "days") \
	X(COL_HOURS, "hours") \
	X(COL_MINUTES, "minutes") \
	X(COL_CREATED, "created_at") \
	X(COL_UPDATED, "updated_at") \
	X(COL_UPDATED_BY, "updated_by") \
	X(COL_EXPIRES, "expires_at") \
	X(COL_LAST_USED, "last_used_at") \
	X(COL_REVOKED, "revoked_at IS NOT NULL") \
	X(COL_GRACE, "grace_until") \
	X(COL_ROTATED_TO, "rotated_to") \
	X(COL_REUSED, "reused_at")
#define COL_ENUM(name, sql)	name,
#define COL_SQL(name, sql)	", " sql
enum pat_column { COL_ID, PAT_COLUMN_LIST(COL_ENUM) COL__COUNT };
#define PAT_COLUMNS	"id" PAT_COLUMN_LIST(COL_SQL)
#define MS_TO_TIMESTAMPTZ(p) "(timestamptz 'epoch' + " p "::int8 * interval '1 millisecond')"
#define US_TO_TIMESTAMPTZ(p) "(timestamptz 'epoch' + " p "::int8 * interval '1 microsecond')"
#define GROUPS_PARAM(p)	"string_to_array(" p ", E'\\x1f')"
/* The columns of an audit event, in this order. */
enum audit_column {
	ACOL_ID, ACOL_AT, ACOL_EVENT, ACOL_TOKEN, ACOL_KIND, ACOL_OWNER, ACOL_ACTOR,
	ACOL_VIA, ACOL_ADDR, ACOL_REQUEST
};
#define AUDIT_COLUMNS "id, at, event, token_id, owner_kind, owner, actor, " \
	"actor_via, addr, request_id"
/* The columns of a token an admin's write changed (sql/0008), in this order. */
enum changed_column { CCOL_ID, CCOL_KIND, CCOL_OWNER };
#define CHANGED_COLUMNS	"id, owner_kind, owner"
#define AUDIT_ID_END	"9223372036854775807"	/* before no event: the newest first */

/* What a statement's result means beyond its status. */
static enum error	db_true_or_limit(PGresult *);
static enum error	db_true_or_not_found(PGresult *);
static enum error	db_rotated(PGresult *);
static enum error	db_count(struct db *, int, const char *const *, long *);
static int64_t		db_int(PGresult *, int, int, int *);

/*
 * Every statement patgate runs.  Each is marked a read or a write, so that
 * reads can go elsewhere (a standby) without a change here; every write
 * goes through a function of sql/, which records the event.
 */
static const struct {
	const char	*name;
	const char	*sql;
	int		 nparams;
	int		 retry;		/* safe to run again after a reconnect */
	int		 write;
	enum error	(*outcome)(PGresult *);	/* NULL: the status says it all */
} db_stmts[ST__COUNT] = {
	[ST_PING] = { "ping", "SELECT 1", 0, 1, 0, NULL },
	/* The cap's count, the INSERT and its event, in one round trip. */
	[ST_INSERT] = { "pat_insert",
	    "SELECT pat_create($1::uuid, $2, $3, $4, " GROUPS_PARAM("$5") ", $6, $7, "
	    "$8::int, $9::int, $10::int, " US_TO_TIMESTAMPTZ("$11") ", "
	    MS_TO_TIMESTAMPTZ("$12") ", $13::int, $14, $15, $16, $17)", 17, 0, 1,
	    db_true_or_limit },
	[ST_LIST] = { "pat_list",
	    "SELECT " PAT_COLUMNS " FROM pat "
	    "WHERE owner_email = $1 AND owner_group IS NULL AND revoked_at IS NULL "
	    "ORDER BY pat.created_at DESC, pat.id DESC LIMIT $2", 2, 1, 0, NULL },
	[ST_TEAM_LIST] = { "team_list",
	    "SELECT " PAT_COLUMNS " FROM pat "
	    "WHERE owner_group = ANY (" GROUPS_PARAM("$1") ") AND revoked_at IS NULL "
	    "ORDER BY pat.created_at DESC, pat.id DESC LIMIT $2", 2, 1, 0, NULL },
	[ST_GET] = { "pat_get",
	    "SELECT " PAT_COLUMNS " FROM pat "
	    "WHERE id = $1::uuid AND owner_email = $2 AND owner_group IS NULL "
	    "AND revoked_at IS NULL", 2, 1, 0, NULL },
	/* A user's PAT ($2), a team token of groups ($3), or (both NULL) any. */
	[ST_REVOKE] = { "pat_revoke",
	    "SELECT pat_revoke($1::uuid, $2, " GROUPS_PARAM("$3") ", $4, $5, $6, $7)",
	    7, 0, 1, db_true_or_not_found },
	/* The lookup, and once a minute the last-used write, in one round trip. */
	/*
	 * A token that is refused (inactive, or rotated past its grace) is
	 * not touched: using it must not make it look used.
	 */
	[ST_USE] = { "pat_use",
	    "SELECT " PAT_COLUMNS ", "
	    "CASE WHEN revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now()) "
	    "AND (grace_until IS NULL OR grace_until > now()) "
	    "AND ($3::int IS NULL OR coalesce(last_used_at, created_at) > "
	    "now() - make_interval(days => $3::int)) "
	    "AND (last_used_at IS NULL OR last_used_at < now() - interval '60 seconds') "
	    "THEN pat_touch(id, $2) END "
	    "FROM pat WHERE token_hmac = $1", 3, 1, 0, NULL },
	/*
	 * An owner's events, or a token's, newest first, before an event id.
	 * Two statements, each a plain index range under the generic plan: one
	 * with "$n IS NULL OR ..." for either walked the whole audit table.
	 */
	[ST_AUDIT_OWNER] = { "audit_owner",
	    "SELECT " AUDIT_COLUMNS " FROM audit "
	    "WHERE owner_kind = $1 AND owner = $2 "
	    "AND id < coalesce($3::int8, " AUDIT_ID_END ") "
	    "ORDER BY id DESC LIMIT $4", 4, 1, 0, NULL },
	[ST_AUDIT_TOKEN] = { "audit_token",
	    "SELECT " AUDIT_COLUMNS " FROM audit "
	    "WHERE token_id = $1::uuid "
	    "AND ($2::text IS NULL OR (owner_kind = $2 AND owner = $3)) "
	    "AND id < coalesce($4::int8, " AUDIT_ID_END ") "
	    "ORDER BY id DESC LIMIT $5", 5, 1, 0, NULL },
	/*
	 * The admin tool's list: any owner's, revoked ones too, by last use.
	 * Its state is the API's (pat.c), worked out by the tool, so that the
	 * one rule names and filters it.
	 */
	[ST_ADMIN_LIST] = { "admin_list",
	    "SELECT " PAT_COLUMNS " FROM pat "
	    "WHERE (CASE WHEN $1::text IS NULL THEN owner_email = $2 AND owner_group IS NULL "
	    "ELSE owner_group = $1 END) "
	    "AND ($3::int IS NULL OR coalesce(last_used_at, created_at) < "
	    "now() - make_interval(days => $3::int)) "
	    "ORDER BY pat.created_at DESC, pat.id DESC", 3, 1, 0, NULL },
	/* The admin tool's writes: each answers the tokens it changed. */
	[ST_REVOKE_OWNER] = { "revoke_owner",
	    "SELECT " CHANGED_COLUMNS " FROM pat_revoke_owner($1, $2, $3)", 3, 0, 1,
	    NULL },
	[ST_PURGE] = { "purge",
	    "SELECT " CHANGED_COLUMNS " FROM pat_purge($1::int, $2)", 2, 0, 1, NULL },
	/* Expiry notices, claimed once each (sql/0011); the windows joined by commas. */
	[ST_NOTICE_CLAIM] = { "notice_claim",
	    "SELECT token_id, owner_kind, owner, email, description, expires_at, "
	    "window_days FROM pat_notice_claim(string_to_array($1, ',')::int[])",
	    1, 0, 1, NULL },
	[ST_NOTICE_RELEASE] = { "notice_release",
	    "SELECT pat_notice_release($1::uuid, $2::int)", 2, 0, 1, NULL },
	[ST_GET_ID] = { "pat_get_id",
	    "SELECT " PAT_COLUMNS " FROM pat WHERE id = $1::uuid AND revoked_at IS NULL",
	    1, 1, 0, NULL },
	/* 'ok', 'not_found' or 'rotated' (sql/0008). */
	[ST_ROTATE] = { "pat_rotate",
	    "SELECT pat_rotate($1::uuid, $2, " GROUPS_PARAM("$3") ", $4::int, $5::uuid, "
	    "$6, " US_TO_TIMESTAMPTZ("$7") ", " MS_TO_TIMESTAMPTZ("$8") ", $9, $10, "
	    "$11, $12)", 12, 0, 1, db_rotated },
	[ST_REUSE] = { "pat_reuse", "SELECT pat_reuse($1::uuid, $2)", 2, 1, 1, NULL },
	/* The HMACs come hex-encoded, joined by commas. */
	[ST_REVOKE_HMACS] = { "pat_revoke_hmacs",
	    "SELECT pat_revoke_hmacs(ARRAY(SELECT decode(h, 'hex') FROM "
	    "unnest(string_to_array($1, ',')) AS h), $2)", 2, 0, 1, NULL },
	[ST_REKEY] = { "pat_rekey", "SELECT pat_rekey($1::uuid, $2, $3)", 3, 1, 1, NULL },
	/* The lookup alone, for a standby, which refuses writes (SQLSTATE 25006). */
	[ST_LOOKUP] = { "pat_lookup",
	    "SELECT " PAT_COLUMNS " FROM pat WHERE token_hmac = $1", 1, 1, 0, NULL },
	/* The uses of cached tokens, batched: ids and addresses joined by commas. */
	[ST_TOUCH] = { "pat_touch_many",
	    "SELECT count(pat_touch(t.id::uuid, nullif(t.addr, ''))) FROM "
	    "unnest(string_to_array($1, ','), string_to_array($2, ',')) AS t(id, addr)",
	    2, 1, 1, NULL },
	/* Where the node's WAL is: a standby's replayed, a primary's written. */
	[ST_WAL] = { "wal_position",
	    "SELECT pg_is_in_recovery(), ((CASE WHEN pg_is_in_recovery() "
	    "THEN coalesce(pg_last_wal_replay_lsn(), '0/0') ELSE pg_current_wal_lsn() END) "
	    "- '0/0'::pg_lsn)::int8", 0, 1, 0, NULL },
};

/*
 * A write may be sent and left to commit while the worker reads the next
 * request (db_send_write).  Its outcome is read when the worker asks for
 * it, or first thing when another statement needs the connection, and is
 * then kept until asked for: so one outcome may wait while the next write
 * is in flight, and they are asked for in the order they were sent.
 */
struct db {
	char		*conninfo;
	PGconn		*conn;
	struct timespec	 retry_at;	/* no connect attempt before this */
	enum error	 failed;	/* why the last attempt failed */
	enum db_stmt	 inflight;	/* whose result is still to be read; ST__COUNT: none */
	struct timespec	 inflight_deadline;
	int		 kept;		/* an outcome waits in kept_err */
	enum error	 kept_err;
	char		 listen[128];	/* "LISTEN a; LISTEN b" on each connection */
	int		 commit_unknown; /* the server gave up waiting for a standby */
	unsigned long	 generation;	/* counts the connections made */
	int64_t		 connected_ms;	/* monotonic: when this one listened */
};

struct db *
db_new(const char *conninfo)
{
	struct db *db = xcalloc(1, sizeof(*db));

	db->conninfo = xstrdup(conninfo);
	db->inflight = ST__COUNT;
	return db;
}

void
db_free(struct db *db)
{
	if (db == NULL)
		return;
	PQfinish(db->conn);
	free(db->conninfo);
	free(db);
}

static void
db_log_error(const char *event, const char *msg)
{
	if (strcmp(event, "db_notice") != 0)
		metrics_count(M_DB_ERRORS);
	char clean[512];

	log_msg(LVL_WARN, "event=%s reason=\"%s\"", event,
	    log_clean(clean, sizeof(clean), msg));
}

/*
 * Route the server's notices (such as "terminating connection") to our log.
 * One says that a COMMIT stopped waiting for the synchronous standby (a
 * cancel, or the server shutting down): it committed here but may be lost
 * in a failover, so the write it ends is not answered as a success.
 */
static void
db_notice(void *arg, const PGresult *res)
{
	struct db *db = arg;
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

	if (msg != NULL && strstr(msg, "synchronous replication") != NULL)
		db->commit_unknown = 1;
	db_log_error("db_notice", PQresultErrorMessage(res));
}

static PGconn *
db_open(const char *conninfo)
{
	/* Defaults first: the URL given in conninfo overrides them. */
	const char *keys[] = { "connect_timeout", "application_name", "dbname", NULL };
	const char *vals[] = { "3", "patgate", conninfo, NULL };

	return PQconnectdbParams(keys, vals, 1);
}

/* Is the schema at least as new as the last migration this build knows? */
static enum error
db_schema_check(PGconn *conn)
{
	const char *want = migrations[migrations_count - 1].version;
	enum error e = ERR_SCHEMA;
	PGresult *res;

	res = PQexecParams(conn, "SELECT max(version) FROM schema_migrations",
	    0, NULL, NULL, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
	    !PQgetisnull(res, 0, 0) && strcmp(PQgetvalue(res, 0, 0), want) >= 0)
		e = ERR_OK;
	else if (PQstatus(conn) != CONNECTION_OK)
		e = ERR_UNAVAILABLE;
	PQclear(res);
	if (e == ERR_SCHEMA)
		log_msg(LVL_ERROR, "event=schema_outdated need=%s "
		    "fix=\"run: patgate.fcgi --migrate\"", want);
	return e;
}

static enum error
db_connect(struct db *db)
{
	struct timespec now;
	enum error e;
	PGresult *res;
	int i;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec < db->retry_at.tv_sec || (now.tv_sec == db->retry_at.tv_sec &&
	    now.tv_nsec < db->retry_at.tv_nsec))
		return db->failed;
	db->conn = db_open(db->conninfo);
	PQsetNoticeReceiver(db->conn, db_notice, db);
	if (PQstatus(db->conn) != CONNECTION_OK) {
		db_log_error("db_unreachable", PQerrorMessage(db->conn));
		e = ERR_UNAVAILABLE;
		goto err;
	}
	if ((e = db_schema_check(db->conn)) != ERR_OK)
		goto err;
	/*
	 * Every statement here is an index lookup, whose generic plan is right
	 * for any parameter; left to itself the server may plan some anew on
	 * every execution.  A statement_timeout set for the role would cancel
	 * a COMMIT waiting for the synchronous standby, committed but maybe
	 * not replicated: patgate's own deadline (DB_TIMEOUT_S) answers 503
	 * instead and leaves the server to finish.
	 */
	res = PQexec(db->conn, "SET plan_cache_mode = force_generic_plan; "
	    "SET statement_timeout = 0");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		db_log_error("db_setup_failed", PQresultErrorMessage(res));
		e = PQstatus(db->conn) == CONNECTION_OK ? ERR_INTERNAL : ERR_UNAVAILABLE;
		PQclear(res);
		goto err;
	}
	PQclear(res);
	for (i = 0; i < ST__COUNT; i++) {
		res = PQprepare(db->conn, db_stmts[i].name, db_stmts[i].sql,
		    db_stmts[i].nparams, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			db_log_error("db_prepare_failed", PQresultErrorMessage(res));
			e = PQstatus(db->conn) == CONNECTION_OK ? ERR_INTERNAL :
			    ERR_UNAVAILABLE;
			PQclear(res);
			goto err;
		}
		PQclear(res);
	}
	if (db->listen[0] != '\0') {
		res = PQexec(db->conn, db->listen);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			db_log_error("db_listen_failed", PQresultErrorMessage(res));
			e = PQstatus(db->conn) == CONNECTION_OK ? ERR_INTERNAL :
			    ERR_UNAVAILABLE;
			PQclear(res);
			goto err;
		}
		PQclear(res);
	}
	/* Whatever was notified while no connection listened is lost: say so. */
	clock_gettime(CLOCK_MONOTONIC, &now);
	db->connected_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	if (db->generation++ > 0)
		metrics_count(M_DB_RECONNECTS);
	log_msg(LVL_INFO, "event=db_connected");
	return ERR_OK;
err:
	PQfinish(db->conn);
	db->conn = NULL;
	db->failed = e;
	db->retry_at = now;
	db->retry_at.tv_nsec += DB_RETRY_MS * 1000000L;
	if (db->retry_at.tv_nsec >= 1000000000L) {
		db->retry_at.tv_sec++;
		db->retry_at.tv_nsec -= 1000000000L;
	}
	return e;
}

/*
 * Connect if needed.  An idle connection has nothing to say, so input
 * waiting on it means the server closed it (a restart, pg_terminate_backend).
 * With probe set, look for that before sending, so that a statement which
 * cannot be repeated goes to a fresh connection instead of failing with its
 * commit state unknown.  Repeatable statements skip the probe (a syscall)
 * and are simply run again after a failure.
 */
static enum error
db_ready_idle(struct db *db, int probe)
{
	struct pollfd pfd;
	int i;

	if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK && !probe)
		return ERR_OK;
	if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK) {
		pfd.fd = PQsocket(db->conn);
		pfd.events = POLLIN;
		/*
		 * A server that quits sends its reason, then end-of-file: read
		 * both.  Notifications (LISTEN) arrive too; libpq keeps them
		 * for db_notifies.
		 */
		for (i = 0; i < 64 && poll(&pfd, 1, 0) > 0; i++)
			if (PQconsumeInput(db->conn) != 1 ||
			    PQstatus(db->conn) != CONNECTION_OK)
				break;
		if (PQstatus(db->conn) == CONNECTION_OK)
			return ERR_OK;
		log_msg(LVL_INFO, "event=db_connection_lost action=reconnect");
	}
	PQfinish(db->conn);
	db->conn = NULL;
	return db_connect(db);
}

/* What a failed statement means for the caller. */
static enum error
db_failure(struct db *db, PGresult *res)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	db_log_error("db_error", res != NULL ? PQresultErrorMessage(res) :
	    PQerrorMessage(db->conn));
	if (PQstatus(db->conn) != CONNECTION_OK)
		return ERR_UNAVAILABLE;
	if (state != NULL && (strncmp(state, "08", 2) == 0 ||
	    strncmp(state, "53", 2) == 0 || strncmp(state, "57P", 3) == 0))
		return ERR_UNAVAILABLE;
	/*
	 * A node that is (or has become) a standby: a write connection found
	 * the primary at connect time, and the primary changed since.  Drop it:
	 * the next statement connects to the one that takes writes now.
	 */
	if (state != NULL && strcmp(state, "25006") == 0) {
		log_msg(LVL_WARN, "event=db_read_only action=reconnect");
		PQfinish(db->conn);
		db->conn = NULL;
		return ERR_UNAVAILABLE;
	}
	if (state != NULL && (strcmp(state, "42P01") == 0 ||
	    strcmp(state, "42703") == 0))
		return ERR_SCHEMA;
	return ERR_INTERNAL;
}

static int
db_ms_left(const struct timespec *deadline)
{
	struct timespec now;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (deadline->tv_sec - now.tv_sec) * 1000 +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : (int)ms;
}

/* Send a prepared statement, to be answered by deadline; 0 when it could not be sent. */
static int
db_start(struct db *db, enum db_stmt st, const char *const *values,
    const int *lengths, const int *formats, struct timespec *deadline)
{
	clock_gettime(CLOCK_MONOTONIC, deadline);
	deadline->tv_sec += DB_TIMEOUT_S;
	return PQsendQueryPrepared(db->conn, db_stmts[st].name, db_stmts[st].nparams,
	    values, lengths, formats, 1) == 1;
}

/*
 * Wait for the result of the statement sent, at most until its deadline:
 * a server that stops answering must not hold the worker.  NULL when the
 * connection failed or the deadline passed (*timed_out set).
 */
static PGresult *
db_wait(struct db *db, const struct timespec *deadline, int *timed_out)
{
	struct pollfd pfd;
	PGresult *res = NULL, *next;
	int n;

	*timed_out = 0;
	for (;;) {
		while (!PQisBusy(db->conn)) {
			if ((next = PQgetResult(db->conn)) == NULL)
				return res;
			PQclear(res);
			res = next;
		}
		pfd.fd = PQsocket(db->conn);
		pfd.events = POLLIN;
		if ((n = poll(&pfd, 1, db_ms_left(deadline))) == 0) {
			*timed_out = 1;
			PQclear(res);
			return NULL;
		}
		if (n < 0 && errno != EINTR) {
			PQclear(res);
			return NULL;
		}
		/* On failure the next PQgetResult reports it. */
		(void)PQconsumeInput(db->conn);
	}
}

/* What a statement's result means.  After a timeout the connection is dropped. */
static enum error
db_outcome(struct db *db, enum db_stmt st, PGresult *res, int timed_out)
{
	int unknown = db->commit_unknown;

	db->commit_unknown = 0;
	if (unknown && db_stmts[st].write) {
		log_msg(LVL_WARN, "event=db_commit_unknown statement=%s "
		    "reason=\"the synchronous standby may not have it\"", db_stmts[st].name);
		return ERR_UNAVAILABLE;
	}
	if (PQresultStatus(res) == PGRES_TUPLES_OK ||
	    PQresultStatus(res) == PGRES_COMMAND_OK)
		return ERR_OK;
	if (timed_out) {
		log_msg(LVL_WARN, "event=db_timeout statement=%s seconds=%d "
		    "action=reconnect", db_stmts[st].name, DB_TIMEOUT_S);
		PQfinish(db->conn);
		db->conn = NULL;
		return ERR_UNAVAILABLE;
	}
	return db_failure(db, res);
}

/* A function of sql/ that answers one boolean: is it the binary true? */
static int
db_true(PGresult *res)
{
	return PQntuples(res) == 1 && PQgetlength(res, 0, 0) == 1 &&
	    PQgetvalue(res, 0, 0)[0] == 1;
}

/* pat_create answers false, having written nothing, at the cap. */
static enum error
db_true_or_limit(PGresult *res)
{
	return db_true(res) ? ERR_OK : PQntuples(res) == 1 ? ERR_LIMIT : ERR_INTERNAL;
}

static enum error
db_true_or_not_found(PGresult *res)
{
	return db_true(res) ? ERR_OK : PQntuples(res) == 1 ? ERR_NOT_FOUND : ERR_INTERNAL;
}

/* pat_rotate's answer: ERR_CONFLICT when the token was rotated before. */
static enum error
db_rotated(PGresult *res)
{
	const char *v;

	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
		return ERR_INTERNAL;
	v = PQgetvalue(res, 0, 0);
	if (strcmp(v, "ok") == 0)
		return ERR_OK;
	return strcmp(v, "rotated") == 0 ? ERR_CONFLICT : ERR_NOT_FOUND;
}

/* Free the connection for another statement: read a write in flight and keep its outcome. */
static void
db_settle(struct db *db)
{
	enum db_stmt st = db->inflight;
	PGresult *res;
	int timed_out;

	if (st == ST__COUNT)
		return;
	db->inflight = ST__COUNT;
	res = db_wait(db, &db->inflight_deadline, &timed_out);
	db->kept_err = db_outcome(db, st, res, timed_out);
	if (db->kept_err == ERR_OK && db_stmts[st].outcome != NULL)
		db->kept_err = db_stmts[st].outcome(res);
	db->kept = 1;
	PQclear(res);
}

/*
 * Run a prepared statement.  One that is safe to repeat and finds the connection broken (the
 * server restarted since the last request) reconnects and runs once more.
 */
static enum error
db_exec(struct db *db, enum db_stmt st, const char *const *values,
    const int *lengths, const int *formats, PGresult **out)
{
	struct timespec deadline;
	enum error e;
	int attempt, timed_out;

	*out = NULL;
	db_settle(db);
	for (attempt = 0; attempt < 2; attempt++) {
		if ((e = db_ready_idle(db, !db_stmts[st].retry)) != ERR_OK)
			return e;
		timed_out = 0;
		if (db_start(db, st, values, lengths, formats, &deadline))
			*out = db_wait(db, &deadline, &timed_out);
		if ((e = db_outcome(db, st, *out, timed_out)) == ERR_OK) {
			if (db_stmts[st].outcome != NULL &&
			    (e = db_stmts[st].outcome(*out)) != ERR_OK) {
				PQclear(*out);
				*out = NULL;
			}
			return e;
		}
		PQclear(*out);
		*out = NULL;
		if (timed_out || e != ERR_UNAVAILABLE || !db_stmts[st].retry)
			break;
		PQfinish(db->conn);
		db->conn = NULL;
	}
	return e;
}

void
db_listen(struct db *db, const char *channel)
{
	size_t n = strlen(db->listen);

	if (strstr(db->listen, channel) == NULL)
		snprintf(db->listen + n, sizeof(db->listen) - n, "%sLISTEN %s",
		    n > 0 ? "; " : "", channel);
}

int64_t
db_connected_ms(const struct db *db)
{
	return db_generation(db) != 0 ? db->connected_ms : 0;
}

void
db_disconnect(struct db *db)
{
	db_settle(db);
	PQfinish(db->conn);
	db->conn = NULL;
}

enum error
db_wal_position(struct db *db, int *standby, int64_t *lsn)
{
	PGresult *res;
	enum error e;
	int present;

	if ((e = db_exec(db, ST_WAL, NULL, NULL, NULL, &res)) != ERR_OK)
		return e;
	if (PQntuples(res) != 1 || PQgetlength(res, 0, 0) != 1) {
		PQclear(res);
		return ERR_INTERNAL;
	}
	*standby = PQgetvalue(res, 0, 0)[0] == 1;
	*lsn = db_int(res, 0, 1, &present);
	PQclear(res);
	return present ? ERR_OK : ERR_INTERNAL;
}

unsigned long
db_generation(const struct db *db)
{
	return db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK ?
	    db->generation : 0;
}

void
db_heard(struct db *db, void (*cb)(void *, const char *, const char *), void *arg)
{
	PGnotify *n;
	size_t heard = 0;

	if (db->conn == NULL)
		return;
	while ((n = PQnotifies(db->conn)) != NULL) {
		cb(arg, n->relname, n->extra);
		PQfreemem(n);
		heard++;
	}
	/*
	 * A burst (a purge, many creates or revokes) came as as many small
	 * blocks, all freed now but spread over the heap: give their pages
	 * back, as a large answer's are.
	 */
	if (heard >= DB_NOTIFY_BURST)
		malloc_trim(0);
}

int
db_notifies(struct db *db, void (*cb)(void *, const char *, const char *), void *arg)
{
	struct pollfd pfd;

	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK)
		return -1;
	pfd.fd = PQsocket(db->conn);
	pfd.events = POLLIN;
	/* A server that quits sends its reason, then end-of-file: read to the end. */
	for (int i = 0; i < 16 && poll(&pfd, 1, 0) > 0; i++)
		if (PQconsumeInput(db->conn) != 1 || PQstatus(db->conn) != CONNECTION_OK)
			return -1;
	db_heard(db, cb, arg);
	return 0;
}

enum error
db_ready(struct db *db)
{
	db_settle(db);
	return db_ready_idle(db, 1);
}

enum error
db_ping(struct db *db)
{
	PGresult *res;
	enum error e;

	if ((e = db_exec(db, ST_PING, NULL, NULL, NULL, &res)) == ERR_OK)
		PQclear(res);
	return e;
}

static const char *
db_copy(struct arena *a, PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col))
		return NULL;
	return arena_strndup(a, PQgetvalue(res, row, col),
	    (size_t)PQgetlength(res, row, col));
}

/* A binary integer column (int2, int4 or int8, network order). */
static int64_t
db_int(PGresult *res, int row, int col, int *present)
{
	const unsigned char *v = (const unsigned char *)PQgetvalue(res, row, col);
	int len = PQgetlength(res, row, col), isnull = PQgetisnull(res, row, col);
	uint64_t u = 0;

	if (present != NULL)
		*present = !isnull;
	if (isnull || (len != 2 && len != 4 && len != 8))
		return 0;
	for (int i = 0; i < len; i++)
		u = u << 8 | v[i];
	if (len < 8 && (v[0] & 0x80))
		u |= ~(uint64_t)0 << (8 * len);	/* sign-extend */
	return (int64_t)u;
}

/* A binary timestamptz (microseconds since 2000) as epoch milliseconds. */
static int64_t
db_ms(PGresult *res, int row, int col, int *present)
{
	int64_t us = db_int(res, row, col, present) + DB_PG_EPOCH_US;

	return us >= 0 ? us / 1000 : -((-us + 999) / 1000);
}

/* A binary uuid as its lower-case text form. */
static const char *
db_uuid(struct arena *a, PGresult *res, int row, int col)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *v = (const unsigned char *)PQgetvalue(res, row, col);
	char *s, *p;

	if (PQgetisnull(res, row, col) || PQgetlength(res, row, col) != 16 ||
	    (p = s = arena_alloc(a, 37)) == NULL)
		return NULL;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		*p++ = hex[v[i] >> 4];
		*p++ = hex[v[i] & 15];
	}
	*p = '\0';
	return s;
}

/* Split the DB_GROUP_SEP-joined groups of a row into an array in the arena. */
static int
db_groups_split(struct arena *a, const char *joined, const char ***groups,
    size_t *ngroups)
{
	size_t n = 0, i = 0;
	const char *p, *q;

	*groups = NULL;
	*ngroups = 0;
	if (joined == NULL)
		return -1;
	if (*joined == '\0')
		return 0;
	for (p = joined, n = 1; *p != '\0'; p++)
		n += *p == DB_GROUP_SEP;
	if ((*groups = arena_alloc(a, n * sizeof(**groups))) == NULL)
		return -1;
	for (p = joined; i < n; p = q + 1) {
		if ((q = strchr(p, DB_GROUP_SEP)) == NULL)
			q = p + strlen(p);
		if (((*groups)[i++] = arena_strndup(a, p, (size_t)(q - p))) == NULL)
			return -1;
	}
	*ngroups = n;
	return 0;
}

/* The groups of a new row, joined by DB_GROUP_SEP for string_to_array. */
static char *
db_groups_join(struct arena *a, const char *const *groups, size_t n)
{
	size_t i, len = 1;
	char *s, *p;

	for (i = 0; i < n; i++)
		len += strlen(groups[i]) + 1;
	if ((p = s = arena_alloc(a, len)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (i > 0)
			*p++ = DB_GROUP_SEP;
		p = stpcpy(p, groups[i]);
	}
	*p = '\0';
	return s;
}

/* Fill r from one row of PAT_COLUMNS. */
static int
db_row(struct arena *a, PGresult *res, int row, struct pat_row *r)
{
	r->id = db_uuid(a, res, row, COL_ID);
	r->email = db_copy(a, res, row, COL_EMAIL);
	r->name = db_copy(a, res, row, COL_NAME);
	r->group = db_copy(a, res, row, COL_GROUP);
	r->description = db_copy(a, res, row, COL_DESCRIPTION);
	r->days = db_int(res, row, COL_DAYS, NULL);
	r->hours = db_int(res, row, COL_HOURS, NULL);
	r->minutes = db_int(res, row, COL_MINUTES, NULL);
	r->created_ms = db_ms(res, row, COL_CREATED, NULL);
	r->updated_ms = db_ms(res, row, COL_UPDATED, NULL);
	r->updated_by = db_copy(a, res, row, COL_UPDATED_BY);
	r->expires_ms = db_ms(res, row, COL_EXPIRES, &r->has_expires);
	r->last_used_ms = db_ms(res, row, COL_LAST_USED, &r->has_last_used);
	r->revoked = PQgetvalue(res, row, COL_REVOKED)[0] == 1;
	r->grace_ms = db_ms(res, row, COL_GRACE, &r->rotated);
	r->rotated_to = db_uuid(a, res, row, COL_ROTATED_TO);
	r->reused_ms = db_ms(res, row, COL_REUSED, &r->has_reused);
	if (db_groups_split(a, db_copy(a, res, row, COL_GROUPS), &r->groups,
	    &r->ngroups) == -1)
		return -1;
	return r->id && r->email && r->name && r->description &&
	    r->updated_by ? 0 : -1;
}

/*
 * Send a write and return while it commits; db_result gives its outcome.
 * Only a statement that cannot be repeated needs this: it goes to a fresh
 * connection if the idle one was closed under it.
 */
static enum error
db_send_write(struct db *db, enum db_stmt st, const char *const *values,
    const int *lengths, const int *formats)
{
	enum error e;

	db_settle(db);
	if ((e = db_ready_idle(db, 1)) != ERR_OK)
		return e;
	/* libpq has copied the values into its buffer when this returns. */
	if (!db_start(db, st, values, lengths, formats, &db->inflight_deadline))
		return db_failure(db, NULL);
	db->inflight = st;
	return ERR_OK;
}

enum error
db_result(struct db *db)
{
	if (!db->kept && db->inflight == ST__COUNT)
		return ERR_INTERNAL;
	if (!db->kept)
		db_settle(db);
	db->kept = 0;
	return db->kept_err;
}

enum error
db_pat_insert_send(struct db *db, struct arena *a, const struct pat_new *p,
    const struct db_actor *who)
{
	char days[24], hours[24], minutes[24], created[24], expires[24], cap[24];
	const char *groups = db_groups_join(a, p->groups, p->ngroups);
	const char *values[17] = { p->id, (const char *)p->hmac, p->email, p->name,
	    groups, p->group, p->description, days, hours, minutes, created,
	    p->expires_ms >= 0 ? expires : NULL, cap, who->who, who->via, who->addr,
	    who->request_id };
	const int lengths[17] = { 0, 32 }, formats[17] = { 0, 1 };

	if (groups == NULL)
		return ERR_INTERNAL;
	snprintf(days, sizeof(days), "%lld", p->days);
	snprintf(hours, sizeof(hours), "%lld", p->hours);
	snprintf(minutes, sizeof(minutes), "%lld", p->minutes);
	snprintf(created, sizeof(created), "%lld", (long long)p->created_us);
	snprintf(expires, sizeof(expires), "%lld", (long long)p->expires_ms);
	snprintf(cap, sizeof(cap), "%ld", p->cap);
	return db_send_write(db, ST_INSERT, values, lengths, formats);
}

/* Run a statement that returns token rows, newest first. */
static enum error
db_rows(struct db *db, enum db_stmt st, const char *const *values, struct arena *a,
    struct pat_row **rows, size_t *nrows)
{
	PGresult *res;
	enum error e;
	int i, n;

	*rows = NULL;
	*nrows = 0;
	if ((e = db_exec(db, st, values, NULL, NULL, &res)) != ERR_OK)
		return e;
	n = PQntuples(res);
	if (n > 0 && (*rows = arena_alloc(a, (size_t)n * sizeof(**rows))) == NULL)
		e = ERR_INTERNAL;
	for (i = 0; i < n && e == ERR_OK; i++)
		if (db_row(a, res, i, &(*rows)[i]) == -1)
			e = ERR_INTERNAL;
	if (e == ERR_OK)
		*nrows = (size_t)n;
	PQclear(res);
	return e;
}

enum error
db_pat_list(struct db *db, struct arena *a, const char *email, long limit,
    struct pat_row **rows, size_t *nrows)
{
	char lim[24];
	const char *values[2] = { email, lim };

	snprintf(lim, sizeof(lim), "%ld", limit);
	return db_rows(db, ST_LIST, values, a, rows, nrows);
}

enum error
db_team_list(struct db *db, struct arena *a, const char *const *groups,
    size_t ngroups, long limit, struct pat_row **rows, size_t *nrows)
{
	char lim[24];
	const char *values[2] = { db_groups_join(a, groups, ngroups), lim };

	*rows = NULL;
	*nrows = 0;
	if (values[0] == NULL)
		return ERR_INTERNAL;
	if (ngroups == 0)
		return ERR_OK;
	snprintf(lim, sizeof(lim), "%ld", limit);
	return db_rows(db, ST_TEAM_LIST, values, a, rows, nrows);
}

/* Run a statement that returns at most one token row. */
static enum error
db_one(struct db *db, enum db_stmt st, const char *const *values,
    const int *lengths, const int *formats, struct arena *a, struct pat_row *r)
{
	PGresult *res;
	enum error e;

	if ((e = db_exec(db, st, values, lengths, formats, &res)) != ERR_OK)
		return e;
	if (PQntuples(res) != 1)
		e = ERR_NOT_FOUND;
	else if (db_row(a, res, 0, r) == -1)
		e = ERR_INTERNAL;
	PQclear(res);
	return e;
}

enum error
db_pat_get(struct db *db, struct arena *a, const char *id, const char *email,
    struct pat_row *r)
{
	const char *values[2] = { id, email };

	return db_one(db, ST_GET, values, NULL, NULL, a, r);
}

enum error
db_pat_revoke(struct db *db, struct arena *a, const char *id, const char *user,
    const char *const *groups, size_t ngroups, const struct db_actor *who)
{
	const char *values[7] = { id, user, NULL, who->who, who->via, who->addr,
	    who->request_id };
	PGresult *res;
	enum error e;

	if (groups != NULL) {
		if (ngroups == 0)
			return ERR_NOT_FOUND;
		if ((values[2] = db_groups_join(a, groups, ngroups)) == NULL)
			return ERR_INTERNAL;
	}
	if ((e = db_exec(db, ST_REVOKE, values, NULL, NULL, &res)) == ERR_OK)
		PQclear(res);
	return e;
}

enum error
db_pat_use(struct db *db, struct arena *a, const unsigned char hmac[32],
    const char *addr, long inactive_days, struct pat_row *r)
{
	char days[24];
	const char *values[3] = { (const char *)hmac, addr,
	    inactive_days > 0 ? days : NULL };
	const int lengths[3] = { 32, 0, 0 }, formats[3] = { 1, 0, 0 };

	snprintf(days, sizeof(days), "%ld", inactive_days);
	return db_one(db, ST_USE, values, lengths, formats, a, r);
}

enum error
db_pat_lookup(struct db *db, struct arena *a, const unsigned char hmac[32],
    struct pat_row *r)
{
	const char *values[1] = { (const char *)hmac };
	const int lengths[1] = { 32 }, formats[1] = { 1 };

	return db_one(db, ST_LOOKUP, values, lengths, formats, a, r);
}

enum error
db_pat_get_id(struct db *db, struct arena *a, const char *id, struct pat_row *r)
{
	const char *values[1] = { id };

	return db_one(db, ST_GET_ID, values, NULL, NULL, a, r);
}

enum error
db_pat_rotate(struct db *db, struct arena *a, const char *old_id, const char *user,
    const char *const *groups, size_t ngroups, long grace_s, const struct pat_new *p,
    const struct db_actor *who)
{
	char grace[24], created[24], expires[24];
	const char *values[12] = { old_id, user, NULL, grace, p->id, (const char *)p->hmac,
	    created, p->expires_ms >= 0 ? expires : NULL, who->who, who->via, who->addr,
	    who->request_id };
	const int lengths[12] = { 0, 0, 0, 0, 0, 32 }, formats[12] = { 0, 0, 0, 0, 0, 1 };
	PGresult *res;
	enum error e;

	if (groups != NULL && (values[2] = db_groups_join(a, groups, ngroups)) == NULL)
		return ERR_INTERNAL;
	snprintf(grace, sizeof(grace), "%ld", grace_s);
	snprintf(created, sizeof(created), "%lld", (long long)p->created_us);
	snprintf(expires, sizeof(expires), "%lld", (long long)p->expires_ms);
	if ((e = db_exec(db, ST_ROTATE, values, lengths, formats, &res)) == ERR_OK)
		PQclear(res);
	return e;
}

enum error
db_pat_reuse(struct db *db, const char *id, const char *addr)
{
	const char *values[2] = { id, addr };
	PGresult *res;
	enum error e;

	if ((e = db_exec(db, ST_REUSE, values, NULL, NULL, &res)) == ERR_OK)
		PQclear(res);
	return e;
}

enum error
db_revoke_hmacs(struct db *db, struct arena *a, const unsigned char (*hmacs)[32],
    size_t n, const char *addr, long *count)
{
	static const char hex[] = "0123456789abcdef";
	const char *values[2] = { NULL, addr };
	char *s, *p;
	size_t i, j;

	*count = 0;
	if (n == 0)
		return ERR_OK;
	if ((p = s = arena_alloc(a, n * 65)) == NULL)
		return ERR_INTERNAL;
	for (i = 0; i < n; i++) {
		if (i > 0)
			*p++ = ',';
		for (j = 0; j < 32; j++) {
			*p++ = hex[hmacs[i][j] >> 4];
			*p++ = hex[hmacs[i][j] & 15];
		}
	}
	*p = '\0';
	values[0] = s;
	return db_count(db, ST_REVOKE_HMACS, values, count);
}

enum error
db_touch(struct db *db, const char *ids, const char *addrs)
{
	const char *values[2] = { ids, addrs };
	PGresult *res;
	enum error e;

	if ((e = db_exec(db, ST_TOUCH, values, NULL, NULL, &res)) == ERR_OK)
		PQclear(res);
	return e;
}

enum error
db_rekey(struct db *db, const char *id, const unsigned char old[32],
    const unsigned char fresh[32])
{
	const char *values[3] = { id, (const char *)old, (const char *)fresh };
	const int lengths[3] = { 0, 32, 32 }, formats[3] = { 0, 1, 1 };
	PGresult *res;
	enum error e;

	if ((e = db_exec(db, ST_REKEY, values, lengths, formats, &res)) == ERR_OK)
		PQclear(res);
	return e;
}

/* ------------------------------------------------------------------ audit and admin */

enum error
db_audit_list(struct db *db, struct arena *a, const char *kind, const char *owner,
    const char *token_id, long long before, long limit, struct audit_row **rows,
    size_t *nrows)
{
	char lim[24], bef[24];
	const char *by_owner[4] = { kind, owner, before > 0 ? bef : NULL, lim };
	const char *by_token[5] = { token_id, kind, owner, before > 0 ? bef : NULL, lim };
	PGresult *res;
	enum error e;
	int i, n;

	*rows = NULL;
	*nrows = 0;
	if (token_id == NULL && (kind == NULL || owner == NULL))
		return ERR_INTERNAL;
	snprintf(lim, sizeof(lim), "%ld", limit);
	snprintf(bef, sizeof(bef), "%lld", before);
	if ((e = db_exec(db, token_id != NULL ? ST_AUDIT_TOKEN : ST_AUDIT_OWNER,
	    token_id != NULL ? by_token : by_owner, NULL, NULL, &res)) != ERR_OK)
		return e;
	n = PQntuples(res);
	if (n > 0 && (*rows = arena_alloc(a, (size_t)n * sizeof(**rows))) == NULL)
		e = ERR_INTERNAL;
	for (i = 0; i < n && e == ERR_OK; i++) {
		struct audit_row *r = &(*rows)[i];

		r->id = db_int(res, i, ACOL_ID, NULL);
		r->at_ms = db_ms(res, i, ACOL_AT, NULL);
		r->event = db_copy(a, res, i, ACOL_EVENT);
		r->token_id = db_uuid(a, res, i, ACOL_TOKEN);
		r->owner_kind = db_copy(a, res, i, ACOL_KIND);
		r->owner = db_copy(a, res, i, ACOL_OWNER);
		r->actor = db_copy(a, res, i, ACOL_ACTOR);
		r->via = db_copy(a, res, i, ACOL_VIA);
		r->addr = db_copy(a, res, i, ACOL_ADDR);
		r->request_id = db_copy(a, res, i, ACOL_REQUEST);
		if (r->event == NULL || r->owner == NULL || r->actor == NULL)
			e = ERR_INTERNAL;
	}
	if (e == ERR_OK)
		*nrows = (size_t)n;
	PQclear(res);
	return e;
}

enum error
db_admin_list(struct db *db, struct arena *a, const char *user, const char *group,
    long unused_days, struct pat_row **rows, size_t *nrows)
{
	char days[24];
	const char *values[3] = { group, user, unused_days >= 0 ? days : NULL };

	snprintf(days, sizeof(days), "%ld", unused_days);
	return db_rows(db, ST_ADMIN_LIST, values, a, rows, nrows);
}

/* Run a write that answers a count. */
static enum error
db_count(struct db *db, int st, const char *const *values, long *count)
{
	PGresult *res;
	enum error e;

	*count = 0;
	if ((e = db_exec(db, st, values, NULL, NULL, &res)) != ERR_OK)
		return e;
	if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
		*count = (long)db_int(res, 0, 0, NULL);
	PQclear(res);
	return ERR_OK;
}

/* Run a write of the admin tool that answers the tokens it changed. */
static enum error
db_changes(struct db *db, enum db_stmt st, const char *const *values,
    struct arena *a, struct db_changed **rows, size_t *nrows)
{
	PGresult *res;
	enum error e;
	int i, n;

	*rows = NULL;
	*nrows = 0;
	if ((e = db_exec(db, st, values, NULL, NULL, &res)) != ERR_OK)
		return e;
	n = PQntuples(res);
	if (n > 0 && (*rows = arena_alloc(a, (size_t)n * sizeof(**rows))) == NULL)
		e = ERR_INTERNAL;
	for (i = 0; i < n && e == ERR_OK; i++) {
		struct db_changed *r = &(*rows)[i];

		r->id = db_uuid(a, res, i, CCOL_ID);
		r->owner_kind = db_copy(a, res, i, CCOL_KIND);
		r->owner = db_copy(a, res, i, CCOL_OWNER);
		if (r->id == NULL || r->owner_kind == NULL || r->owner == NULL)
			e = ERR_INTERNAL;
	}
	if (e == ERR_OK)
		*nrows = (size_t)n;
	PQclear(res);
	return e;
}

enum error
db_revoke_owner(struct db *db, struct arena *a, const char *user, const char *group,
    const char *actor, struct db_changed **rows, size_t *nrows)
{
	const char *values[3] = { user, group, actor };

	return db_changes(db, ST_REVOKE_OWNER, values, a, rows, nrows);
}

enum error
db_purge(struct db *db, struct arena *a, long days, const char *actor,
    struct db_changed **rows, size_t *nrows)
{
	char d[24];
	const char *values[2] = { d, actor };

	snprintf(d, sizeof(d), "%ld", days);
	return db_changes(db, ST_PURGE, values, a, rows, nrows);
}

/* ------------------------------------------------------------------ expiry notices */

enum error
db_notice_claim(struct db *db, struct arena *a, const char *windows,
    struct db_notice **out, size_t *n)
{
	const char *values[1] = { windows };
	PGresult *res;
	enum error e;
	int i, rows;

	*out = NULL;
	*n = 0;
	if ((e = db_exec(db, ST_NOTICE_CLAIM, values, NULL, NULL, &res)) != ERR_OK)
		return e;
	rows = PQntuples(res);
	if (rows > 0 && (*out = arena_alloc(a, (size_t)rows * sizeof(**out))) == NULL)
		e = ERR_INTERNAL;
	for (i = 0; i < rows && e == ERR_OK; i++) {
		struct db_notice *x = &(*out)[i];

		x->token_id = db_uuid(a, res, i, 0);
		x->owner_kind = db_copy(a, res, i, 1);
		x->owner = db_copy(a, res, i, 2);
		x->email = db_copy(a, res, i, 3);
		x->description = db_copy(a, res, i, 4);
		x->expires_ms = db_ms(res, i, 5, NULL);
		x->window_days = (long)db_int(res, i, 6, NULL);
		if (x->token_id == NULL || x->owner == NULL || x->email == NULL)
			e = ERR_INTERNAL;
	}
	if (e == ERR_OK)
		*n = (size_t)rows;
	PQclear(res);
	return e;
}

enum error
db_notice_release(struct db *db, const char *token_id, long window_days)
{
	char w[24];
	const char *values[2] = { token_id, w };
	PGresult *res;
	enum error e;

	snprintf(w, sizeof(w), "%ld", window_days);
	if ((e = db_exec(db, ST_NOTICE_RELEASE, values, NULL, NULL, &res)) == ERR_OK)
		PQclear(res);
	return e;
}

/* ------------------------------------------------------------------ migrations */

static int
db_migrate_step(PGconn *conn, const char *sql, const char *const *params,
    int nparams, char *err, size_t errsz)
{
	PGresult *res;
	int ok;

	if (nparams < 0)	/* a migration file: several statements, no parameters */
		res = PQexec(conn, sql);
	else
		res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK ||
	    PQresultStatus(res) == PGRES_TUPLES_OK;
	if (!ok)
		snprintf(err, errsz, "%s", PQresultErrorMessage(res));
	else if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0)
		ok = 2;		/* a row came back */
	PQclear(res);
	return ok;
}

int
db_migrate(const char *conninfo, char *err, size_t errsz)
{
	PGconn *conn = db_open(conninfo);
	size_t i, applied = 0;
	int rc = -1, r;
	char *nl;

	if (PQstatus(conn) != CONNECTION_OK) {
		snprintf(err, errsz, "cannot connect to the database: %s",
		    PQerrorMessage(conn));
		goto done;
	}
	/* One migrator at a time; the key is arbitrary but fixed. */
	if (!db_migrate_step(conn, "SELECT pg_advisory_lock(7270061)", NULL, 0,
	    err, errsz) ||
	    !db_migrate_step(conn, "CREATE TABLE IF NOT EXISTS schema_migrations ("
	    "version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
	    NULL, 0, err, errsz))
		goto done;
	for (i = 0; i < migrations_count; i++) {
		const char *v[1] = { migrations[i].version };

		r = db_migrate_step(conn, "SELECT 1 FROM schema_migrations "
		    "WHERE version = $1", v, 1, err, errsz);
		if (r == 0)
			goto done;
		if (r == 2)
			continue;
		if (!db_migrate_step(conn, "BEGIN", NULL, 0, err, errsz))
			goto done;
		if (!db_migrate_step(conn, migrations[i].sql, NULL, -1, err, errsz) ||
		    !db_migrate_step(conn, "INSERT INTO schema_migrations (version) "
		    "VALUES ($1)", v, 1, err, errsz) ||
		    !db_migrate_step(conn, "COMMIT", NULL, 0, err, errsz)) {
			char why[512];

			snprintf(why, sizeof(why), "%s", err);
			PQclear(PQexec(conn, "ROLLBACK"));
			snprintf(err, errsz, "migration %s failed: %s",
			    migrations[i].version, why);
			goto done;
		}
		printf("applied %s\n", migrations[i].version);
		applied++;
	}
	printf("schema is up to date: %zu applied now, %zu known\n", applied,
	    migrations_count);
	rc = 0;
done:
	if ((nl = strchr(err, '\n')) != NULL)
		*nl = '\0';
	PQfinish(conn);
	return rc;
}
