/*
 * ended.h - tokens that one worker revoked or rotated, told at once to the
 * other workers of its supervisor through memory they share.  PostgreSQL's
 * notifications tell every worker of every instance too, but a moment
 * later: this closes that moment for the instance that answered the revoke.
 */
#ifndef PATGATE_ENDED_H
#define PATGATE_ENDED_H

#include <stddef.h>

/* Before the workers are forked: the list becomes shared with them. */
int	ended_share(void);
/* A token this worker ended, by id, or by its HMAC (revocation by value). */
void	ended_id(const char *id);
void	ended_hmac(const unsigned char hmac[32]);
/*
 * Give each token ended since this worker last asked to by_id or by_hmac.
 * Cheap when nothing was: one load of a counter.
 */
void	ended_take(void (*by_id)(void *, const char *),
	    void (*by_hmac)(void *, const unsigned char *), void *arg);

#endif
