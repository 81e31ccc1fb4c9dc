/* config.c - the typed configuration table: file first, then PATGATE_* overrides. */
#include "config.h"

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <openssl/crypto.h>

#include "alloc.h"
#include "cors.h"
#include "jose.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define CONFIG_DEFAULT_PATH SYSCONFDIR "/patgate/patgate.conf"
#define CONFIG_LINE_MAX 4096

enum config_type { CT_STRING, CT_INT, CT_BOOL, CT_LEVEL };

struct config_key {
	const char		*name;
	enum config_type	 type;
	size_t			 offset;
	const char		*dflt;
	long			 min, max;	/* CT_INT only */
	int			 restart;	/* SIGHUP cannot apply it (pgbouncer's CF_NO_RELOAD) */
};

#define CS(k, d)	{ #k, CT_STRING, offsetof(struct config, k), d, 0, 0, 0 }
#define CI(k, d, lo, hi) { #k, CT_INT, offsetof(struct config, k), d, lo, hi, 0 }
#define CB(k, d)	{ #k, CT_BOOL, offsetof(struct config, k), d, 0, 0, 0 }
/* The socket and the pool are the supervisor's, made once at start-up. */
#define CS_RESTART(k, d) { #k, CT_STRING, offsetof(struct config, k), d, 0, 0, 1 }
#define CI_RESTART(k, d, lo, hi) { #k, CT_INT, offsetof(struct config, k), d, lo, hi, 1 }

static const struct config_key config_keys[] = {
	CS(database_url, ""),
	CS(read_database_url, ""),
	CB(verify_on_standby, "off"),
	CS(secret_file, ""),
	CS(pepper_file, ""),
	CS(issuer, "Terrakube"),
	CS(audience, "Terrakube"),
	CI(max_days, "0", 0, CONFIG_DAYS_MAX),
	CI(default_days, "0", 0, CONFIG_DAYS_MAX),
	CI(inactive_days, "0", 0, CONFIG_DAYS_MAX),
	CI(max_rotation_grace, "86400", 0, 31 * 86400),
	CI(max_tokens_per_user, "500", 1, 1000000),
	CI(verify_cache_entries, "1024", 0, 65536),
	CI(verify_cache_seconds, "60", 1, 3600),
	CS(previous_secret_files, ""),
	CS(previous_pepper_files, ""),
	CS(expiry_notice_days, "30,7,1"),
	CS(expiry_notice_command, ""),
	CS(expiry_notice_webhook, ""),
	CS(oidc_issuer, ""),
	CS(oidc_audience, ""),
	CS(oidc_jwks_file, ""),
	CB(oidc_require_verified_email, "on"),
	CB(trust_remote_user, "off"),
	CS(trusted_proxies, ""),
	CS(cors_origins, ""),
	CS(metrics_allow, "127.0.0.1/8 ::1"),
	CS(introspect_secret, ""),
	CS_RESTART(listen, ""),
	CI_RESTART(workers, "0", 0, 256),
	CS_RESTART(user, ""),
	{ "log_level", CT_LEVEL, offsetof(struct config, log_level), "info", 0, 0, 0 },
};
#define CONFIG_NKEYS (sizeof(config_keys) / sizeof(config_keys[0]))

/* Where each key was last set, so that errors about it can say so. */
struct config_origin {
	const char	*file;
	int		 line;		/* 0: environment or default */
};

static int config_fail(char *, size_t, const struct config_origin *,
    const char *, const char *, ...) __attribute__((format(printf, 5, 6)));

static int
config_fail(char *err, size_t errsz, const struct config_origin *o,
    const char *key, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (o->line > 0)
		snprintf(err, errsz, "%s:%d: %s: %s", o->file, o->line, key, msg);
	else
		snprintf(err, errsz, "%s: %s: %s", o->file, key, msg);
	return -1;
}

