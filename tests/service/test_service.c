/*
 * test_service.c - the token service (service.c) in process, against a real
 * throwaway PostgreSQL (tests/service/run makes it; PATGATE_TEST_DB names
 * it): create, check, list, get, revoke and the audit trail with real
 * principals, and for every change the one audit row and the one
 * notification that sql/0007 promises.  No HTTP and no nginx.
 */
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <openssl/rand.h>

#include "alloc.h"
#include "cache.h"
#include "db.h"
#include "jose.h"
#include "log.h"
#include "service.h"
#include "token.h"

#define CAP		3	/* max_tokens_per_user of the service under test */
#define ADDR		"192.0.2.7"

static struct db	*db;
static struct svc	 svc;
static struct arena	 arena;
static struct jose_hmac	*secret, *pepper;
static PGconn		*watch;		/* counts rows, and LISTENs patgate_token */

/* Someone acting: a caller and the principal it acts as. */
struct who {
	struct caller		 c;
	struct principal	 p;
	const char		*groups[2];
	char			 email[96];
};

static void
who_init(struct who *w, const char *tag, enum caller_via via, const char *group,
    enum owner_kind kind)
{
	static unsigned n;

	memset(w, 0, sizeof(*w));
	snprintf(w->email, sizeof(w->email), "%s-%ld-%u@example.com", tag,
	    (long)getpid(), ++n);
	w->c.via = via;
	w->c.email = w->email;
	w->c.name = tag;
	if (group != NULL) {
		w->groups[0] = group;
		w->c.groups = w->groups;
		w->c.ngroups = 1;
	}
	if (via == CALLER_TEAM)
		w->c.group = group;
	w->p.kind = kind;
	w->p.actor = &w->c;
	w->p.addr = ADDR;
	w->p.request_id = "svc-test";
}

/* A group name no other test (or run) uses. */
static const char *
group_new(const char *tag)
{
	static char names[16][64];
	static unsigned n;
	char *s = names[n++ % 16];

	snprintf(s, sizeof(names[0]), "%s-%ld-%u", tag, (long)getpid(), n);
	return s;
}

/* ------------------------------------------------------------------ the database, seen from outside */

static long long
count(const char *sql, const char *param)
{
	const char *values[1] = { param };
	PGresult *res = PQexecParams(watch, sql, param != NULL, NULL, values, NULL,
	    NULL, 0);
	long long v = -1;

	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	else
		print_error("count: %s", PQresultErrorMessage(res));
	PQclear(res);
	assert_true(v >= 0);
	return v;
}

static long long
audit_rows(const char *token_id)
{
	return count("SELECT count(*) FROM audit WHERE token_id = $1::uuid", token_id);
}

static long long
audit_total(void)
{
	return count("SELECT count(*) FROM audit", NULL);
}

/* Forget the notifications that came so far. */
static void
notify_drain(void)
{
	PGnotify *n;

	PQconsumeInput(watch);
	while ((n = PQnotifies(watch)) != NULL)
		PQfreemem(n);
}

/*
 * The notifications that come: into got (each "event:id"), at most max of
 * them.  It waits up to 3 s for want of them, then 200 ms more, so that
 * one too many is seen too.
 */
static size_t
notify_collect(char got[][64], size_t max, size_t want)
{
	struct pollfd pfd = { PQsocket(watch), POLLIN, 0 };
	struct timespec start, now;
	size_t n = 0;
	PGnotify *note;
	long waited, quiet = -1;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		/* Some may have come already, read while watch ran a count. */
		while ((note = PQnotifies(watch)) != NULL) {
			if (n < max)
				snprintf(got[n], 64, "%s", note->extra);
			n++;
			PQfreemem(note);
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		waited = (now.tv_sec - start.tv_sec) * 1000 +
		    (now.tv_nsec - start.tv_nsec) / 1000000;
		if (n >= want && quiet < 0)
			quiet = waited + 200;
		if (waited >= (quiet >= 0 ? quiet : 3000))
			return n;
		if (poll(&pfd, 1, 50) > 0)
			PQconsumeInput(watch);
	}
}

