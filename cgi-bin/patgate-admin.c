/*
 * patgate-admin - list, revoke and purge any owner's tokens, and read the
 * audit trail, with access to the database only.
 *
 * A thin main: read the arguments and the configuration (its secret files
 * are not read), connect, and run the command (admin.c).
 */
#include <stdio.h>
#include <stdlib.h>

#include "admin.h"
#include "config.h"
#include "db.h"
#include "log.h"

int
main(int argc, char *argv[])
{
	struct admin_args args;
	struct config cfg;
	struct db *db;
	char err[1024], actor[256];
	enum admin_exit rc;

	if ((rc = admin_parse(&args, argc, argv, err, sizeof(err))) != ADMIN_OK) {
		fprintf(stderr, "patgate-admin: %s\n", err);
		admin_usage(stderr);
		return rc;
	}
	if (args.command == ADMIN_HELP) {
		admin_usage(stdout);
		return ADMIN_OK;
	}
	if (args.command == ADMIN_VERSION) {
		printf("patgate-admin %s\n", PACKAGE_VERSION);
		return ADMIN_OK;
	}
	if (config_load_flags(&cfg, args.config, CONFIG_NO_KEYS, err, sizeof(err)) == -1) {
		fprintf(stderr, "patgate-admin: %s\n", err);
		return ADMIN_FAILED;
	}
	log_set_level(cfg.log_level);
	args.inactive_days = cfg.inactive_days;
	args.notice_days = cfg.expiry_notice_days;
	args.notice_command = cfg.expiry_notice_command;
	args.notice_webhook = cfg.expiry_notice_webhook;
	db = db_new(cfg.database_url);
	rc = admin_run(db, &args, admin_actor(actor, sizeof(actor)), stdout);
	db_free(db);
	config_free(&cfg);
	return rc;
}
