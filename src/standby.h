/*
 * standby.h - when a standby may answer a read (read_database_url): what
 * it has replayed, and what the primary notified since.
 */
#ifndef PATGATE_STANDBY_H
#define PATGATE_STANDBY_H

#include "db.h"

struct standby;

struct standby	*standby_new(struct db *primary, struct db *read);
void		 standby_free(struct standby *);
/* Listening on the primary since (CLOCK_MONOTONIC, ms), or not (0). */
void		 standby_listening(struct standby *, int64_t since_ms);
/* A change was notified: of a token ("<id>") or an owner's ("user:<email>"). */
void		 standby_heard(struct standby *, const char *key);
/*
 * May the standby answer for prefix and key ("user:" and an email, "" and
 * a token id), every change to them notified before it caught up?  With
 * key NULL: may it answer at all.  Samples the WAL positions when due.
 */
int		 standby_may(struct standby *, const char *prefix, const char *key);
/* Is the read connection still the one standby_may judged? */
int		 standby_same(const struct standby *);

#endif
