/*
 * patgate.fcgi - issue, list, revoke and check personal access tokens.
 *
 * A thin main: read the arguments and the configuration, then serve in one
 * of three ways (FastCGI on an inherited socket, a supervised pool on
 * --listen or on systemd's socket, or one plain CGI request), or run a
 * maintenance command.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "app.h"
#include "config.h"
#include "db.h"
#include "jwks.h"
#include "log.h"
#include "server.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: patgate.fcgi [--config FILE] [--listen PATH|HOST:PORT] [--workers N]\n"
	    "       patgate.fcgi [--config FILE] --migrate | --check-config | --version\n"
	    "\n"
	    "With --listen (or the listen key) it opens the socket and supervises\n"
	    "N workers; given a socket by systemd (LISTEN_FDS) it supervises N\n"
	    "workers on that.  Started with a FastCGI socket on fd 0 (spawn-fcgi,\n"
	    "mod_fcgid) it serves that socket; started as a CGI program it answers\n"
	    "one request.\n");
}

static void
fatal(const char *msg)
{
	fprintf(stderr, "patgate: %s\n", msg);
	exit(1);
}

/* Refuse an OIDC JWKS file that trusts no key (--check-config only: a running worker waits for one). */
static int
check_jwks(const struct config *cfg)
{
	struct jwks *keys;
	char err[1024];

	if (cfg->oidc_jwks_file[0] == '\0')
		return 0;
	if ((keys = jwks_load(cfg->oidc_jwks_file, err, sizeof(err))) == NULL) {
		fprintf(stderr, "patgate: oidc_jwks_file: %s\n", err);
		return -1;
	}
	jwks_free(keys);
	return 0;
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'l' },
		{ "workers", required_argument, NULL, 'w' },
		{ "migrate", no_argument, NULL, 'm' },
		{ "check-config", no_argument, NULL, 'k' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *config_path = NULL, *listen_addr = NULL;
	struct config cfg;
	struct app app;
	char err[1024], *end, *owned;
	long workers = 0;
	int ch, migrate = 0, check = 0, fd, rc, cgi;

	/*
	 * Started by a web server, the command line is the client's: Apache
	 * turns a query string without "=" into arguments (RFC 3875 4.4).  So
	 * then no option is read from it at all (CONTRACT 8).
	 */
	cgi = getenv("GATEWAY_INTERFACE") != NULL;
	while (!cgi && (ch = getopt_long(argc, argv, "c:l:w:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config_path = optarg;
			break;
		case 'l':
			listen_addr = optarg;
			break;
		case 'w':
			workers = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || workers < 1 || workers > 256)
				fatal("--workers: give a number from 1 to 256");
			break;
		case 'm':
			migrate = 1;
			break;
		case 'k':
			check = 1;
			break;
		case 'V':
			printf("patgate %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!cgi && optind != argc) {
		usage(stderr);
		return 2;
	}
	fd = server_is_listener(STDIN_FILENO) ? STDIN_FILENO : server_systemd_fd();

	/*
	 * A web server that started us (CGI, or mod_fcgid with its socket on
	 * fd 0) gets a JSON 503 for each request when the configuration is bad;
	 * everyone else is told at once, and we stop.  --migrate needs the
	 * database only, not the token secret.
	 */
	if (config_load_flags(&cfg, config_path, migrate ? CONFIG_NO_KEYS : 0, err,
	    sizeof(err)) == -1) {
		if (cgi && fd == -1)
			return server_cgi_unavailable(err);
		if (fd == STDIN_FILENO && listen_addr == NULL && !check && !migrate)
			return server_run_unavailable(fd, err);
		fatal(err);
	}
	log_set_level(cfg.log_level);
	if (check) {
		rc = check_jwks(&cfg);
		if (rc == 0)
			printf("patgate: configuration ok: %s\n", cfg.path);
		config_free(&cfg);
		return rc == 0 ? 0 : 1;
	}
	if (migrate) {
		rc = db_migrate(cfg.database_url, err, sizeof(err));
		config_free(&cfg);
		if (rc == -1)
			fatal(err);
		return 0;
	}

	if (listen_addr == NULL && fd != -1 && fd != STDIN_FILENO && !cgi) {
		/*
		 * systemd's socket (LISTEN_FDS): the same supervised pool as
		 * --listen, on a socket systemd made and keeps.
		 */
		if (workers == 0)
			workers = config_workers(&cfg);
		return server_supervise(config_path, &cfg, fd, workers, "systemd:3");
	}
	if (listen_addr == NULL && fd != -1) {
		/* One worker on a socket someone else manages (spawn-fcgi, mod_fcgid). */
		if (server_drop_privileges(cfg.user, err, sizeof(err)) == -1)
			fatal(err);
		if (app_init(&app, &cfg, err, sizeof(err)) == -1) {
			if (fd == STDIN_FILENO)
				return server_run_unavailable(fd, err);
			fatal(err);
		}
		(void)db_ready(app.db);
		rc = server_run(&app, fd);
		app_free(&app);
		return rc;
	}
	if (cgi) {
		if (app_init(&app, &cfg, err, sizeof(err)) == -1)
			return server_cgi_unavailable(err);
		rc = server_cgi(&app);
		app_free(&app);
		return rc;
	}
	if (listen_addr == NULL && cfg.listen[0] != '\0')
		listen_addr = cfg.listen;
	if (listen_addr == NULL)
		fatal("nothing to serve: give --listen PATH|HOST:PORT, set listen in "
		    "the configuration, or start under a FastCGI or CGI server");
	if (workers == 0)
		workers = config_workers(&cfg);
	if ((fd = server_listen(listen_addr, cfg.user, err, sizeof(err))) == -1)
		fatal(err);
	owned = xstrdup(listen_addr);	/* cfg, which may hold it, is handed over */
	rc = server_supervise(config_path, &cfg, fd, workers, owned);
	free(owned);
	return rc;
}