static int
config_bool(const char *v, int *out)
{
	static const char *const yes[] = { "on", "true", "yes", "1" };
	static const char *const no[] = { "off", "false", "no", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0)
			return *out = 1, 0;
		if (strcasecmp(v, no[i]) == 0)
			return *out = 0, 0;
	}
	return -1;
}

/* Set one key from its text; on a bad value write the reason to why. */
static int
config_set(struct config *cfg, const struct config_key *k, const char *v,
    char *why, size_t whysz)
{
	char *target = (char *)cfg + k->offset, *end;
	long n;

	switch (k->type) {
	case CT_STRING:
		free(*(char **)target);
		*(char **)target = xstrdup(v);
		return 0;
	case CT_INT:
		errno = 0;
		n = strtol(v, &end, 10);
		if (*v == '\0' || *end != '\0' || errno != 0 || n < k->min ||
		    n > k->max) {
			snprintf(why, whysz, "\"%s\" is not a whole number from "
			    "%ld to %ld", v, k->min, k->max);
			return -1;
		}
		*(long *)target = n;
		return 0;
	case CT_BOOL:
		if (config_bool(v, (int *)target) == -1) {
			snprintf(why, whysz, "\"%s\" is not on or off", v);
			return -1;
		}
		return 0;
	case CT_LEVEL:
		if (log_level_parse(v, (enum log_level *)target) == -1) {
			snprintf(why, whysz, "\"%s\" is not one of debug, info, "
			    "warn, error", v);
			return -1;
		}
		return 0;
	}
	return -1;
}

static const struct config_key *
config_find(const char *name)
{
	for (size_t i = 0; i < CONFIG_NKEYS; i++)
		if (strcmp(config_keys[i].name, name) == 0)
			return &config_keys[i];
	return NULL;
}

void
config_defaults(struct config *cfg)
{
	char why[128];

	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < CONFIG_NKEYS; i++)
		(void)config_set(cfg, &config_keys[i], config_keys[i].dflt,
		    why, sizeof(why));
}

void
config_free(struct config *cfg)
{
	for (size_t i = 0; i < CONFIG_NKEYS; i++)
		if (config_keys[i].type == CT_STRING)
			free(*(char **)((char *)cfg + config_keys[i].offset));
	free(cfg->path);
	OPENSSL_cleanse(cfg, sizeof(*cfg));
}

static char *
config_trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int
config_parse_origins(struct config *cfg, const char *name, const char *text,
    struct config_origin *origins, char *err, size_t errsz)
{
	char line[CONFIG_LINE_MAX + 1], why[256];
	const char *p = text, *nl;
	int lineno = 0;

	while (*p != '\0') {
		struct config_origin here;
		const struct config_key *k;
		char *key, *val, *eq;
		size_t len;

		lineno++;
		here.file = name;
		here.line = lineno;
		nl = strchr(p, '\n');
		len = nl ? (size_t)(nl - p) : strlen(p);
		if (len > CONFIG_LINE_MAX)
			return config_fail(err, errsz, &here, "line",
			    "longer than %d bytes", CONFIG_LINE_MAX);
		memcpy(line, p, len);
		line[len] = '\0';
		p += len + (nl != NULL);
		if (memchr(line, '\0', len) != NULL)
			return config_fail(err, errsz, &here, "line",
			    "contains a NUL byte");
		key = config_trim(line);
		if (*key == '\0' || *key == '#')
			continue;
		if ((eq = strchr(key, '=')) == NULL)
			return config_fail(err, errsz, &here, config_trim(key),
			    "expected \"key = value\"");
		*eq = '\0';
		key = config_trim(key);
		val = config_trim(eq + 1);
		len = strlen(val);
		if (len >= 2 && val[0] == '"' && val[len - 1] == '"') {
			val[len - 1] = '\0';
			val++;
		}
		if ((k = config_find(key)) == NULL)
			return config_fail(err, errsz, &here, key, "unknown key");
		if (origins[k - config_keys].line > 0)
			return config_fail(err, errsz, &here, key,
			    "already set on line %d", origins[k - config_keys].line);
		if (config_set(cfg, k, val, why, sizeof(why)) == -1)
			return config_fail(err, errsz, &here, key, "%s", why);
		origins[k - config_keys] = here;
	}
	return 0;
}

