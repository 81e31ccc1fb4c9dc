/*
 * cache.c - a worker's cache of positive checks, keyed by the token's HMAC.
 * A hit costs no database round trip; revocations reach it as PostgreSQL
 * notifications (sql/0007), and entries also age out.
 *
 * Entries sit in one array, found through an open-addressed table of
 * indexes by HMAC, and kept in least-recently-used order on a list; each
 * holds what a check answers in a fixed-size record, so that a full cache
 * has a fixed size and using it allocates nothing; the rare identity too
 * large for it (many groups) gets its own allocation, within a budget as
 * large again as the records' text.
 */
#include "cache.h"
#include "metrics.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define CACHE_EMPTY	UINT32_MAX
#define CACHE_TOUCH_MS	60000		/* a use is recorded at most this often */

#define CACHE_TEXT	224		/* an identity that needs more gets an allocation */
#define CACHE_BIG_MAX	16384		/* and one that needs more than this is not kept */

/*
 * A check as small as it can be kept: only what a check answers.  The
 * strings are packed in text, NUL after each: id, email, name, group (empty
 * for a PAT), then each of the groups.
 */
struct cache_entry {
	unsigned char	 hmac[32];
	uint32_t	 prev, next;	/* LRU: head is the newest */
	int64_t		 at_ms;		/* when it was checked against the database */
	int64_t		 touched_ms;	/* when its use was last recorded */
	int64_t		 created_ms, expires_ms, grace_ms;
	unsigned char	 used, has_expires, rotated, is_team;
	uint16_t	 ngroups;
	char		*big;		/* the text when it does not fit in text */
	size_t		 big_size;
	char		 text[CACHE_TEXT];
};

struct cache {
	struct cache_entry	*e;
	uint32_t		*slots;		/* open addressing: index into e */
	size_t			 n, nslots, count;
	size_t			 big_bytes, max_big;
	uint32_t		 head, tail;
	uint32_t		*free;		/* a stack of unused entries */
	size_t			 nfree;
	int64_t			 max_age_ms;
	struct cache_stats	 stats;
};

struct cache *
cache_new(size_t entries, int64_t max_age_ms)
{
	struct cache *c;
	size_t i;

	if (entries == 0)
		return NULL;
	c = xcalloc(1, sizeof(*c));
	c->n = entries;
	for (c->nslots = 16; c->nslots < 2 * entries; c->nslots *= 2)
		;
	c->e = xcalloc(entries, sizeof(*c->e));
	c->free = xmalloc(entries * sizeof(*c->free));
	for (i = 0; i < entries; i++)
		c->free[i] = (uint32_t)(entries - 1 - i);
	c->nfree = entries;
	c->slots = xmalloc(c->nslots * sizeof(*c->slots));
	for (i = 0; i < c->nslots; i++)
		c->slots[i] = CACHE_EMPTY;
	c->head = c->tail = CACHE_EMPTY;
	c->max_age_ms = max_age_ms;
	c->max_big = entries * CACHE_TEXT;
	return c;
}

static size_t
cache_slot_of(const struct cache *c, const unsigned char hmac[32])
{
	uint64_t h;

	memcpy(&h, hmac, sizeof(h));	/* an HMAC is as good a hash as any */
	return (size_t)(h & (c->nslots - 1));
}

/* The slot that holds hmac, or the empty one where it would go. */
static size_t
cache_find(const struct cache *c, const unsigned char hmac[32])
{
	size_t s = cache_slot_of(c, hmac);

	while (c->slots[s] != CACHE_EMPTY &&
	    memcmp(c->e[c->slots[s]].hmac, hmac, 32) != 0)
		s = (s + 1) & (c->nslots - 1);
	return s;
}

static void
cache_unlink(struct cache *c, uint32_t i)
{
	struct cache_entry *x = &c->e[i];

	if (x->prev != CACHE_EMPTY)
		c->e[x->prev].next = x->next;
	else
		c->head = x->next;
	if (x->next != CACHE_EMPTY)
		c->e[x->next].prev = x->prev;
	else
		c->tail = x->prev;
}