/* Exactly one notification, and it is this one. */
static void
assert_notified(const char *event, const char *id)
{
	char got[8][64], want[64];
	size_t n = notify_collect(got, 8, 1);

	snprintf(want, sizeof(want), "%s:%s", event, id);
	if (n != 1 || strcmp(got[0], want) != 0)
		print_error("want one notification %s, got %zu (first %s)\n", want,
		    n, n > 0 ? got[0] : "none");
	assert_int_equal(n, 1);
	assert_string_equal(got[0], want);
}

static void
assert_not_notified(void)
{
	char got[8][64];
	size_t n = notify_collect(got, 8, 0);

	if (n > 0)
		print_error("want no notification, got %zu (first %s)\n", n, got[0]);
	assert_int_equal(n, 0);
}

/* ------------------------------------------------------------------ the service's calls */

static enum error
create(struct who *w, const char *group, long long days, struct token_minted *m,
    struct fault *f)
{
	struct token_spec spec = { group, days, 0, 0, "service test" };
	enum error e;

	memset(f, 0, sizeof(*f));
	if ((e = svc_create(&svc, &arena, &w->p, &spec, m, f)) != ERR_OK)
		return e;
	return svc_created(&svc, m->id, group != NULL ? OWNER_TEAM : OWNER_USER);
}

/* Create a token that must be made, and check its event. */
static void
create_ok(struct who *w, const char *group, long long days, struct token_minted *m)
{
	struct fault f;

	notify_drain();
	assert_int_equal(create(w, group, days, m, &f), ERR_OK);
	assert_non_null(m->token);
	assert_int_equal(audit_rows(m->id), 1);
	assert_notified("created", m->id);
}

/* The newest event of a token, as the store gives it. */
static struct audit_row
newest_event(const char *id)
{
	struct audit_row *rows;
	size_t n;

	assert_int_equal(db_audit_list(db, &arena, NULL, NULL, id, 0, 1, &rows, &n),
	    ERR_OK);
	assert_int_equal(n, 1);
	return rows[0];
}

/* ------------------------------------------------------------------ tests */

static void
test_create_then_check(void **state)
{
	struct who alice;
	struct token_minted m;
	struct pat_row row;
	struct fault f = { NULL, "" };
	struct audit_row ev;

	(void)state;
	who_init(&alice, "alice", CALLER_OIDC, "dev", OWNER_USER);
	create_ok(&alice, NULL, 30, &m);

	ev = newest_event(m.id);
	assert_string_equal(ev.event, "created");
	assert_string_equal(ev.owner_kind, "user");
	assert_string_equal(ev.owner, alice.email);
	assert_string_equal(ev.actor, alice.email);
	assert_string_equal(ev.via, "oidc");
	assert_string_equal(ev.addr, ADDR);
	assert_string_equal(ev.request_id, "svc-test");

	assert_int_equal(svc_check(&svc, &arena, m.token, strlen(m.token), ADDR, &row,
	    &f), ERR_OK);
	assert_string_equal(row.id, m.id);
	assert_string_equal(row.email, alice.email);
	assert_null(row.group);
	assert_int_equal(row.ngroups, 1);
	assert_string_equal(row.groups[0], "dev");
	assert_true(row.has_expires);
	/*
	 * A check is not an event: no audit row.  Its first use is written,
	 * but a use moves last_used_at forward, which changes nothing a check
	 * answers: no cache hears of it (sql/0012).
	 */
	assert_int_equal(audit_rows(m.id), 1);
	assert_not_notified();
	assert_int_equal(svc_check(&svc, &arena, m.token, strlen(m.token), ADDR, &row,
	    &f), ERR_OK);
	assert_int_equal(audit_rows(m.id), 1);
	assert_not_notified();		/* used again within the minute: nothing written */
}