int
config_parse(struct config *cfg, const char *name, const char *text,
    char *err, size_t errsz)
{
	struct config_origin origins[CONFIG_NKEYS];

	memset(origins, 0, sizeof(origins));
	return config_parse_origins(cfg, name, text, origins, err, errsz);
}

static char *
config_slurp(const char *path, size_t max, size_t *lenp, struct stat *st)
{
	char *buf;
	ssize_t n;
	size_t len = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	errno = 0;
	if (fstat(fd, st) == -1 || !S_ISREG(st->st_mode) ||
	    (size_t)st->st_size > max) {
		int why = errno;

		if (why == 0)
			why = S_ISDIR(st->st_mode) ? EISDIR :
			    !S_ISREG(st->st_mode) ? EINVAL : EFBIG;
		close(fd);
		errno = why;
		return NULL;
	}
	buf = xmalloc(max + 1);
	while ((n = read(fd, buf + len, max - len)) > 0)
		len += (size_t)n;
	close(fd);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	*lenp = len;
	return buf;
}

int
config_key_decode(const char *text, size_t len, unsigned char *out, size_t *outlen)
{
	ssize_t n;

	while (len > 0 && (isspace((unsigned char)text[len - 1]) ||
	    text[len - 1] == '='))
		len--;
	n = b64url_decode(out, CONFIG_KEY_MAX, text, len);
	if (n < CONFIG_KEY_MIN)
		return -1;
	*outlen = (size_t)n;
	return 0;
}

/* Read a secret key file: base64url, private to its owner, >= 32 bytes. */
static int
config_key_file(const char *path, unsigned char *out, size_t *outlen,
    const struct config_origin *o, const char *key, char *err, size_t errsz)
{
	struct stat st;
	size_t len;
	char *text;
	int rc;

	if (*path == '\0')
		return config_fail(err, errsz, o, key, "must be set");
	errno = 0;
	if ((text = config_slurp(path, 4096, &len, &st)) == NULL)
		return config_fail(err, errsz, o, key, "cannot read %s: %s",
		    path, strerror(errno));
	if (st.st_mode & 077) {
		OPENSSL_cleanse(text, len);
		free(text);
		return config_fail(err, errsz, o, key, "%s can be read by other "
		    "users (mode %04o); chmod 600 it", path,
		    (unsigned)(st.st_mode & 07777));
	}
	rc = config_key_decode(text, len, out, outlen);
	OPENSSL_cleanse(text, len);
	free(text);
	if (rc == -1)
		return config_fail(err, errsz, o, key, "%s must hold base64url "
		    "text that decodes to at least %d bytes", path, CONFIG_KEY_MIN);
	return 0;
}

/* A libpq connection string or URL that carries a password. */
static int
config_has_password(const char *conninfo)
{
	PQconninfoOption *opts, *o;
	char *err = NULL;
	int found = 0;

	if (*conninfo == '\0')
		return 0;
	if ((opts = PQconninfoParse(conninfo, &err)) == NULL) {
		PQfreemem(err);
		/* Unparsable here means unusable later; say so only if it could hide one. */
		return strstr(conninfo, "password") != NULL || strchr(conninfo, '@') != NULL;
	}
	for (o = opts; o->keyword != NULL; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val != NULL && *o->val != '\0')
			found = 1;
	PQconninfoFree(opts);
	return found;
}

/* The first key read from the file that holds a secret, or NULL. */
static const char *
config_secret_key(const struct config *cfg)
{
	if (config_has_password(cfg->database_url))
		return "database_url";
	if (cfg->introspect_secret[0] != '\0')
		return "introspect_secret";
	return NULL;
}

