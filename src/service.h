/*
 * service.h - the token service: create, check, list, get, revoke and the
 * audit trail, for any front end.  It knows nothing of HTTP: keys and
 * policy come in as values, and every call says who acts (a principal).
 * Every change is one statement of sql/, which records its event.
 */
#ifndef PATGATE_SERVICE_H
#define PATGATE_SERVICE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <yajl/yajl_gen.h>

#include "alloc.h"
#include "db.h"
#include "error.h"
#include "principal.h"
#include "token.h"

struct svc_policy {
	long		 max_days;		/* 0: 36500 days, and 0 lifetimes allowed */
	long		 default_days;		/* a create without days; 0: days required */
	long		 inactive_days;		/* unused this long, a token stops; 0: off */
	long		 max_rotation_grace;	/* seconds */
	long		 max_tokens;		/* live tokens per owner */
};

struct cache;
struct standby;

#define SVC_TOUCH_MAX	64	/* uses of cached tokens waiting to be recorded */

struct svc {
	struct db		*db;		/* the primary: every write, and LISTEN */
	struct db		*db_read;	/* a standby for reads, or NULL */
	int			 verify_on_standby;
	struct standby		*standby;	/* when it may answer; NULL: no db_read */
	unsigned long		 standby_gen;	/* the primary's connection listened on */
	struct cache		*cache;		/* positive checks; NULL: off */
	unsigned long		 cache_gen;	/* the connection the cache listens on; 0: none */
	unsigned long		 notified;	/* notifications received */
	struct {
		char		 id[37];
		char		 addr[64];
	}			 touch[SVC_TOUCH_MAX];
	size_t			 ntouch;
	struct token_keys	 keys;
	struct svc_policy	 policy;
	yajl_gen		 claims;	/* reused for every token's claims */
	struct timespec		 started;	/* monotonic */
};

int		 svc_init(struct svc *, struct db *, const struct token_keys *,
		    const struct svc_policy *);
/*
 * Keep up to entries positive checks, each trusted at most max_age_s, and
 * listen for the notifications that end them.
 */
void		 svc_cache(struct svc *, size_t entries, long max_age_s);
/*
 * Read lists and gets (and, with verify_on_standby, checks) from a standby
 * when it has every change notified to that token or owner (standby.c);
 * a token it does not have yet (just created) is checked on the primary.
 */
void		 svc_standby(struct svc *, struct db *read, int verify_on_standby);
/* Between requests: record the uses of cached tokens, off the answer's path. */
void		 svc_idle(struct svc *);
void		 svc_free(struct svc *);

/*
 * Create a token the principal's actor makes: a PAT it owns (spec->group
 * NULL) or a team token of one of its groups.  The row is sent and left to
 * commit; svc_created gives the outcome, which must be asked for before the
 * token is given out.  Lifetime rules are checked first (400, field days),
 * then that the actor may (403): CONTRACT 4 and 5.
 */
enum error	 svc_create(struct svc *, struct arena *, const struct principal *,
		    const struct token_spec *, struct token_minted *, struct fault *);
enum error	 svc_created(struct svc *, const char *id, enum owner_kind);
/*
 * The whole validity check of CONTRACT 4 (signature, claims, its row, not
 * revoked, not expired, an owner that keeps the identity rules), and the
 * use recorded from addr.  ERR_INVALID_TOKEN for any token that is not
 * valid; ERR_UNAVAILABLE and the like when the check could not be made.
 */
enum error	 svc_check(struct svc *, struct arena *, const char *token, size_t len,
		    const char *addr, struct pat_row *, struct fault *);
/* The principal's PATs, or the team tokens of its actor's groups, newest first. */
enum error	 svc_list(struct svc *, struct arena *, const struct principal *,
		    struct pat_row **, size_t *, struct fault *);
enum error	 svc_get(struct svc *, struct arena *, const struct principal *,
		    const char *id, struct pat_row *, struct fault *);
/* Revoke one: ERR_NOT_FOUND unless the principal owns it (or is the admin). */
enum error	 svc_revoke(struct svc *, struct arena *, const struct principal *,
		    const char *id, struct fault *);
/* The principal's own events, newest first, before the event id before (0: the newest). */
enum error	 svc_audit(struct svc *, struct arena *, const struct principal *,
		    long long before, long limit, struct audit_row **, size_t *);
/*
 * Rotate id: a successor with its owner, description and lifetime, given
 * out now; the old one keeps working grace_s seconds.  ERR_CONFLICT when it
 * was rotated before.
 */
enum error	 svc_rotate(struct svc *, struct arena *, const struct principal *,
		    const char *id, long grace_s, struct token_minted *, struct fault *);
/* The calling token itself: its row, or its revocation (whatever its owner's rules). */
enum error	 svc_self(struct svc *, struct arena *, const struct principal *,
		    struct pat_row *, struct fault *);
enum error	 svc_revoke_self(struct svc *, struct arena *, const struct principal *,
		    struct fault *);
/* Revoke every valid token among tokens: whoever holds a leaked one may. */
enum error	 svc_report(struct svc *, struct arena *, const char *const *tokens,
		    size_t n, const char *addr, long *revoked);
/* Unused for inactive_days (0: no such rule): it stops working, as GitHub's unused tokens do. */
int		 svc_inactive(const struct pat_row *, int64_t now_ms, long inactive_days);
/* A token's status: revoked, rotated, expired, inactive or active. */
const char	*svc_status(const struct pat_row *, int64_t now_ms, long inactive_days);
/* The most tokens a list shows: twice the cap, so that expired ones fit too. */
long		 svc_list_limit(const struct svc *);

#endif
