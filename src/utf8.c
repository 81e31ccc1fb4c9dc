/* utf8.c - strict UTF-8 (RFC 3629) checks and code point helpers. */
#include "utf8.h"

int
utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str, *end = s + n;

	while (s < end) {
		unsigned char c = *s;
		unsigned char lo = 0x80, hi = 0xbf;
		size_t need;

		if (c < 0x80) {
			s++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			need = 1;
		else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			if (c == 0xe0)
				lo = 0xa0;	/* overlong */
			else if (c == 0xed)
				hi = 0x9f;	/* surrogates */
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			if (c == 0xf0)
				lo = 0x90;	/* overlong */
			else if (c == 0xf4)
				hi = 0x8f;	/* above U+10FFFF */
		} else
			return 0;
		if ((size_t)(end - s) <= need || s[1] < lo || s[1] > hi)
			return 0;
		for (size_t i = 2; i <= need; i++)
			if (s[i] < 0x80 || s[i] > 0xbf)
				return 0;
		s += need + 1;
	}
	return 1;
}

uint32_t
utf8_next(const char **p)
{
	const unsigned char *s = (const unsigned char *)*p;
	uint32_t cp;
	size_t extra, i;

	if (s[0] < 0x80)
		cp = s[0], extra = 0;
	else if (s[0] < 0xe0)
		cp = s[0] & 0x1f, extra = 1;
	else if (s[0] < 0xf0)
		cp = s[0] & 0x0f, extra = 2;
	else
		cp = s[0] & 0x07, extra = 3;
	for (i = 1; i <= extra; i++)
		cp = cp << 6 | (s[i] & 0x3f);
	*p += extra + 1;
	return cp;
}

/* The Unicode White_Space property. */
int
utf8_is_space(uint32_t cp)
{
	return (cp >= 0x09 && cp <= 0x0d) || cp == 0x20 || cp == 0x85 ||
	    cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) ||
	    cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f ||
	    cp == 0x3000;
}

/* C0 and C1 controls and DEL: U+0000-U+001F, U+007F-U+009F. */
int
utf8_is_control(uint32_t cp)
{
	return cp <= 0x1f || (cp >= 0x7f && cp <= 0x9f);
}
