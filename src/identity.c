/* identity.c - the rules for identity text that travels in X-Pat-* headers (CONTRACT 2). */
#include "identity.h"

#include <string.h>

#include "utf8.h"

/*
 * Backends read X-Pat-Groups as a comma-separated list and trim spaces, so
 * a comma or an edge space inside one value would read as another value.
 */
static const char *
identity_text(const char *s, size_t min_bytes, size_t max_bytes, size_t max_cp,
    int no_space, int no_comma, int no_edge_space)
{
	const char *p = s;
	size_t len = strlen(s), n = 0;
	uint32_t cp = 0, first = 0;

	if (len == 0)
		return "is empty";
	if (!utf8_valid(s, len))
		return "is not valid UTF-8";
	if (len < min_bytes || len > max_bytes)
		return "is too short or too long";
	while (*p != '\0') {
		cp = utf8_next(&p);
		if (n++ == 0)
			first = cp;
		if (utf8_is_control(cp))
			return "holds a control character";
		if (no_space && utf8_is_space(cp))
			return "holds whitespace";
		if (no_comma && cp == ',')
			return "holds a comma";
	}
	if (n > max_cp)
		return "is too long";
	if (no_edge_space && (utf8_is_space(first) || utf8_is_space(cp)))
		return "starts or ends with whitespace";
	return NULL;
}

const char *
identity_email(const char *s)
{
	const char *why, *at;

	if ((why = identity_text(s, 3, IDENTITY_EMAIL_MAX, IDENTITY_EMAIL_MAX,
	    1, 1, 1)) != NULL)
		return why;
	if ((at = strchr(s, '@')) == NULL || strchr(at + 1, '@') != NULL)
		return "must hold exactly one @";
	return NULL;
}

const char *
identity_user(const char *s)
{
	return identity_text(s, 1, IDENTITY_EMAIL_MAX, IDENTITY_EMAIL_MAX, 1, 1, 1);
}

const char *
identity_name(const char *s)
{
	return identity_text(s, 1, 4 * IDENTITY_TEXT_MAX, IDENTITY_TEXT_MAX, 0, 0, 1);
}

const char *
identity_group(const char *s)
{
	return identity_text(s, 1, 4 * IDENTITY_TEXT_MAX, IDENTITY_TEXT_MAX, 0, 1, 1);
}

const char *
identity_check(const char *email, const char *name, const char *const *groups,
    size_t ngroups, int is_user, const char **claim)
{
	const char *why;
	size_t i;

	*claim = "email";
	if (email == NULL)
		return "is missing";
	if ((why = is_user ? identity_user(email) : identity_email(email)) != NULL)
		return why;
	*claim = "name";
	if (name == NULL)
		return "is missing";
	if ((why = identity_name(name)) != NULL)
		return why;
	*claim = "groups";
	if (ngroups > IDENTITY_GROUPS_MAX)
		return "holds more than 64 groups";
	for (i = 0; i < ngroups; i++)
		if ((why = identity_group(groups[i])) != NULL)
			return why;
	return NULL;
}
