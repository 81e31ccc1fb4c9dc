/* form.h - application/x-www-form-urlencoded bodies (introspection requests). */
#ifndef PATGATE_FORM_H
#define PATGATE_FORM_H

#include <stddef.h>

#include "alloc.h"

/*
 * Find name in body and decode its value into the arena.  Returns how many
 * times name occurs (the value is the first one's), or -1 when the body is
 * not well-formed percent-encoding.
 */
int	form_get(struct arena *, const char *body, size_t len, const char *name,
	    const char **value, size_t *vlen);

#endif
