/* header.h - the request headers patgate reads, each parsed by one set of rules. */
#ifndef PATGATE_HEADER_H
#define PATGATE_HEADER_H

#include <stddef.h>

enum auth_scheme {
	AUTH_NONE,		/* no Authorization header */
	AUTH_BEARER,
	AUTH_BASIC,
	AUTH_OTHER		/* a scheme patgate does not read */
};

/* An Authorization header (RFC 9110 11.6.2): scheme and token68 credential. */
struct authorization {
	enum auth_scheme	 scheme;
	const char		*cred;		/* points into the header; not NUL-ended */
	size_t			 len;
	int			 malformed;	/* Bearer or Basic without a usable token68 */
};

enum media_type {
	MEDIA_NONE,		/* no Content-Type */
	MEDIA_JSON,		/* application/json or application/<subtype>+json */
	MEDIA_FORM,		/* application/x-www-form-urlencoded */
	MEDIA_OTHER
};

#define HEADER_CRED_MAX	8192	/* the longest credential read */

void		header_authorization(const char *value, struct authorization *);
enum media_type	header_media_type(const char *value);
/*
 * Decode a Basic credential (base64 of user:password) into buf, NUL-ended;
 * *password points after the first colon.  -1 when it is not valid base64,
 * holds a NUL or no colon, or does not fit.
 */
int		header_basic_decode(const char *cred, size_t len, char *buf,
		    size_t bufsz, const char **password);

#endif
