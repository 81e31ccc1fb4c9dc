/* config.h - the typed configuration table: file first, then PATGATE_* overrides. */
#ifndef PATGATE_CONFIG_H
#define PATGATE_CONFIG_H

#include <stddef.h>

#include "log.h"

#define CONFIG_KEY_MIN	32	/* bytes a secret or pepper must decode to */
#define CONFIG_KEY_MAX	512
#define CONFIG_DAYS_MAX	36500
#define CONFIG_PREVIOUS_MAX	4	/* previous secrets, and previous peppers */

struct config {
	char		*database_url;
	char		*read_database_url;	/* a standby for reads; empty: the primary */
	int		 verify_on_standby;	/* checks read the standby too */
	char		*secret_file;
	char		*pepper_file;
	char		*issuer;
	char		*audience;
	long		 max_days;		/* 0: unset */
	long		 default_days;		/* days when a create gives none; 0: required */
	long		 inactive_days;		/* unused this long, a token stops; 0: off */
	long		 max_rotation_grace;	/* seconds */
	long		 max_tokens_per_user;	/* live tokens per owner */
	long		 verify_cache_entries;	/* positive checks kept per worker; 0: off */
	long		 verify_cache_seconds;	/* the longest an entry is trusted */
	char		*previous_secret_files;	/* still accepted for tokens they signed */
	char		*previous_pepper_files;	/* rows hashed with them are re-keyed */
	char		*expiry_notice_days;	/* windows, e.g. "30,7,1" */
	char		*expiry_notice_command;	/* run by /bin/sh -c, the notice on stdin */
	char		*expiry_notice_webhook;	/* or POSTed here */
	char		*oidc_issuer;
	char		*oidc_audience;
	char		*oidc_jwks_file;
	int		 oidc_require_verified_email;
	int		 trust_remote_user;
	char		*trusted_proxies;
	char		*cors_origins;
	char		*metrics_allow;		/* who may read /pat/v1/metrics */
	char		*introspect_secret;
	char		*listen;
	long		 workers;		/* 0: two per CPU */
	char		*user;
	enum log_level	 log_level;

	/* Read from secret_file and pepper_file. */
	unsigned char	 secret[CONFIG_KEY_MAX];
	size_t		 secret_len;
	unsigned char	 pepper[CONFIG_KEY_MAX];
	size_t		 pepper_len;
	/* Read from previous_secret_files and previous_pepper_files. */
	unsigned char	 old_secret[CONFIG_PREVIOUS_MAX][CONFIG_KEY_MAX];
	size_t		 old_secret_len[CONFIG_PREVIOUS_MAX], nold_secrets;
	unsigned char	 old_pepper[CONFIG_PREVIOUS_MAX][CONFIG_KEY_MAX];
	size_t		 old_pepper_len[CONFIG_PREVIOUS_MAX], nold_peppers;

	char		*path;			/* the file that was read */
};

/*
 * Read path (NULL: the default file, which may be absent), apply the
 * environment, load the key files.  On failure returns -1 with one line in
 * err naming the file, the line and the key.
 */
int	config_load(struct config *, const char *path, char *err, size_t errsz);
/*
 * The same, with CONFIG_NO_KEYS: the key files are not read, for tools that
 * need only the database (--migrate, patgate-admin).
 */
#define CONFIG_NO_KEYS	0x1
int	config_load_flags(struct config *, const char *path, int flags, char *err,
	    size_t errsz);
/* Parse a file's text into cfg (no environment, no key files): for tests and fuzzing. */
int	config_parse(struct config *, const char *name, const char *text,
	    char *err, size_t errsz);
void	config_defaults(struct config *);
void	config_free(struct config *);
long	config_workers(const struct config *);
/* How many days a list such as "30,7,1" names, or -1 when it is not one. */
int	config_days_list(const char *);
/*
 * After a reload: give fresh the running values of the keys that only a
 * restart can change (listen, workers, user), calling changed for each key
 * whose new value is thus not applied.  Returns how many.
 */
int	config_keep_restart_keys(const struct config *running, struct config *fresh,
	    void (*changed)(const char *key));
/* Decode a base64url key file's contents: at least CONFIG_KEY_MIN bytes. */
int	config_key_decode(const char *text, size_t len, unsigned char *out,
	    size_t *outlen);

#endif