static void
test_check_refuses(void **state)
{
	struct who alice;
	struct token_minted m, unstored;
	struct token_spec spec = { NULL, 1, 0, 0, "never stored" };
	struct pat_row row;
	struct fault f = { NULL, "" };
	char *forged;

	(void)state;
	who_init(&alice, "alice", CALLER_OIDC, NULL, OWNER_USER);
	create_ok(&alice, NULL, 1, &m);

	/* One byte of the signature changed. */
	forged = arena_strndup(&arena, m.token, strlen(m.token));
	forged[strlen(forged) - 2] = forged[strlen(forged) - 2] == 'A' ? 'B' : 'A';
	assert_int_equal(svc_check(&svc, &arena, forged, strlen(forged), NULL, &row,
	    &f), ERR_INVALID_TOKEN);
	/* Signed with the right secret, but its HMAC was never stored. */
	assert_int_equal(token_sign(&svc.keys, svc.claims, &arena, &alice.c, &spec,
	    token_now_us(), &unstored), ERR_OK);
	assert_int_equal(svc_check(&svc, &arena, unstored.token,
	    strlen(unstored.token), NULL, &row, &f), ERR_INVALID_TOKEN);
	assert_int_equal(svc_check(&svc, &arena, "", 0, NULL, &row, &f),
	    ERR_INVALID_TOKEN);
}

static void
test_list_and_get(void **state)
{
	struct who alice, bob;
	struct token_minted first, second;
	struct pat_row *rows, row;
	struct fault f = { NULL, "" };
	size_t n;

	(void)state;
	who_init(&alice, "alice", CALLER_OIDC, NULL, OWNER_USER);
	who_init(&bob, "bob", CALLER_OIDC, NULL, OWNER_USER);
	create_ok(&alice, NULL, 1, &first);
	create_ok(&alice, NULL, 2, &second);

	assert_int_equal(svc_list(&svc, &arena, &alice.p, &rows, &n, &f), ERR_OK);
	assert_int_equal(n, 2);
	assert_string_equal(rows[0].id, second.id);	/* newest first */
	assert_string_equal(rows[1].id, first.id);
	assert_int_equal(svc_list(&svc, &arena, &bob.p, &rows, &n, &f), ERR_OK);
	assert_int_equal(n, 0);

	assert_int_equal(svc_get(&svc, &arena, &alice.p, first.id, &row, &f), ERR_OK);
	assert_string_equal(row.description, "service test");
	assert_int_equal(row.days, 1);
	assert_int_equal(svc_get(&svc, &arena, &bob.p, first.id, &row, &f),
	    ERR_NOT_FOUND);
	assert_int_equal(svc_get(&svc, &arena, &alice.p, "not-a-uuid", &row, &f),
	    ERR_NOT_FOUND);
}

static void
test_revoke(void **state)
{
	struct who alice, bob, admin;
	struct token_minted m, other;
	struct pat_row row, *rows;
	struct fault f = { NULL, "" };
	struct audit_row ev;
	long long total;
	size_t n;

	(void)state;
	who_init(&alice, "alice", CALLER_OIDC, NULL, OWNER_USER);
	who_init(&bob, "bob", CALLER_OIDC, NULL, OWNER_USER);
	who_init(&admin, "operator", CALLER_ADMIN, NULL, OWNER_USER);
	create_ok(&alice, NULL, 1, &m);

	/* Another user's token: not found, and nothing written. */
	total = audit_total();
	assert_int_equal(svc_revoke(&svc, &arena, &bob.p, m.id, &f), ERR_NOT_FOUND);
	assert_int_equal(svc_revoke(&svc, &arena, &alice.p, "nope", &f), ERR_NOT_FOUND);
	assert_int_equal(svc_revoke(&svc, &arena, &alice.p,
	    "00000000-0000-4000-8000-000000000000", &f), ERR_NOT_FOUND);
	assert_int_equal(audit_total(), total);
	assert_not_notified();

	/* Its owner: one event, and the token stops working at once. */
	assert_int_equal(svc_revoke(&svc, &arena, &alice.p, m.id, &f), ERR_OK);
	assert_int_equal(audit_rows(m.id), 2);
	assert_notified("revoked", m.id);
	ev = newest_event(m.id);
	assert_string_equal(ev.event, "revoked");
	assert_string_equal(ev.actor, alice.email);
	assert_string_equal(ev.via, "oidc");
	assert_int_equal(svc_check(&svc, &arena, m.token, strlen(m.token), NULL, &row,
	    &f), ERR_INVALID_TOKEN);
	assert_int_equal(svc_list(&svc, &arena, &alice.p, &rows, &n, &f), ERR_OK);
	assert_int_equal(n, 0);

	/* Again: it succeeds again, and is one event again. */
	assert_int_equal(svc_revoke(&svc, &arena, &alice.p, m.id, &f), ERR_OK);
	assert_int_equal(audit_rows(m.id), 3);
	assert_notified("revoked", m.id);

	/* The admin revokes anyone's, and is named as the admin. */
	create_ok(&bob, NULL, 1, &other);
	assert_int_equal(svc_revoke(&svc, &arena, &admin.p, other.id, &f), ERR_OK);
	assert_notified("revoked", other.id);
	ev = newest_event(other.id);
	assert_string_equal(ev.actor, admin.email);
	assert_string_equal(ev.via, "admin");
	assert_string_equal(ev.owner, bob.email);
}

