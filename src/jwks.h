/* jwks.h - OIDC signing keys from a JWKS file, re-read when the file changes. */
#ifndef PATGATE_JWKS_H
#define PATGATE_JWKS_H

#include <sys/stat.h>

#include <stddef.h>
#include <time.h>

#include "jose.h"

struct jwks;

/* Parse a JWKS document; keys that are not RS256 or ES256 signing keys are skipped. */
struct jwks	*jwks_parse(const char *json, size_t len, char *err, size_t errsz);
struct jwks	*jwks_load(const char *path, char *err, size_t errsz);
void		 jwks_free(struct jwks *);
size_t		 jwks_count(const struct jwks *);
/* 0 when a key of the token's kid and algorithm verifies its signature. */
int		 jwks_verify(const struct jwks *, const struct jose *);

struct jwks_cache {
	char		*path;
	struct jwks	*keys;		/* NULL: the file trusts no key now */
	char		 why[256];	/* why keys is NULL */
	unsigned	 generation;	/* counts the reloads */
	struct timespec	 mtime;
	dev_t		 dev;
	ino_t		 ino;
	off_t		 size;
};

/*
 * Watch path.  A file that is missing, empty or holds no usable key is not
 * an error: it trusts no key until it changes (CONTRACT 7), and why says so.
 */
void		 jwks_cache_open(struct jwks_cache *, const char *path);
/*
 * The keys, re-read first if the file changed.  NULL when the file is gone,
 * empty or holds no usable key: the keys trusted before are dropped.
 */
const struct jwks *jwks_cache_get(struct jwks_cache *);
void		 jwks_cache_close(struct jwks_cache *);

#endif
