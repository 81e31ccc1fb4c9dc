/* utf8.h - strict UTF-8 (RFC 3629) checks and code point helpers. */
#ifndef PATGATE_UTF8_H
#define PATGATE_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* 1 when s holds only well-formed UTF-8: no overlongs, surrogates or truncation. */
int		utf8_valid(const char *s, size_t n);
/* Decode the code point at *p (which must be valid UTF-8) and advance *p. */
uint32_t	utf8_next(const char **p);
int		utf8_is_space(uint32_t cp);
int		utf8_is_control(uint32_t cp);

#endif