static void
cache_link_head(struct cache *c, uint32_t i)
{
	c->e[i].prev = CACHE_EMPTY;
	c->e[i].next = c->head;
	if (c->head != CACHE_EMPTY)
		c->e[c->head].prev = i;
	c->head = i;
	if (c->tail == CACHE_EMPTY)
		c->tail = i;
}

/* Remove entry i, and close the gap it leaves in the probe sequence. */
static void
cache_remove(struct cache *c, uint32_t i)
{
	struct cache_entry *x = &c->e[i];
	size_t s = cache_find(c, x->hmac), j, home;

	cache_unlink(c, i);
	c->slots[s] = CACHE_EMPTY;
	for (j = (s + 1) & (c->nslots - 1); c->slots[j] != CACHE_EMPTY;
	    j = (j + 1) & (c->nslots - 1)) {
		home = cache_slot_of(c, c->e[c->slots[j]].hmac);
		/* Move it back if its home is not between the gap and it. */
		if ((j > s && (home <= s || home > j)) || (j < s && home <= s && home > j)) {
			c->slots[s] = c->slots[j];
			c->slots[j] = CACHE_EMPTY;
			s = j;
		}
	}
	OPENSSL_cleanse(x->hmac, sizeof(x->hmac));
	c->big_bytes -= x->big_size;
	free(x->big);
	x->big = NULL;
	x->big_size = 0;
	x->used = 0;
	c->free[c->nfree++] = i;
	c->count--;
}

void
cache_free(struct cache *c)
{
	if (c == NULL)
		return;
	cache_flush(c);
	free(c->e);
	free(c->free);
	free(c->slots);
	free(c);
}

void
cache_flush(struct cache *c)
{
	if (c == NULL)
		return;
	while (c->head != CACHE_EMPTY)
		cache_remove(c, c->head);
	c->stats.flushes++;
}

/* Append s and its NUL at p (the room was counted); the next place. */
static char *
cache_pack(char *p, const char *s)
{
	return stpcpy(p, s) + 1;
}

void
cache_put(struct cache *c, const unsigned char hmac[32], int64_t now_ms,
    const struct pat_row *r)
{
	struct cache_entry *x;
	char *p;
	size_t s, i, size;
	uint32_t k;

	if (c == NULL || r->ngroups > UINT16_MAX)
		return;
	size = strlen(r->id) + strlen(r->email) + strlen(r->name) + 3 +
	    (r->group != NULL ? strlen(r->group) : 0) + 1;
	for (i = 0; i < r->ngroups; i++)
		size += strlen(r->groups[i]) + 1;
	if (size > CACHE_BIG_MAX)
		return;		/* a very large identity is not worth the room */
	s = cache_find(c, hmac);
	if (c->slots[s] != CACHE_EMPTY)
		cache_remove(c, c->slots[s]);
	if (c->count == c->n) {
		cache_remove(c, c->tail);
		c->stats.evictions++;
		metrics_count(M_CACHE_EVICTIONS);
	}
	k = c->free[c->nfree - 1];
	x = &c->e[k];
	memset(x, 0, sizeof(*x));
	p = x->text;
	if (size > sizeof(x->text)) {
		if (c->big_bytes + size > c->max_big || (p = x->big = malloc(size)) == NULL)
			return;
		x->big_size = size;
		c->big_bytes += size;
	}
	p = cache_pack(p, r->id);
	p = cache_pack(p, r->email);
	p = cache_pack(p, r->name);
	p = cache_pack(p, r->group != NULL ? r->group : "");
	for (i = 0; i < r->ngroups; i++)
		p = cache_pack(p, r->groups[i]);
	c->nfree--;
	memcpy(x->hmac, hmac, 32);
	x->used = 1;
	x->at_ms = now_ms;
	x->touched_ms = now_ms;		/* the lookup that found it recorded the use */
	x->created_ms = r->created_ms;	/* introspection's iat */
	x->expires_ms = r->expires_ms;
	x->has_expires = (unsigned char)r->has_expires;
	x->rotated = (unsigned char)r->rotated;
	x->grace_ms = r->grace_ms;
	x->is_team = r->group != NULL;
	x->ngroups = (uint16_t)r->ngroups;
	c->slots[cache_find(c, hmac)] = k;
	cache_link_head(c, k);
	c->count++;
}