static void
test_team_tokens(void **state)
{
	const char *ops = group_new("ops");
	struct who member, peer, outsider, team;
	struct token_minted m;
	struct pat_row *rows, row;
	struct fault f;
	struct audit_row ev;
	long long total;
	size_t n;

	(void)state;
	who_init(&member, "member", CALLER_OIDC, ops, OWNER_TEAM);
	who_init(&peer, "peer", CALLER_OIDC, ops, OWNER_TEAM);
	who_init(&outsider, "outsider", CALLER_OIDC, "elsewhere", OWNER_TEAM);

	/* Not in the group: 403 on the group field, and nothing written. */
	total = audit_total();
	assert_int_equal(create(&outsider, ops, 1, &m, &f), ERR_FORBIDDEN);
	assert_string_equal(f.field, "group");
	assert_int_equal(audit_total(), total);
	assert_not_notified();

	create_ok(&member, ops, 1, &m);
	ev = newest_event(m.id);
	assert_string_equal(ev.owner_kind, "team");
	assert_string_equal(ev.owner, ops);
	assert_string_equal(ev.actor, member.email);

	/* The group's other members see it; a team token is the group at the check. */
	assert_int_equal(svc_list(&svc, &arena, &peer.p, &rows, &n, &f), ERR_OK);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].group, ops);
	assert_int_equal(svc_list(&svc, &arena, &outsider.p, &rows, &n, &f), ERR_OK);
	assert_int_equal(n, 0);
	assert_int_equal(svc_check(&svc, &arena, m.token, strlen(m.token), NULL, &row,
	    &f), ERR_OK);
	assert_string_equal(row.group, ops);
	assert_not_notified();	/* its first use, written, is no change */

	/* That team token may not manage PATs. */
	who_init(&team, "team", CALLER_TEAM, ops, OWNER_USER);
	memset(&f, 0, sizeof(f));
	assert_int_equal(svc_list(&svc, &arena, &team.p, &rows, &n, &f), ERR_FORBIDDEN);
	assert_int_equal(svc_revoke(&svc, &arena, &team.p, m.id, &f), ERR_FORBIDDEN);

	/* An outsider cannot revoke it; a peer can. */
	assert_int_equal(svc_revoke(&svc, &arena, &outsider.p, m.id, &f), ERR_NOT_FOUND);
	assert_not_notified();
	assert_int_equal(svc_revoke(&svc, &arena, &peer.p, m.id, &f), ERR_OK);
	assert_notified("revoked", m.id);
	ev = newest_event(m.id);
	assert_string_equal(ev.actor, peer.email);
	assert_string_equal(ev.owner, ops);
}

