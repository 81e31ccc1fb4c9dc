/*
 * token.h - the token format: Terrakube's HS256 JWT, signed and verified.
 * Pure: keys come in as a value, and nothing here knows HTTP or the store.
 */
#ifndef PATGATE_TOKEN_H
#define PATGATE_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include <yajl/yajl_gen.h>

#include "alloc.h"
#include "db.h"
#include "error.h"
#include "jose.h"
#include "principal.h"

/* base64url of {"alg":"HS256","typ":"JWT"}: the header of every PAT. */
#define TOKEN_HEADER_B64	"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
#define TOKEN_NAME_SUFFIX	" (Token)"
#define TOKEN_TEAM_SUFFIX	" (Team Token)"	/* a team token's sub */
/*
 * The longest token issued: a check accepts 8192 bytes, and nginx's default
 * header buffer (8 KiB) must hold "Authorization: Bearer " and the token.
 */
#define TOKEN_MAX		8000

#define TOKEN_PREVIOUS_MAX	4

struct token_keys {
	struct jose_hmac	*secret;	/* signs and checks tokens */
	struct jose_hmac	*pepper;	/* hashes them for the store */
	const char		*issuer;	/* iss */
	const char		*audience;	/* the one aud */
	/* Rotated out: still checked, never used for anything new. */
	struct jose_hmac	*old_secrets[TOKEN_PREVIOUS_MAX];
	size_t			 nold_secrets;
	struct jose_hmac	*old_peppers[TOKEN_PREVIOUS_MAX];
	size_t			 nold_peppers;
};

/* What a new token is: whose, how long it lives, what it says. */
struct token_spec {
	const char	*group;		/* a team token's group; NULL for a PAT */
	long long	 days, hours, minutes;
	const char	*description;
};

struct token_minted {
	char		*token;		/* in the arena; sent once */
	struct pat_new	 row;		/* what to store */
	char		 id[37];
	const char	*group_list[1];	/* a team token's groups */
	int64_t		 exp;		/* 0: never expires */
};

int64_t		 token_now_us(void);
int64_t		 token_now_ms(void);
/* 1 when the token's header is a PAT's, so it is worth checking as one. */
int		 token_is_pat(const char *token, size_t len);
/* The lifetime of spec, in seconds. */
int64_t		 token_lifetime(const struct token_spec *);
/*
 * Sign a token the creator makes at now_us: a PAT it owns, or a team token
 * of spec->group, with Terrakube's claims in Terrakube's order.
 * ERR_FORBIDDEN when the identity is too large for a usable token.
 */
enum error	 token_sign(const struct token_keys *, yajl_gen, struct arena *,
		    const struct caller *creator, const struct token_spec *,
		    int64_t now_us, struct token_minted *);
/*
 * Check a token's shape, signature (alg exactly HS256), iss, aud and exp.
 * ERR_INVALID_TOKEN unless it passes; *jti then names its row, and
 * *exp_ms is when it expires (-1: never).
 */
enum error	 token_verify(const struct token_keys *, struct arena *,
		    const char *token, size_t len, int64_t now_ms, const char **jti,
		    int64_t *exp_ms);
/* HMAC-SHA256(pepper, token): the only form in which a token is stored. */
int		 token_hmac(const struct token_keys *, const char *token, size_t len,
		    unsigned char out[32]);

#endif
