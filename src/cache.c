/*
 * cache.c - a worker's cache of positive checks, keyed by the token's HMAC.
 * A hit costs no database round trip; revocations reach it as PostgreSQL
 * notifications (sql/0007), and entries also age out.
 *
 * Entries sit in one array, found through an open-addressed table of
 * indexes by HMAC, and kept in least-recently-used order on a list; each
 * holds a copy of its row's strings in one allocation, counted against a
 * byte budget, so that a full cache has a fixed size.
 */
#include "cache.h"
#include "metrics.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define CACHE_EMPTY	UINT32_MAX
#define CACHE_TOUCH_MS	60000		/* a use is recorded at most this often */

struct cache_entry {
	unsigned char	 hmac[32];
	int		 used;
	uint32_t	 prev, next;	/* LRU: head is the newest */
	int64_t		 at_ms;		/* when it was checked against the database */
	int64_t		 touched_ms;	/* when its use was last recorded */
	struct pat_row	 row;		/* strings point into text */
	char		*text;
	size_t		 size;		/* bytes of text */
};

struct cache {
	struct cache_entry	*e;
	uint32_t		*slots;		/* open addressing: index into e */
	size_t			 n, nslots, count, bytes, max_bytes;
	uint32_t		 head, tail;
	uint32_t		*free;		/* a stack of unused entries */
	size_t			 nfree;
	int64_t			 max_age_ms;
	struct cache_stats	 stats;
};

struct cache *
cache_new(size_t entries, size_t bytes, int64_t max_age_ms)
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
	c->max_bytes = bytes;
	c->max_age_ms = max_age_ms;
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
	c->bytes -= x->size;
	free(x->text);
	x->text = NULL;
	x->size = 0;
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

/* Copy s into the entry's text at *p. */
static const char *
cache_copy(char **p, const char *s)
{
	char *d = *p;

	if (s == NULL)
		return NULL;
	*p = stpcpy(d, s) + 1;
	return d;
}

void
cache_put(struct cache *c, const unsigned char hmac[32], int64_t now_ms,
    const struct pat_row *r)
{
	struct cache_entry *x;
	size_t s, size = 0, i;
	uint32_t k;
	char *p;

	if (c == NULL)
		return;
	size += strlen(r->id) + strlen(r->email) + strlen(r->name) + 3;
	size += (r->group ? strlen(r->group) : 0) + 1;
	for (i = 0; i < r->ngroups; i++)
		size += strlen(r->groups[i]) + 1 + sizeof(char *);
	size += sizeof(char *);
	if (size > c->max_bytes / 8)
		return;		/* a huge identity is not worth the room */
	s = cache_find(c, hmac);
	if (c->slots[s] != CACHE_EMPTY)
		cache_remove(c, c->slots[s]);
	while (c->count > 0 && (c->count == c->n || c->bytes + size > c->max_bytes)) {
		cache_remove(c, c->tail);
		c->stats.evictions++;
		metrics_count(M_CACHE_EVICTIONS);
	}
	if (c->nfree == 0)
		return;
	k = c->free[c->nfree - 1];
	x = &c->e[k];
	memset(x, 0, sizeof(*x));
	if ((x->text = malloc(size)) == NULL)
		return;
	c->nfree--;
	memcpy(x->hmac, hmac, 32);
	x->used = 1;
	x->at_ms = now_ms;
	x->touched_ms = now_ms;		/* the lookup that found it recorded the use */
	x->size = size;
	x->row = *r;
	/* The group array first, pointer-aligned, then the strings. */
	x->row.groups = (const char **)(void *)x->text;
	p = x->text + (r->ngroups + 1) * sizeof(char *);
	for (i = 0; i < r->ngroups; i++)
		x->row.groups[i] = cache_copy(&p, r->groups[i]);
	x->row.id = cache_copy(&p, r->id);
	x->row.email = cache_copy(&p, r->email);
	x->row.name = cache_copy(&p, r->name);
	x->row.group = cache_copy(&p, r->group);
	x->row.description = x->row.updated_by = x->row.rotated_to = NULL;
	c->slots[cache_find(c, hmac)] = k;
	cache_link_head(c, k);
	c->count++;
	c->bytes += size;
}

int
cache_get(struct cache *c, const unsigned char hmac[32], int64_t now_ms,
    struct arena *a, struct pat_row *r)
{
	struct cache_entry *x;
	const char **groups;
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
	*r = x->row;
	/* The caller's arena keeps what it reads past the next eviction. */
	if ((groups = arena_alloc(a, (x->row.ngroups + 1) * sizeof(*groups))) == NULL)
		return 0;
	for (size_t i = 0; i < x->row.ngroups; i++)
		if ((groups[i] = arena_strndup(a, x->row.groups[i],
		    strlen(x->row.groups[i]))) == NULL)
			return 0;
	r->groups = groups;
	if ((r->id = arena_strndup(a, x->row.id, strlen(x->row.id))) == NULL ||
	    (r->email = arena_strndup(a, x->row.email, strlen(x->row.email))) == NULL ||
	    (r->name = arena_strndup(a, x->row.name, strlen(x->row.name))) == NULL ||
	    (x->row.group != NULL && (r->group = arena_strndup(a, x->row.group,
	    strlen(x->row.group))) == NULL))
		return 0;
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
		if (strcmp(c->e[i].row.id, id) == 0) {
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
