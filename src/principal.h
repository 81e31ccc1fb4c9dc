/*
 * principal.h - who acts on which tokens, as the token service sees it:
 * no HTTP here, so that every front end (the API, the admin tool, tests)
 * says the same thing the same way.
 */
#ifndef PATGATE_PRINCIPAL_H
#define PATGATE_PRINCIPAL_H

#include <stddef.h>
#include <stdint.h>

enum caller_via {
	CALLER_NONE,
	CALLER_PAT,		/* a PAT: its owner */
	CALLER_TEAM,		/* a team token: its group, nothing else */
	CALLER_OIDC,
	CALLER_REMOTE_USER,
	CALLER_ADMIN		/* the admin tool, with database access only */
};

/* Who is acting (CONTRACT 2).  Strings belong to whoever filled it in. */
struct caller {
	enum caller_via	 via;
	const char	*email;
	const char	*name;		/* never ends in " (Token)" */
	const char	**groups;
	size_t		 ngroups;
	const char	*group;		/* via CALLER_TEAM: the token's group */
	const char	*pat_id;	/* the token used, via CALLER_PAT or CALLER_TEAM */
	int64_t		 expires_ms;	/* that token's expiry, when has_expires */
	int		 has_expires;
};

/* Whose tokens: a user's PATs, or the team tokens of groups. */
enum owner_kind { OWNER_USER, OWNER_TEAM };

struct principal {
	enum owner_kind		 kind;
	const struct caller	*actor;
	const char		*addr;		/* the client's address, or NULL */
	const char		*request_id;	/* for the audit trail, or NULL */
};

/* How the audit trail names the way an actor came in. */
const char	*principal_via(enum caller_via);

#endif
