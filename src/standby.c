/*
 * standby.c - when a standby may answer a read (read_database_url): what
 * it has replayed, and what the primary notified since.
 *
 * At most once a second the primary's WAL position is sampled, then the
 * standby's replayed one.  A standby that has replayed up to a sample has
 * every change committed before that sample was taken: it is fresh as of
 * then.  A change notified after that moment may be missing from it, so a
 * read of that token, or of that owner's tokens, goes to the primary; so
 * does every read while nothing is listened to on the primary, while the
 * standby lags more than STANDBY_LAG_MS, or once more was notified since
 * than STANDBY_HEARD remembers.  What this cannot see is a change whose
 * notification is still on its way (a millisecond or so, on one network):
 * the same window as the verify cache's.
 */
#include "standby.h"

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "alloc.h"
#include "log.h"

#define STANDBY_POLL_MS		1000	/* how often the positions are sampled */
#define STANDBY_BEHIND_MS	50	/* and while it has caught up with none */
#define STANDBY_LAG_MS		30000	/* a standby further behind answers nothing */
#define STANDBY_ON_PRIMARY_MS	30000	/* reads on a primary: look for a standby again */
#define STANDBY_SAMPLES		64
#define STANDBY_HEARD		4096

struct standby {
	struct db	*primary, *read;
	/*
	 * What was heard is numbered (seq), so that "heard before a sample
	 * was taken" is exact; times are for the lag only.
	 */
	uint64_t	 seq;
	struct {
		int64_t	 lsn, at_ms;
		uint64_t seq;		/* the last heard when it was taken */
	}		 sample[STANDBY_SAMPLES];	/* the primary's, oldest overwritten */
	size_t		 nsamples, next_sample;
	int64_t		 polled_ms;
	unsigned long	 read_gen;	/* the read connection judged */
	int64_t		 fresh_ms;	/* it has all committed before this; 0: unknown */
	uint64_t	 fresh_seq;	/* and all heard up to this */
	int64_t		 on_primary_ms;	/* the read connection is on a primary since */
	int64_t		 listening_ms;	/* 0: not listening */
	struct {
		uint64_t key;
		uint64_t seq;		/* 0: empty */
	}		 heard[STANDBY_HEARD];
	size_t		 next_heard;
	uint64_t	 forgot_seq;	/* the newest entry overwritten */
};

static int64_t
standby_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* FNV-1a of prefix and key: two keys that collide only send reads to the primary. */
static uint64_t
standby_hash(const char *prefix, const char *key)
{
	uint64_t h = 14695981039346656037ULL;

	for (const char *p = prefix; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	for (const char *p = key; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return h;
}

struct standby *
standby_new(struct db *primary, struct db *read)
{
	struct standby *sb = xcalloc(1, sizeof(*sb));

	sb->primary = primary;
	sb->read = read;
	return sb;
}

void
standby_free(struct standby *sb)
{
	free(sb);
}

void
standby_listening(struct standby *sb, int64_t since_ms)
{
	sb->listening_ms = since_ms;
}

void
standby_heard(struct standby *sb, const char *key)
{
	size_t i = sb->next_heard;

	if (sb->heard[i].seq != 0)
		sb->forgot_seq = sb->heard[i].seq;
	sb->heard[i].key = standby_hash("", key);
	sb->heard[i].seq = ++sb->seq;
	sb->next_heard = (i + 1) % STANDBY_HEARD;
}

/* Sample the primary, then the standby: how far has it replayed? */
static void
standby_poll(struct standby *sb, int64_t now)
{
	int64_t lsn, wait;
	int standby;
	size_t i, k;

	/*
	 * The newest sample is often just ahead of a standby under writes:
	 * one that matched none is asked again soon, against that sample.
	 */
	wait = sb->fresh_ms != 0 && now - sb->fresh_ms <= 2 * STANDBY_POLL_MS ?
	    STANDBY_POLL_MS : STANDBY_BEHIND_MS;
	if (now - sb->polled_ms < wait && sb->read_gen != 0 &&
	    db_generation(sb->read) == sb->read_gen)
		return;
	sb->polled_ms = now;
	if (db_wal_position(sb->primary, &standby, &lsn) == ERR_OK && !standby) {
		sb->sample[sb->next_sample].lsn = lsn;
		sb->sample[sb->next_sample].at_ms = now;	/* taken before it was asked */
		sb->sample[sb->next_sample].seq = sb->seq;
		sb->next_sample = (sb->next_sample + 1) % STANDBY_SAMPLES;
		if (sb->nsamples < STANDBY_SAMPLES)
			sb->nsamples++;
	}
	if (db_wal_position(sb->read, &standby, &lsn) != ERR_OK) {
		sb->fresh_ms = 0;
		sb->read_gen = 0;
		return;
	}
	if (db_generation(sb->read) != sb->read_gen) {
		sb->read_gen = db_generation(sb->read);
		sb->fresh_ms = sb->on_primary_ms = 0;
		sb->fresh_seq = 0;
	}
	if (!standby) {
		/*
		 * The reads went to a primary (after a failover, or with no
		 * standby left): it is never behind, but should not keep them.
		 */
		if (sb->on_primary_ms == 0)
			sb->on_primary_ms = now;
		else if (now - sb->on_primary_ms > STANDBY_ON_PRIMARY_MS) {
			log_msg(LVL_INFO, "event=standby_reads_on_primary action=reconnect");
			db_disconnect(sb->read);
			sb->read_gen = 0;
			sb->fresh_ms = 0;
			return;
		}
		sb->fresh_ms = now;
		sb->fresh_seq = sb->seq;
		return;
	}
	sb->on_primary_ms = 0;
	/* The newest sample it has replayed; samples only grow. */
	for (i = 0; i < sb->nsamples; i++) {
		k = (sb->next_sample + STANDBY_SAMPLES - 1 - i) % STANDBY_SAMPLES;
		if (sb->sample[k].lsn <= lsn) {
			if (sb->sample[k].at_ms > sb->fresh_ms) {
				sb->fresh_ms = sb->sample[k].at_ms;
				sb->fresh_seq = sb->sample[k].seq;
			}
			break;
		}
	}
}

int
standby_may(struct standby *sb, const char *prefix, const char *key)
{
	int64_t now = standby_now_ms();
	uint64_t h;
	size_t i, k;

	standby_poll(sb, now);
	if (sb->fresh_ms == 0 || now - sb->fresh_ms > STANDBY_LAG_MS ||
	    sb->read_gen == 0 || db_generation(sb->read) != sb->read_gen)
		return 0;
	/* Of what was committed before listening began, nothing was heard. */
	if (sb->listening_ms == 0 || sb->listening_ms >= sb->fresh_ms ||
	    sb->forgot_seq > sb->fresh_seq)
		return 0;
	if (key == NULL)
		return 1;
	h = standby_hash(prefix, key);
	for (i = 0; i < STANDBY_HEARD; i++) {
		k = (sb->next_heard + STANDBY_HEARD - 1 - i) % STANDBY_HEARD;
		if (sb->heard[k].seq <= sb->fresh_seq)
			break;		/* heard before the sample it replayed: it has that */
		if (sb->heard[k].key == h)
			return 0;
	}
	return 1;
}

int
standby_same(const struct standby *sb)
{
	return sb->read_gen != 0 && db_generation(sb->read) == sb->read_gen;
}
