/* db.h - the PostgreSQL connection and every SQL statement patgate runs. */
#ifndef PATGATE_DB_H
#define PATGATE_DB_H

#include <stddef.h>
#include <stdint.h>

#include "alloc.h"
#include "error.h"

struct db;

/*
 * A token's row as the API shows it.  Strings live in the request arena.
 * A PAT belongs to the user email; a team token (group set) belongs to that
 * group, and email is the member who created it.
 */
struct pat_row {
	const char	*id;
	const char	*email;
	const char	*name;
	const char	**groups;
	size_t		 ngroups;
	const char	*group;		/* a team token's group; NULL for a PAT */
	const char	*description;
	const char	*updated_by;
	long long	 days, hours, minutes;
	int64_t		 created_ms, updated_ms, expires_ms, last_used_ms;
	int		 has_expires, has_last_used, revoked;
	int		 rotated;	/* it has a successor; it works until grace_ms */
	int64_t		 grace_ms;
	const char	*rotated_to;
	int		 has_reused;	/* presented after its grace, last at reused_ms */
	int64_t		 reused_ms;
};

/* A token to store.  expires_ms < 0: never expires. */
struct pat_new {
	const char		*id;
	unsigned char		 hmac[32];
	const char		*email;
	const char		*name;
	const char *const	*groups;
	size_t			 ngroups;
	const char		*group;		/* a team token's group; NULL for a PAT */
	const char		*description;
	long long		 days, hours, minutes;
	int64_t			 created_us;	/* microseconds, so that "newest first" is exact */
	int64_t			 expires_ms;
	long			 cap;		/* max_tokens_per_user */
};

/* Never fails: the connection is made on first use, and remade after it breaks. */
struct db	*db_new(const char *conninfo);
void		 db_free(struct db *);
/* LISTEN on channel (a constant) too on every connection made from now on. */
void		 db_listen(struct db *, const char *channel);
/* When (CLOCK_MONOTONIC, ms) the connection was made; 0: none.  LISTEN holds since. */
int64_t		 db_connected_ms(const struct db *);
/* Close the connection: the next statement connects anew (to another host, maybe). */
void		 db_disconnect(struct db *);
/*
 * Is the node a standby, and its WAL position: a standby's replayed, a
 * primary's written, in bytes.
 */
enum error	 db_wal_position(struct db *, int *standby, int64_t *lsn);
/* Which connection this is (0: none): a new one may have missed notifications. */
unsigned long	 db_generation(const struct db *);
/*
 * Read what has arrived without waiting, and give each notification's
 * payload to cb.  -1 when the connection is gone (nothing can be known).
 */
int		 db_notifies(struct db *, void (*cb)(void *, const char *channel,
		    const char *payload), void *arg);
/*
 * Only the notifications libpq has read already (while it waited for a
 * statement's result), with no I/O: so that none piles up in memory
 * through a run of requests that never look for them, such as creates.
 */
void		 db_heard(struct db *, void (*cb)(void *, const char *channel,
		    const char *payload), void *arg);
/* Connect if needed; ERR_UNAVAILABLE or ERR_SCHEMA when that cannot be done. */
enum error	 db_ready(struct db *);
enum error	 db_ping(struct db *);

/* Who acts, as the audit trail records it (sql/0007). */
struct db_actor {
	const char	*who;		/* an email, a group, or the admin's name */
	const char	*via;		/* pat, team, oidc, remote_user, admin */
	const char	*addr;		/* may be NULL */
	const char	*request_id;	/* may be NULL */
};

/* One event of the audit trail.  Strings live in the arena. */
struct audit_row {
	long long	 id;
	int64_t		 at_ms;
	const char	*event, *token_id, *owner_kind, *owner, *actor, *via, *addr;
	const char	*request_id;
};

/*
 * Send a new token's row, with its event, and return while it commits;
 * db_result gives the outcome: ERR_LIMIT, with nothing but the refusal's
 * event written, when the owner already has p->cap live tokens.
 */
enum error	 db_pat_insert_send(struct db *, struct arena *, const struct pat_new *,
		    const struct db_actor *);
/*
 * The outcome of the oldest write sent and not yet asked about, waiting
 * for it if need be.  Any other statement may be run in between.
 */
enum error	 db_result(struct db *);
/* The newest limit tokens of an owner that are not revoked. */
enum error	 db_pat_list(struct db *, struct arena *, const char *email, long limit,
		    struct pat_row **rows, size_t *nrows);
