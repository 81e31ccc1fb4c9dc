/* error.h - the one error enum, and the table mapping each to an HTTP answer. */
#ifndef PATGATE_ERROR_H
#define PATGATE_ERROR_H

enum error {
	ERR_OK = 0,
	ERR_BAD_REQUEST,	/* malformed at the HTTP or FastCGI level */
	ERR_INVALID_JSON,
	ERR_INVALID_FIELD,
	ERR_UNAUTHORIZED,	/* no credential was sent */
	ERR_INVALID_TOKEN,	/* a credential was sent and refused */
	ERR_NOT_FOUND,
	ERR_METHOD,
	ERR_TOO_LARGE,
	ERR_MEDIA_TYPE,
	ERR_LENGTH_REQUIRED,	/* a body came without CONTENT_LENGTH */
	ERR_PARAMS_TOO_LARGE,	/* too many or too long FastCGI parameters */
	ERR_UNAVAILABLE,	/* PostgreSQL cannot be reached */
	ERR_SCHEMA,		/* the database schema is older than this build */
	ERR_MISCONFIGURED,	/* CGI: the configuration cannot be loaded */
	ERR_FORBIDDEN,		/* a known caller that may not do this */
	ERR_LIMIT,		/* the owner has max_tokens_per_user live tokens */
	ERR_CORS_ORIGIN,	/* a preflight from an origin not in cors_origins */
	ERR_RATE,		/* the caller asks for this too often */
	ERR_CONFLICT,		/* the token was rotated already */
	ERR_INTERNAL,
	ERR__COUNT
};

/* Why a call failed, for the person who asked: a field and a sentence ("": none). */
struct fault {
	const char	*field;
	char		 message[200];
};

struct error_info {
	int		 status;	/* HTTP status */
	const char	*reason;	/* HTTP reason phrase */
	const char	*code;		/* JSON "error" */
	const char	*message;	/* default JSON "message" */
};

const struct error_info	*error_info(enum error);
const char		*error_strerror(enum error);
/* The reason phrase for any status patgate sends. */
const char		*error_reason(int status);

#endif
