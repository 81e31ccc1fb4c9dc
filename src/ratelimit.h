/* ratelimit.h - token buckets by key, one table per worker, for requests an outsider can repeat at will. */
#ifndef PATGATE_RATELIMIT_H
#define PATGATE_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#define RATELIMIT_SLOTS	1024

struct ratelimit_slot {
	uint64_t	 key;		/* hash of the key; 0: empty */
	double		 tokens;
	double		 at;		/* seconds, monotonic, of the last refill */
};

struct ratelimit {
	double			 rate;	/* tokens a second */
	double			 burst;	/* most tokens held */
	struct ratelimit_slot	 slots[RATELIMIT_SLOTS];
};

void	ratelimit_init(struct ratelimit *, double rate, double burst);
/*
 * Take one token for key: 1 when the request may go on.  Keys share the
 * table; one that takes another's slot starts with a full bucket, so a
 * collision only ever lets a request through.
 */
int	ratelimit_take(struct ratelimit *, const char *key);

#endif
