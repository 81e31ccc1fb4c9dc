/* jose.h - compact JWS and JWT claims over libcrypto (RFC 7515, 7518, 7519). */
#ifndef PATGATE_JOSE_H
#define PATGATE_JOSE_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "alloc.h"

#define JOSE_TOKEN_MAX	8192		/* longest compact token accepted */
#define B64URL_LEN(n)	(((n) * 4 + 2) / 3)

enum jose_alg {
	JOSE_ALG_OTHER = 0,		/* none, HS384, PS256, ...: all refused */
	JOSE_ALG_HS256,
	JOSE_ALG_RS256,
	JOSE_ALG_ES256
};

/* base64url without padding.  encode writes B64URL_LEN(n) chars and a NUL. */
size_t	b64url_encode(char *dst, const unsigned char *src, size_t n);
/* Strict: alphabet only, no padding, unused bits zero.  Returns length or -1. */
ssize_t	b64url_decode(unsigned char *dst, size_t dstsz, const char *src, size_t n);

/* The three segments of a compact JWS, pointing into the token. */
struct jose_parts {
	const char	*seg[3];
	size_t		 len[3];
	size_t		 signed_len;	/* header "." payload */
};

/* A decoded JWS: header fields, payload JSON and signature bytes. */
struct jose {
	struct jose_parts parts;
	enum jose_alg	 alg;
	char		 kid[256];	/* "" when absent */
	char		 payload[JOSE_TOKEN_MAX];	/* NUL-terminated */
	size_t		 payload_len;
	unsigned char	 sig[512];
	size_t		 sig_len;
};

struct jose_claims {
	const char	*iss, *sub, *jti, *email, *name;
	const char	**aud;		/* audiences, naud of them */
	size_t		 naud;
	const char	**groups;	/* NULL when the claim is absent */
	size_t		 ngroups;
	int64_t		 exp, nbf, iat;
	unsigned	 has_exp:1, has_nbf:1, has_iat:1;
	/* email_verified was present; verified only when it is the JSON true. */
	unsigned	 has_email_verified:1, email_verified:1;
};

/* A reusable HMAC-SHA256 key. */
struct jose_hmac;

int	jose_split(const char *token, size_t len, struct jose_parts *);
/* Split and decode; reads alg and kid from the header and refuses "crit". */
int	jose_parse(struct jose *, const char *token, size_t len);
/* Parse JWT claims; every string is allocated from the arena. */
int	jose_claims_parse(struct jose_claims *, const char *json, size_t len,
	    struct arena *);
int	jose_claims_has_aud(const struct jose_claims *, const char *aud);

struct jose_hmac *jose_hmac_new(const unsigned char *key, size_t len);
void	jose_hmac_free(struct jose_hmac *);
int	jose_hmac(struct jose_hmac *, const void *msg, size_t len,
	    unsigned char out[32]);
/* Sign header "." payload (both already base64url) into out: returns length or 0. */
size_t	jose_hs256_sign(struct jose_hmac *, char *out, size_t outsz,
	    const char *header_b64, const char *payload_json, size_t payload_len);
/* Check an HS256 signature over parts in constant time: 0 when valid. */
int	jose_hs256_verify(struct jose_hmac *, const struct jose_parts *,
	    const unsigned char *sig, size_t sig_len);
/* Check an RS256 or ES256 signature with a public key of the matching type. */
int	jose_pkey_verify(const struct jose *, EVP_PKEY *);

#endif