static void
test_cap(void **state)
{
	struct who carol, team_member;
	struct token_minted m[CAP + 1];
	struct audit_row *rows;
	struct fault f;
	long long live;
	size_t n;
	int i;

	(void)state;
	who_init(&carol, "carol", CALLER_OIDC, NULL, OWNER_USER);
	for (i = 0; i < CAP; i++)
		create_ok(&carol, NULL, 1, &m[i]);
	live = count("SELECT count(*) FROM pat WHERE owner_email = $1", carol.email);
	assert_int_equal(live, CAP);

	/* Over the cap: refused, no token, and the refusal is an event. */
	notify_drain();
	assert_int_equal(create(&carol, NULL, 1, &m[CAP], &f), ERR_LIMIT);
	assert_int_equal(count("SELECT count(*) FROM pat WHERE owner_email = $1",
	    carol.email), CAP);
	assert_int_equal(svc_audit(&svc, &arena, &carol.p, 0, 1, &rows, &n), ERR_OK);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].event, "refused_at_cap");
	assert_null(rows[0].token_id);
	assert_string_equal(rows[0].owner, carol.email);
	assert_not_notified();

	/* A revoked token frees its place. */
	assert_int_equal(svc_revoke(&svc, &arena, &carol.p, m[0].id, &f), ERR_OK);
	assert_notified("revoked", m[0].id);
	create_ok(&carol, NULL, 1, &m[CAP]);

	/* Team tokens count toward their group, not toward their creator. */
	who_init(&team_member, "tm", CALLER_OIDC, group_new("capped"), OWNER_TEAM);
	for (i = 0; i < CAP; i++)
		create_ok(&team_member, team_member.groups[0], 1, &m[i]);
	assert_int_equal(create(&team_member, team_member.groups[0], 1, &m[CAP], &f),
	    ERR_LIMIT);
	team_member.p.kind = OWNER_USER;
	create_ok(&team_member, NULL, 1, &m[CAP]);
}

static void
test_lifetime_rules(void **state)
{
	struct who alice, by_pat;
	struct token_minted m;
	struct fault f;
	long long total;

	(void)state;
	who_init(&alice, "alice", CALLER_OIDC, NULL, OWNER_USER);
	total = audit_total();
	assert_int_equal(create(&alice, NULL, 36501, &m, &f), ERR_INVALID_FIELD);
	assert_string_equal(f.field, "days");

	/* A token made by a token that expires in a day cannot outlive it. */
	who_init(&by_pat, "bypat", CALLER_PAT, NULL, OWNER_USER);
	by_pat.c.has_expires = 1;
	by_pat.c.expires_ms = token_now_ms() + 86400 * 1000LL;
	assert_int_equal(create(&by_pat, NULL, 2, &m, &f), ERR_INVALID_FIELD);
	assert_string_equal(f.field, "days");
	assert_int_equal(create(&by_pat, NULL, 0, &m, &f), ERR_INVALID_FIELD);
	assert_int_equal(audit_total(), total);
	assert_not_notified();

	/* Within its life it may, and the event says it came by PAT. */
	{
		struct token_spec spec = { NULL, 0, 12, 0, "half a day" };

		memset(&f, 0, sizeof(f));
		notify_drain();
		assert_int_equal(svc_create(&svc, &arena, &by_pat.p, &spec, &m, &f),
		    ERR_OK);
		assert_int_equal(svc_created(&svc, m.id, OWNER_USER), ERR_OK);
		assert_notified("created", m.id);
		assert_string_equal(newest_event(m.id).via, "pat");
	}
}

static void
test_audit_paging(void **state)
{
	struct who dave, eve;
	struct token_minted m[3];
	struct audit_row *rows, *page;
	struct fault f = { NULL, "" };
	size_t n, k, got;
	int i;

	(void)state;
	who_init(&dave, "dave", CALLER_OIDC, NULL, OWNER_USER);
	who_init(&eve, "eve", CALLER_OIDC, NULL, OWNER_USER);
	for (i = 0; i < 3; i++)
		create_ok(&dave, NULL, 1, &m[i]);
	assert_int_equal(svc_revoke(&svc, &arena, &dave.p, m[1].id, &f), ERR_OK);
	assert_notified("revoked", m[1].id);
	create_ok(&eve, NULL, 1, &m[0]);

	/* Newest first: the revoke, then the three creates; none of eve's. */
	assert_int_equal(svc_audit(&svc, &arena, &dave.p, 0, 50, &rows, &n), ERR_OK);
	assert_int_equal(n, 4);
	assert_string_equal(rows[0].event, "revoked");
	assert_string_equal(rows[0].token_id, m[1].id);
	for (k = 0; k < n; k++) {
		assert_string_equal(rows[k].owner, dave.email);
		if (k > 0)
			assert_true(rows[k].id < rows[k - 1].id);
	}
	/* Paged by before: each page goes on where the last stopped. */
	for (k = 0; k < 4; k++) {
		assert_int_equal(svc_audit(&svc, &arena, &dave.p, k == 0 ? 0 :
		    rows[k - 1].id, 1, &page, &got), ERR_OK);
		assert_int_equal(got, 1);
		assert_int_equal(page[0].id, rows[k].id);
	}
	assert_int_equal(svc_audit(&svc, &arena, &dave.p, rows[3].id, 50, &page, &n),
	    ERR_OK);
	assert_int_equal(n, 0);
}

