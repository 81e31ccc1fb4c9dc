/* server.h - the three ways to run: FastCGI socket, pre-forked supervisor, plain CGI. */
#ifndef PATGATE_SERVER_H
#define PATGATE_SERVER_H

#include <stddef.h>

#include "app.h"
#include "config.h"

/* 1 when fd is a listening socket handed to us (spawn-fcgi, mod_fcgid, systemd). */
int	server_is_listener(int fd);
/* The socket systemd passed (LISTEN_FDS), or -1. */
int	server_systemd_fd(void);
/* Open a unix socket path or HOST:PORT; a unix socket is given to user. */
int	server_listen(const char *addr, const char *user, char *err, size_t errsz);
/* Become user when running as root. */
int	server_drop_privileges(const char *user, char *err, size_t errsz);
/* Serve FastCGI requests on a listening socket until SIGTERM. */
int	server_run(struct app *, int fd);
/* Answer a plain CGI request whose configuration cannot be loaded: a JSON 503. */
int	server_cgi_unavailable(const char *why);
/* Answer every request on an inherited socket with a JSON 503: the configuration is bad. */
int	server_run_unavailable(int fd, const char *why);
/* Serve the one request of a plain CGI invocation. */
int	server_cgi(struct app *);
/*
 * Pre-fork workers on fd and keep them running: respawn the dead, drain
 * on SIGTERM, reload the configuration on SIGHUP.  Takes over cfg.
 */
int	server_supervise(const char *config_path, struct config *cfg, int fd,
	    long workers, const char *listen_addr);

#endif