/* The newest limit team tokens, not revoked, of any of these groups. */
enum error	 db_team_list(struct db *, struct arena *, const char *const *groups,
		    size_t ngroups, long limit, struct pat_row **rows, size_t *nrows);
enum error	 db_pat_get(struct db *, struct arena *, const char *id,
		    const char *email, struct pat_row *);
/*
 * Revoke a user's PAT (groups NULL), a team token of one of groups, or, with
 * user and groups NULL, any token.  ERR_NOT_FOUND when none matched.
 */
enum error	 db_pat_revoke(struct db *, struct arena *, const char *id,
		    const char *user, const char *const *groups, size_t ngroups,
		    const struct db_actor *);
/*
 * Events of an owner (kind "user" or "team") or of a token (kind may then
 * be NULL: any owner), newest first, before the event id before (0: none).
 */
enum error	 db_audit_list(struct db *, struct arena *, const char *kind,
		    const char *owner, const char *token_id, long long before,
		    long limit, struct audit_row **rows, size_t *nrows);
/*
 * The admin tool: a user's PATs (group NULL) or a group's team tokens,
 * revoked ones too, newest first; with unused_days >= 0, only those last
 * used (or, never used, created) longer ago than that.
 */
enum error	 db_admin_list(struct db *, struct arena *, const char *user,
		    const char *group, long unused_days, struct pat_row **rows,
		    size_t *nrows);
/* A token the admin tool's revoke or purge changed.  Strings live in the arena. */
struct db_changed {
	const char	*id, *owner_kind, *owner;
};
/*
 * The admin tool (actor: its user's name): revoke every live token of a
 * user (group NULL) or of a group; purge the tokens revoked or expired more
 * than days ago.  Each token changed is one event of the trail (sql/0007).
 */
enum error	 db_revoke_owner(struct db *, struct arena *, const char *user,
		    const char *group, const char *actor, struct db_changed **,
		    size_t *);
enum error	 db_purge(struct db *, struct arena *, long days, const char *actor,
		    struct db_changed **, size_t *);
/* An expiry notice to send: a live token that expires within window_days. */
struct db_notice {
	const char	*token_id, *owner_kind, *owner, *email, *description;
	int64_t		 expires_ms;
	long		 window_days;
};
/*
 * Claim the notices due for the windows (days, joined by commas): each
 * token and window once, whatever runs overlap.  One that could not be
 * sent is given back with db_notice_release.
 */
enum error	 db_notice_claim(struct db *, struct arena *, const char *windows,
		    struct db_notice **, size_t *);
enum error	 db_notice_release(struct db *, const char *token_id, long window_days);
/*
 * Find the token whose HMAC this is, and in the same statement record its
 * use (at most once a minute) from addr (may be NULL).  ERR_NOT_FOUND if
 * there is no such row, revoked or not.
 */
enum error	 db_pat_use(struct db *, struct arena *, const unsigned char hmac[32],
		    const char *addr, long inactive_days, struct pat_row *);
/* The token whose HMAC this is, read only (on a standby); its use is recorded apart. */
enum error	 db_pat_lookup(struct db *, struct arena *, const unsigned char hmac[32],
		    struct pat_row *);
/* Any owner's token that is not revoked, by id (the caller's own: /pat/v1/self). */
enum error	 db_pat_get_id(struct db *, struct arena *, const char *id, struct pat_row *);
/*
 * Rotate old_id (owned as db_pat_revoke's arguments say) into p, which
 * takes its description, lifetime and owner; the old one works grace_s
 * more seconds.  ERR_NOT_FOUND, or ERR_CONFLICT when rotated before.
 */
enum error	 db_pat_rotate(struct db *, struct arena *, const char *old_id,
		    const char *user, const char *const *groups, size_t ngroups,
		    long grace_s, const struct pat_new *p, const struct db_actor *);
/* A rotated token presented after its grace: an audit event, one a minute. */
enum error	 db_pat_reuse(struct db *, const char *id, const char *addr);
/* Revoke every valid token of these HMACs, reported from addr. */
enum error	 db_revoke_hmacs(struct db *, struct arena *,
		    const unsigned char (*hmacs)[32], size_t n, const char *addr,
		    long *count);
/* Record uses: token ids and their addresses, each list joined by commas. */
enum error	 db_touch(struct db *, const char *ids, const char *addrs);
/* A row found under an old pepper takes its HMAC under the current one. */
enum error	 db_rekey(struct db *, const char *id, const unsigned char old[32],
		    const unsigned char fresh[32]);

/* Apply the pending sql/ migrations in order, each in its own transaction. */
int		 db_migrate(const char *conninfo, char *err, size_t errsz);

#endif
