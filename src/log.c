/* log.c - one key=value line per event on stderr, tagged with the request id. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static enum log_level	log_threshold = LVL_INFO;
static char		log_request[40];

static const char *const log_names[] = { "debug", "info", "warn", "error" };

void
log_set_level(enum log_level level)
{
	log_threshold = level;
}

int
log_enabled(enum log_level level)
{
	return level >= log_threshold;
}

int
log_level_parse(const char *s, enum log_level *out)
{
	size_t i;

	for (i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++)
		if (strcasecmp(s, log_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	return -1;
}

void
log_set_request(const char *id)
{
	if (id == NULL)
		log_request[0] = '\0';
	else
		snprintf(log_request, sizeof(log_request), "%s", id);
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	char line[2048];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	int n, m;

	if (level < log_threshold)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line),
	    "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s pid=%ld%s%s ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, log_names[level],
	    (long)getpid(), log_request[0] ? " req=" : "", log_request);
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += (size_t)m < sizeof(line) - n - 1 ? m : (int)(sizeof(line) - n - 2);
	line[n++] = '\n';
	/* One write per line keeps lines whole when workers share stderr. */
	(void)!write(STDERR_FILENO, line, (size_t)n);
}

const char *
log_clean(char *buf, size_t bufsz, const char *s)
{
	size_t i = 0;

	if (bufsz == 0)
		return "";
	for (; s != NULL && *s != '\0' && i + 1 < bufsz; s++) {
		unsigned char c = (unsigned char)*s;
		buf[i++] = (c < 0x20 || c == 0x7f || c == '"' || c == '\\') ? '?' : (char)c;
	}
	buf[i] = '\0';
	return buf;
}

/*
 * Lines that an outsider can cause at will (a revoked token presented in a
 * loop) are bounded: one line per key per interval, the repeats counted and
 * reported with the next line, and never more than LOG_LIMIT_PER_S such
 * lines a second in all.  Keys share a small table; a collision only means
 * a line comes early.
 */
#define LOG_LIMIT_SLOTS	256
#define LOG_LIMIT_PER_S	20

static struct {
	char		 key[48];
	time_t		 last;
	unsigned long	 suppressed;
} log_limit_slots[LOG_LIMIT_SLOTS];
static time_t		log_limit_second;
static unsigned		log_limit_lines;

long
log_limit(const char *key, int interval_s)
{
	unsigned h = 2166136261u;
	time_t now = time(NULL);
	unsigned long n;
	size_t i;

	for (const char *p = key; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	i = h % LOG_LIMIT_SLOTS;
	if (strncmp(log_limit_slots[i].key, key, sizeof(log_limit_slots[i].key)) != 0) {
		snprintf(log_limit_slots[i].key, sizeof(log_limit_slots[i].key), "%s", key);
		log_limit_slots[i].last = 0;
		log_limit_slots[i].suppressed = 0;
	}
	if (now != log_limit_second) {
		log_limit_second = now;
		log_limit_lines = 0;
	}
	if (now - log_limit_slots[i].last < interval_s ||
	    log_limit_lines >= LOG_LIMIT_PER_S) {
		log_limit_slots[i].suppressed++;
		return -1;
	}
	log_limit_lines++;
	log_limit_slots[i].last = now;
	n = log_limit_slots[i].suppressed;
	log_limit_slots[i].suppressed = 0;
	return (long)n;
}
