/*
 * cache.h - a worker's cache of positive checks, keyed by the token's HMAC.
 * A hit costs no database round trip; revocations reach it as PostgreSQL
 * notifications (sql/0007), and entries also age out.
 */
#ifndef PATGATE_CACHE_H
#define PATGATE_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "alloc.h"
#include "db.h"

struct cache;

struct cache_stats {
	unsigned long	 hits, misses, evictions, drops, flushes;
};

/* NULL when entries is 0 (the cache is off). */
struct cache	*cache_new(size_t entries, int64_t max_age_ms);
void		 cache_free(struct cache *);
/*
 * The row of a token checked before, copied into the arena, if it is still
 * fresh; expiry and grace are for the caller to check, as on a miss.
 */
int		 cache_get(struct cache *, const unsigned char hmac[32], int64_t now_ms,
		    struct arena *, struct pat_row *);
/* Remember a row that passed every check; a full cache evicts its oldest use. */
void		 cache_put(struct cache *, const unsigned char hmac[32], int64_t now_ms,
		    const struct pat_row *);
/* Forget one token, by id (its revocation or rotation was notified). */
void		 cache_drop(struct cache *, const char *id);
void		 cache_drop_hmac(struct cache *, const unsigned char hmac[32]);
void		 cache_flush(struct cache *);
/*
 * Whether a hit should record a use now: at most once a minute per token,
 * as the lookup itself would.  Marks it recorded.
 */
int		 cache_touch_due(struct cache *, const unsigned char hmac[32],
		    int64_t now_ms);
const struct cache_stats *cache_stats(const struct cache *);
size_t		 cache_count(const struct cache *);

#endif
