/*
 * ended.c - tokens that one worker revoked or rotated, told at once to the
 * other workers of its supervisor through memory they share.  PostgreSQL's
 * notifications tell every worker of every instance too, but a moment
 * later: this closes that moment for the instance that answered the revoke.
 *
 * A ring of the latest ENDED_MAX entries and a count of every entry ever
 * written.  Writers take a spin lock (a revoke is rare); a reader compares
 * the count with the last it saw, and reads only when it moved.  A reader
 * that fell more than a ring behind misses entries, and drops nothing for
 * them: the notifications still come.
 */
#include "ended.h"

#include <sys/mman.h>

#include <sched.h>
#include <stdint.h>
#include <string.h>

#define ENDED_MAX	1024

struct ended_entry {
	int		 is_hmac;
	unsigned char	 key[37];	/* an id, NUL-ended, or 32 bytes of HMAC */
};

struct ended {
	int			 lock;
	uint64_t		 count;
	struct ended_entry	 ring[ENDED_MAX];
};

static struct ended	 ended_private;
static struct ended	*ended = &ended_private;
static uint64_t		 ended_seen;	/* this worker's */

int
ended_share(void)
{
	void *p = mmap(NULL, sizeof(struct ended), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return -1;
	memset(p, 0, sizeof(struct ended));
	ended = p;
	ended_seen = 0;
	return 0;
}

static void
ended_lock(void)
{
	while (__atomic_exchange_n(&ended->lock, 1, __ATOMIC_ACQUIRE))
		sched_yield();
}

static void
ended_unlock(void)
{
	__atomic_store_n(&ended->lock, 0, __ATOMIC_RELEASE);
}

static void
ended_put(int is_hmac, const void *key, size_t len)
{
	struct ended_entry *e;

	ended_lock();
	e = &ended->ring[ended->count % ENDED_MAX];
	e->is_hmac = is_hmac;
	memset(e->key, 0, sizeof(e->key));
	memcpy(e->key, key, len < sizeof(e->key) ? len : sizeof(e->key) - 1);
	__atomic_store_n(&ended->count, ended->count + 1, __ATOMIC_RELEASE);
	ended_unlock();
}

void
ended_id(const char *id)
{
	ended_put(0, id, strlen(id));
}

void
ended_hmac(const unsigned char hmac[32])
{
	ended_put(1, hmac, 32);
}

void
ended_take(void (*by_id)(void *, const char *),
    void (*by_hmac)(void *, const unsigned char *), void *arg)
{
	uint64_t count = __atomic_load_n(&ended->count, __ATOMIC_ACQUIRE);
	struct ended_entry e;

	if (count == ended_seen)
		return;
	if (count - ended_seen > ENDED_MAX)
		ended_seen = count - ENDED_MAX;
	ended_lock();
	for (; ended_seen < count; ended_seen++) {
		e = ended->ring[ended_seen % ENDED_MAX];
		ended_unlock();
		if (e.is_hmac)
			by_hmac(arg, e.key);
		else
			by_id(arg, (const char *)e.key);
		ended_lock();
	}
	ended_unlock();
}
