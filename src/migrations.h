/* migrations.h - the sql/ files, compiled in (src/migrations.c is generated). */
#ifndef PATGATE_MIGRATIONS_H
#define PATGATE_MIGRATIONS_H

#include <stddef.h>

struct migration {
	const char	*version;	/* the file name without .sql, e.g. 0001_init */
	const char	*sql;
};

extern const struct migration	migrations[];
extern const size_t		migrations_count;

#endif
