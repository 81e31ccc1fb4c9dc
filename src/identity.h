/* identity.h - the rules for identity text that travels in X-Pat-* headers (CONTRACT 2). */
#ifndef PATGATE_IDENTITY_H
#define PATGATE_IDENTITY_H

#include <stddef.h>

#define IDENTITY_EMAIL_MAX	320	/* bytes */
#define IDENTITY_TEXT_MAX	255	/* code points, for a name or a group */
#define IDENTITY_GROUPS_MAX	64

/*
 * Each returns NULL when the text is acceptable, else the reason, for a
 * message that also names the claim.
 */
const char	*identity_email(const char *);
/* A web server's REMOTE_USER, used as email and name: need not hold an @. */
const char	*identity_user(const char *);
const char	*identity_name(const char *);
const char	*identity_group(const char *);

/*
 * Check a whole identity.  On failure *claim names the claim at fault
 * ("email", "name" or "groups") and the reason is returned.
 */
const char	*identity_check(const char *email, const char *name,
		    const char *const *groups, size_t ngroups, int is_user,
		    const char **claim);

#endif