/* An operator's own SQL is an event too, named as the database user's, by "sql". */
static void
test_sql_update_is_an_event(void **state)
{
	struct who alice;
	struct token_minted m;
	struct audit_row ev;
	const char *values[1];
	PGresult *res;

	(void)state;
	who_init(&alice, "alice", CALLER_OIDC, NULL, OWNER_USER);
	create_ok(&alice, NULL, 1, &m);
	values[0] = m.id;
	res = PQexecParams(watch, "UPDATE pat SET revoked_at = now() WHERE id = $1::uuid",
	    1, NULL, values, NULL, NULL, 0);
	assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
	PQclear(res);
	assert_int_equal(audit_rows(m.id), 2);
	assert_notified("revoked", m.id);
	ev = newest_event(m.id);
	assert_string_equal(ev.via, "sql");
	assert_null(ev.addr);

	/* Made valid again by hand: an event too, and the token works again. */
	res = PQexecParams(watch, "UPDATE pat SET revoked_at = NULL WHERE id = $1::uuid",
	    1, NULL, values, NULL, NULL, 0);
	assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
	PQclear(res);
	assert_int_equal(audit_rows(m.id), 3);
	assert_notified("restored", m.id);
	assert_string_equal(newest_event(m.id).event, "restored");
	{
		struct pat_row row;
		struct fault f = { NULL, "" };

		assert_int_equal(svc_check(&svc, &arena, m.token, strlen(m.token), NULL,
		    &row, &f), ERR_OK);
		assert_not_notified();	/* its first use, written, is no change */
	}
	/* Any other change of a row is not an event. */
	res = PQexecParams(watch, "UPDATE pat SET description = 'renamed' "
	    "WHERE id = $1::uuid", 1, NULL, values, NULL, NULL, 0);
	assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
	PQclear(res);
	assert_int_equal(audit_rows(m.id), 3);
	assert_not_notified();

	/* A last use cleared can make a token inactive: caches hear of it. */
	res = PQexecParams(watch, "UPDATE pat SET last_used_at = NULL "
	    "WHERE id = $1::uuid", 1, NULL, values, NULL, NULL, 0);
	assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
	PQclear(res);
	assert_int_equal(audit_rows(m.id), 3);
	assert_notified("changed", m.id);
}

/*
 * The verify cache answers a hit without token_verify, so no entry may
 * outlive the token's own exp.  A row that expires later than the token
 * says (an operator moved expires_at) is answered, and not kept: once the
 * token's exp has passed, the check refuses it as a miss would.
 */
