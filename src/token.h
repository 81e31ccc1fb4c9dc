/* token.h - patgate's PATs: Terrakube's HS256 JWT, minted and checked. */
#ifndef PATGATE_TOKEN_H
#define PATGATE_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "request.h"

/* base64url of {"alg":"HS256","typ":"JWT"}: the header of every PAT. */
#define TOKEN_HEADER_B64	"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
#define TOKEN_NAME_SUFFIX	" (Token)"
#define TOKEN_TEAM_SUFFIX	" (Team Token)"	/* a team token's sub */
/*
 * The longest token issued: a check accepts 8192 bytes, and nginx's default
 * header buffer (8 KiB) must hold "Authorization: Bearer " and the token.
 */
#define TOKEN_MAX		8000

/* What a new token is: whose, how long it lives, what it says. */
struct token_spec {
	const char	*group;		/* a team token's group; NULL for a PAT */
	long long	 days, hours, minutes;
	const char	*description;
};

struct token_minted {
	char		*token;		/* in the request arena; sent once */
	struct pat_new	 row;		/* what to store */
	char		 id[37];
	const char	*group_list[1];	/* a team token's groups */
};

int64_t		 token_now_us(void);
int64_t		 token_now_ms(void);
/* 1 when the token's header is a PAT's, so it is worth checking as one. */
int		 token_is_pat(const char *token, size_t len);
/*
 * Mint a token the caller creates: a PAT it owns, or a team token of
 * spec->group.  A caller that is itself an expiring token cannot make one
 * that outlives it (ERR_INVALID_FIELD, days).
 */
enum error	 token_mint(struct request *, const struct caller *creator,
		    const struct token_spec *, struct token_minted *);
/*
 * The whole validity check of CONTRACT 4: signature, iss and aud, expiry,
 * then the database row (recording the use from addr).  ERR_INVALID_TOKEN
 * for any token that is not valid; ERR_UNAVAILABLE if the database is down.
 */
enum error	 token_check(struct request *, const char *token, size_t len,
		    const char *addr, struct pat_row *);

#endif