/* The next packed string of an entry, copied into the arena. */
static const char *
cache_unpack(const char **p, struct arena *a)
{
	size_t n = strlen(*p);
	const char *s = arena_strndup(a, *p, n);

	*p += n + 1;
	return s;
}

int
cache_get(struct cache *c, const unsigned char hmac[32], int64_t now_ms,
    struct arena *a, struct pat_row *r)
{
	struct cache_entry *x;
	const char **groups, *p;
	size_t s;

	if (c == NULL)
		return 0;
	s = cache_find(c, hmac);
	if (c->slots[s] == CACHE_EMPTY) {
		c->stats.misses++;
		metrics_count(M_CACHE_MISSES);
		return 0;
	}
	x = &c->e[c->slots[s]];
	if (now_ms - x->at_ms >= c->max_age_ms) {
		cache_remove(c, c->slots[s]);
		c->stats.misses++;
		metrics_count(M_CACHE_MISSES);
		return 0;
	}
	cache_unlink(c, c->slots[s]);
	cache_link_head(c, c->slots[s]);
	/* The caller's arena keeps what it reads past the next eviction. */
	memset(r, 0, sizeof(*r));
	p = x->big != NULL ? x->big : x->text;
	if ((groups = arena_alloc(a, (x->ngroups + 1u) * sizeof(*groups))) == NULL ||
	    (r->id = cache_unpack(&p, a)) == NULL ||
	    (r->email = cache_unpack(&p, a)) == NULL ||
	    (r->name = cache_unpack(&p, a)) == NULL ||
	    (r->group = cache_unpack(&p, a)) == NULL)
		return 0;
	if (!x->is_team)
		r->group = NULL;
	for (size_t i = 0; i < x->ngroups; i++)
		if ((groups[i] = cache_unpack(&p, a)) == NULL)
			return 0;
	r->groups = groups;
	r->ngroups = x->ngroups;
	r->created_ms = x->created_ms;
	r->expires_ms = x->expires_ms;
	r->has_expires = x->has_expires;
	r->rotated = x->rotated;
	r->grace_ms = x->grace_ms;
	c->stats.hits++;
	metrics_count(M_CACHE_HITS);
	return 1;
}

void
cache_drop(struct cache *c, const char *id)
{
	if (c == NULL)
		return;
	for (uint32_t i = c->head; i != CACHE_EMPTY; i = c->e[i].next)
		if (strcmp(c->e[i].big != NULL ? c->e[i].big : c->e[i].text, id) == 0) {
			/* the id comes first */
			cache_remove(c, i);
			c->stats.drops++;
			return;
		}
}

void
cache_drop_hmac(struct cache *c, const unsigned char hmac[32])
{
	size_t s;

	if (c != NULL && c->slots[s = cache_find(c, hmac)] != CACHE_EMPTY) {
		cache_remove(c, c->slots[s]);
		c->stats.drops++;
	}
}

int
cache_touch_due(struct cache *c, const unsigned char hmac[32], int64_t now_ms)
{
	size_t s;

	if (c == NULL || c->slots[s = cache_find(c, hmac)] == CACHE_EMPTY ||
	    now_ms - c->e[c->slots[s]].touched_ms < CACHE_TOUCH_MS)
		return 0;
	c->e[c->slots[s]].touched_ms = now_ms;
	return 1;
}

const struct cache_stats *
cache_stats(const struct cache *c)
{
	static const struct cache_stats none;

	return c != NULL ? &c->stats : &none;
}

size_t
cache_count(const struct cache *c)
{
	return c != NULL ? c->count : 0;
}
