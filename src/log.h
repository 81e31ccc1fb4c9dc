/* log.h - one key=value line per event on stderr, tagged with the request id. */
#ifndef PATGATE_LOG_H
#define PATGATE_LOG_H

#include <stddef.h>

enum log_level {
	LVL_DEBUG,
	LVL_INFO,
	LVL_WARN,
	LVL_ERROR
};

void	log_set_level(enum log_level);
int	log_enabled(enum log_level);
int	log_level_parse(const char *, enum log_level *);
/* The id is copied; NULL clears it.  Every line logged meanwhile carries it. */
void	log_set_request(const char *id);
void	log_msg(enum log_level, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/*
 * For lines an outsider can cause at will: -1 when a line for key was
 * written less than interval_s ago (or too many such lines this second),
 * else the number of lines held back since the last one.
 */
long	log_limit(const char *key, int interval_s);
/* Copy s into buf for a quoted log value: no quotes, backslashes or control bytes. */
const char *log_clean(char *buf, size_t bufsz, const char *s);

#endif
