/* ratelimit.c - token buckets by key, one table per worker, for requests an outsider can repeat at will. */
#include "ratelimit.h"

#include <string.h>
#include <time.h>

void
ratelimit_init(struct ratelimit *rl, double rate, double burst)
{
	memset(rl, 0, sizeof(*rl));
	rl->rate = rate;
	rl->burst = burst;
}

static uint64_t
ratelimit_hash(const char *s)
{
	uint64_t h = 14695981039346656037ULL;	/* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h != 0 ? h : 1;
}

int
ratelimit_take(struct ratelimit *rl, const char *key)
{
	struct timespec ts;
	struct ratelimit_slot *s;
	uint64_t h = ratelimit_hash(key);
	double now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	s = &rl->slots[h % RATELIMIT_SLOTS];
	if (s->key != h) {
		s->key = h;
		s->tokens = rl->burst;
	} else if ((s->tokens += (now - s->at) * rl->rate) > rl->burst)
		s->tokens = rl->burst;
	s->at = now;
	if (s->tokens < 1)
		return 0;
	s->tokens -= 1;
	return 1;
}