/* Read a list of key files (by spaces or commas), each as secret_file is. */
static int
config_key_files(const char *list, unsigned char keys[][CONFIG_KEY_MAX],
    size_t *lens, size_t *n, const struct config_origin *o, const char *key,
    char *err, size_t errsz)
{
	char path[PATH_MAX];
	const char *p = list;
	size_t len;

	*n = 0;
	for (;;) {
		p += strspn(p, " ,\t");
		if (*p == '\0')
			return 0;
		len = strcspn(p, " ,\t");
		if (*n == CONFIG_PREVIOUS_MAX || len >= sizeof(path))
			return config_fail(err, errsz, o, key, "at most %d files, each "
			    "path shorter than %d bytes", CONFIG_PREVIOUS_MAX, PATH_MAX);
		memcpy(path, p, len);
		path[len] = '\0';
		if (config_key_file(path, keys[*n], &lens[*n], o, key, err, errsz) == -1)
			return -1;
		(*n)++;
		p += len;
	}
}

int
config_days_list(const char *list)
{
	const char *p = list;
	char *end;
	long d;
	int n = 0;

	for (;;) {
		p += strspn(p, " ,\t");
		if (*p == '\0')
			return n;
		errno = 0;
		d = strtol(p, &end, 10);
		if (end == p || errno != 0 || d < 1 || d > CONFIG_DAYS_MAX ||
		    (*end != '\0' && strchr(" ,\t", *end) == NULL))
			return -1;
		n++;
		p = end;
	}
}

int
config_load(struct config *cfg, const char *path, char *err, size_t errsz)
{
	return config_load_flags(cfg, path, 0, err, errsz);
}