static void
test_cache_never_outlives_exp(void **state)
{
	struct who alice;
	struct token_minted m, soon;
	struct token_spec spec = { NULL, 0, 0, 1, "expires in 2 s" };
	struct db_actor actor = { NULL, "oidc", ADDR, "svc-test" };
	struct pat_row row;
	struct fault f = { NULL, "" };
	unsigned char hmac[32];
	int64_t now = token_now_ms();

	(void)state;
	svc_cache(&svc, 64, 300);
	db_disconnect(db);		/* the next connection LISTENs */
	who_init(&alice, "alice", CALLER_OIDC, NULL, OWNER_USER);
	actor.who = alice.email;
	create_ok(&alice, NULL, 30, &m);
	assert_int_equal(svc_check(&svc, &arena, m.token, strlen(m.token), ADDR, &row,
	    &f), ERR_OK);
	assert_int_equal(token_hmac(&svc.keys, m.token, strlen(m.token), hmac), 0);
	assert_true(cache_get(svc.cache, hmac, token_now_ms(), &arena, &row));

	/* A minute's token, made 58 s ago: its exp is 2 s away; its row's in 30 days. */
	assert_int_equal(token_sign(&svc.keys, svc.claims, &arena, &alice.c, &spec,
	    (now - 58000) * 1000, &soon), ERR_OK);
	soon.row.expires_ms = now + 30 * 86400000LL;
	soon.row.cap = CAP;
	assert_int_equal(db_pat_insert_send(db, &arena, &soon.row, &actor), ERR_OK);
	assert_int_equal(db_result(db), ERR_OK);
	assert_int_equal(svc_check(&svc, &arena, soon.token, strlen(soon.token), ADDR,
	    &row, &f), ERR_OK);
	assert_int_equal(token_hmac(&svc.keys, soon.token, strlen(soon.token), hmac), 0);
	assert_false(cache_get(svc.cache, hmac, token_now_ms(), &arena, &row));
	while (token_now_ms() <= now + 2100)
		usleep(50000);
	assert_int_equal(svc_check(&svc, &arena, soon.token, strlen(soon.token), ADDR,
	    &row, &f), ERR_INVALID_TOKEN);
	/* The 30-day token is still a hit. */
	assert_int_equal(svc_check(&svc, &arena, m.token, strlen(m.token), ADDR, &row,
	    &f), ERR_OK);
}

/* ------------------------------------------------------------------ set-up */

static int
setup(void **state)
{
	const char *conninfo = getenv("PATGATE_TEST_DB");
	unsigned char k1[32], k2[32];
	struct token_keys keys = { 0 };
	struct svc_policy policy = { .max_tokens = CAP };
	PGresult *res;

	(void)state;
	if (conninfo == NULL || *conninfo == '\0') {
		print_error("PATGATE_TEST_DB is not set: run tests/service/run\n");
		return -1;
	}
	log_set_level(LVL_WARN);
	if (RAND_bytes(k1, sizeof(k1)) != 1 || RAND_bytes(k2, sizeof(k2)) != 1 ||
	    (secret = jose_hmac_new(k1, sizeof(k1))) == NULL ||
	    (pepper = jose_hmac_new(k2, sizeof(k2))) == NULL)
		return -1;
	keys.secret = secret;
	keys.pepper = pepper;
	keys.issuer = "Terrakube";
	keys.audience = "Terrakube";
	db = db_new(conninfo);
	if (db_ready(db) != ERR_OK) {
		print_error("cannot use the database %s (is it migrated?)\n", conninfo);
		return -1;
	}
	if (svc_init(&svc, db, &keys, &policy) == -1)
		return -1;
	arena_init(&arena, 64 * 1024);
	watch = PQconnectdb(conninfo);
	if (PQstatus(watch) != CONNECTION_OK) {
		print_error("%s", PQerrorMessage(watch));
		return -1;
	}
	res = PQexec(watch, "LISTEN patgate_token");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		PQclear(res);
		return -1;
	}
	PQclear(res);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	PQfinish(watch);
	svc_free(&svc);
	db_free(db);
	jose_hmac_free(secret);
	jose_hmac_free(pepper);
	arena_free(&arena);
	return 0;
}

/* Each test starts with an empty arena and no notification left over. */
static int
test_setup(void **state)
{
	(void)state;
	arena_reset(&arena);
	notify_drain();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_create_then_check, test_setup),
		cmocka_unit_test_setup(test_check_refuses, test_setup),
		cmocka_unit_test_setup(test_list_and_get, test_setup),
		cmocka_unit_test_setup(test_revoke, test_setup),
		cmocka_unit_test_setup(test_team_tokens, test_setup),
		cmocka_unit_test_setup(test_cap, test_setup),
		cmocka_unit_test_setup(test_lifetime_rules, test_setup),
		cmocka_unit_test_setup(test_audit_paging, test_setup),
		cmocka_unit_test_setup(test_sql_update_is_an_event, test_setup),
		/* Last: it turns the verify cache on. */
		cmocka_unit_test_setup(test_cache_never_outlives_exp, test_setup),
	};

	return cmocka_run_group_tests_name("service", tests, setup, teardown);
}
