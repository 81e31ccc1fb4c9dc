/*
 * admin.h - patgate-admin's commands: any owner's tokens and events, with
 * access to the database only (no token secret).  Every change goes through
 * db.c's writes, so each token changed is one audit row and one notification.
 */
#ifndef PATGATE_ADMIN_H
#define PATGATE_ADMIN_H

#include <stdio.h>

#include "db.h"

/* The exit statuses, as the usage text and patgate-admin.8 give them. */
enum admin_exit {
	ADMIN_OK = 0,
	ADMIN_FAILED = 1,	/* the configuration or the database */
	ADMIN_USAGE = 2,
	ADMIN_NOTHING = 3	/* nothing matched: no token or event */
};

enum admin_command { ADMIN_LIST, ADMIN_REVOKE, ADMIN_PURGE, ADMIN_AUDIT,
	ADMIN_NOTIFY, ADMIN_HELP, ADMIN_VERSION };

struct admin_args {
	enum admin_command	 command;
	const char		*config;	/* --config, or NULL */
	const char		*user, *group;	/* whose: exactly one, or (revoke) an id */
	const char		*id;		/* revoke ID, audit --token ID */
	const char		*state;		/* list --state, or NULL: any */
	long			 unused_days;	/* list --unused-days; -1: any */
	long			 older_than;	/* purge --older-than */
	long			 limit;		/* audit --limit */
	int			 json;
	long			 inactive_days;	/* the configuration's, for the state */
	/* The configuration's, for notify. */
	const char		*notice_days;	/* "30,7,1" */
	const char		*notice_command;
	const char		*notice_webhook;
};

#define ADMIN_AUDIT_LIMIT	100	/* audit's events by default */

/*
 * Read the command line (argv[0] is the program).  ADMIN_USAGE with one
 * line in err when it does not make a command.
 */
enum admin_exit	admin_parse(struct admin_args *, int argc, char *argv[], char *err,
		    size_t errsz);
void		admin_usage(FILE *);
/* The name the audit trail gives this user: their login name, else uid:N. */
const char	*admin_actor(char *buf, size_t bufsz);
/* Run one command as actor; its output goes to out, its events to the log. */
enum admin_exit	admin_run(struct db *, const struct admin_args *, const char *actor,
		    FILE *out);

#endif