int
config_load_flags(struct config *cfg, const char *path, int flags, char *err,
    size_t errsz)
{
	struct config_origin origins[CONFIG_NKEYS], envorigin = { NULL, 0 };
	const struct config_origin *o;
	char envname[64], why[256], *text = NULL;
	const char *secret;
	struct stat st;
	size_t len, i;
	int explicit = path != NULL;

	config_defaults(cfg);
	memset(origins, 0, sizeof(origins));
	if (path == NULL)
		path = getenv("PATGATE_CONFIG");
	if (path == NULL)
		path = CONFIG_DEFAULT_PATH;
	else
		explicit = 1;
	cfg->path = xstrdup(path);
	for (i = 0; i < CONFIG_NKEYS; i++)
		origins[i].file = cfg->path;

	errno = 0;
	if ((text = config_slurp(path, 1 << 20, &len, &st)) == NULL) {
		if (explicit || errno != ENOENT) {
			struct config_origin here = { path, 0 };
			return config_fail(err, errsz, &here, "file",
			    "cannot read: %s", strerror(errno));
		}
	} else {
		int rc;

		if (memchr(text, '\0', len) != NULL) {
			struct config_origin here = { path, 1 };
			const char *p;

			for (p = text; *p != '\0'; p++)
				here.line += *p == '\n';
			free(text);
			return config_fail(err, errsz, &here, "line", "contains a NUL byte");
		}
		rc = config_parse_origins(cfg, path, text, origins, err, errsz);
		free(text);
		if (rc == -1)
			return -1;
		if ((st.st_mode & 077) && (secret = config_secret_key(cfg)) != NULL) {
			o = &origins[config_find(secret) - config_keys];
			return config_fail(err, errsz, o, secret,
			    "%s holds a secret but other users can read it "
			    "(mode %04o); chmod 600 it", path,
			    (unsigned)(st.st_mode & 07777));
		}
	}

	for (i = 0; i < CONFIG_NKEYS; i++) {
		const char *v;
		size_t j;

		snprintf(envname, sizeof(envname), "PATGATE_%s", config_keys[i].name);
		for (j = 8; envname[j] != '\0'; j++)
			envname[j] = (char)toupper((unsigned char)envname[j]);
		if ((v = getenv(envname)) == NULL)
			continue;
		envorigin.file = "environment";
		if (config_set(cfg, &config_keys[i], v, why, sizeof(why)) == -1)
			return config_fail(err, errsz, &envorigin, envname, "%s", why);
		origins[i] = envorigin;
	}

	o = &origins[config_find("secret_file") - config_keys];
	if (!(flags & CONFIG_NO_KEYS) &&
	    config_key_file(cfg->secret_file, cfg->secret, &cfg->secret_len, o,
	    "secret_file", err, errsz) == -1)
		return -1;
	o = &origins[config_find("pepper_file") - config_keys];
	if (!(flags & CONFIG_NO_KEYS) &&
	    config_key_file(cfg->pepper_file, cfg->pepper, &cfg->pepper_len, o,
	    "pepper_file", err, errsz) == -1)
		return -1;
	if (!(flags & CONFIG_NO_KEYS) &&
	    (config_key_files(cfg->previous_secret_files, cfg->old_secret,
	    cfg->old_secret_len, &cfg->nold_secrets,
	    &origins[config_find("previous_secret_files") - config_keys],
	    "previous_secret_files", err, errsz) == -1 ||
	    config_key_files(cfg->previous_pepper_files, cfg->old_pepper,
	    cfg->old_pepper_len, &cfg->nold_peppers,
	    &origins[config_find("previous_pepper_files") - config_keys],
	    "previous_pepper_files", err, errsz) == -1))
		return -1;
	if (config_days_list(cfg->expiry_notice_days) == -1) {
		o = &origins[config_find("expiry_notice_days") - config_keys];
		return config_fail(err, errsz, o, "expiry_notice_days", "\"%s\" is not "
		    "a list of whole numbers of days from 1 to 36500",
		    cfg->expiry_notice_days);
	}
	if (cfg->default_days > 0 && cfg->max_days > 0 &&
	    cfg->default_days > cfg->max_days) {
		o = &origins[config_find("default_days") - config_keys];
		return config_fail(err, errsz, o, "default_days", "%ld is more than "
		    "max_days (%ld)", cfg->default_days, cfg->max_days);
	}
	if (cfg->issuer[0] == '\0' || cfg->audience[0] == '\0') {
		o = &origins[config_find(cfg->issuer[0] ? "audience" : "issuer") -
		    config_keys];
		return config_fail(err, errsz, o, cfg->issuer[0] ? "audience" :
		    "issuer", "must not be empty");
	}
	if (cors_origins_check(cfg->cors_origins, why, sizeof(why)) == -1) {
		o = &origins[config_find("cors_origins") - config_keys];
		return config_fail(err, errsz, o, "cors_origins", "%s", why);
	}
	if (cfg->oidc_jwks_file[0] != '\0' &&
	    (cfg->oidc_issuer[0] == '\0' || cfg->oidc_audience[0] == '\0')) {
		o = &origins[config_find("oidc_jwks_file") - config_keys];
		return config_fail(err, errsz, o, "oidc_jwks_file",
		    "needs oidc_issuer and oidc_audience to be set too");
	}
	return 0;
}

int
config_keep_restart_keys(const struct config *running, struct config *fresh,
    void (*changed)(const char *key))
{
	int n = 0;

	for (size_t i = 0; i < CONFIG_NKEYS; i++) {
		const struct config_key *k = &config_keys[i];
		const char *was = (const char *)running + k->offset;
		char *now = (char *)fresh + k->offset;

		if (!k->restart)
			continue;
		if (k->type == CT_STRING) {
			if (strcmp(*(char *const *)was, *(char **)now) == 0)
				continue;
			free(*(char **)now);
			*(char **)now = xstrdup(*(char *const *)was);
		} else {
			if (*(const long *)was == *(long *)now)
				continue;
			*(long *)now = *(const long *)was;
		}
		changed(k->name);
		n++;
	}
	return n;
}

long
config_workers(const struct config *cfg)
{
	long n;

	if (cfg->workers > 0)
		return cfg->workers;
	/* A worker waits on PostgreSQL for most of a request: two per CPU. */
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 2 : 2 * n;
}
