/* server.c - the three ways to run: FastCGI socket, pre-forked supervisor, plain CGI. */
#include "server.h"

#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <netdb.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "alloc.h"
#include "jwks.h"
#include "log.h"
#include "ended.h"
#include "metrics.h"
#include "response.h"

#define SERVER_BACKLOG		1024
#define SERVER_DRAIN_S		30	/* SIGKILL workers still busy after this */
#define SERVER_QUICK_DEATH_S	1	/* a worker dying this young is respawned later */

extern char **environ;

static int server_stopping;	/* the supervisor got SIGTERM */

int
server_is_listener(int fd)
{
	int listening = 0;
	socklen_t len = sizeof(listening);

	return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 &&
	    listening;
}

int
server_systemd_fd(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");

	if (pid == NULL || fds == NULL || strtol(pid, NULL, 10) != (long)getpid() ||
	    strtol(fds, NULL, 10) < 1 || !server_is_listener(3))
		return -1;
	return 3;
}

/*
 * Look the user up in /etc/passwd itself first, and only then through NSS:
 * an NSS module (systemd's, LDAP's) loaded into every worker costs each of
 * them its pages, for a name that is local almost always.
 */
static int
server_user(const char *user, uid_t *uid, gid_t *gid, char *err, size_t errsz)
{
	struct passwd *pw = NULL;
	FILE *f;

	if ((f = fopen("/etc/passwd", "re")) != NULL) {
		while ((pw = fgetpwent(f)) != NULL && strcmp(pw->pw_name, user) != 0)
			;
		if (pw != NULL) {
			*uid = pw->pw_uid;
			*gid = pw->pw_gid;
		}
		fclose(f);
		if (pw != NULL)
			return 0;
	}
	if ((pw = getpwnam(user)) == NULL) {
		snprintf(err, errsz, "user: no such user \"%s\"", user);
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

/* The user's groups from /etc/group, as initgroups would give them; -1: ask NSS. */
static int
server_groups(const char *user, gid_t gid)
{
	gid_t groups[NGROUPS_MAX];
	struct group *gr;
	size_t n = 0;
	FILE *f;

	if ((f = fopen("/etc/group", "re")) == NULL)
		return -1;
	groups[n++] = gid;
	while ((gr = fgetgrent(f)) != NULL && n < NGROUPS_MAX)
		for (char **m = gr->gr_mem; *m != NULL; m++)
			if (strcmp(*m, user) == 0 && gr->gr_gid != gid) {
				groups[n++] = gr->gr_gid;
				break;
			}
	fclose(f);
	return setgroups(n, groups);
}

static int
server_listen_unix(const char *path, const char *user, char *err, size_t errsz)
{
	struct sockaddr_un sun;
	struct stat st;
	uid_t uid;
	gid_t gid;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errsz, "listen: socket path is too long: %s", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	/* A socket left by a worker that died is replaced; any other file is not. */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    chmod(path, 0660) == -1) {
		snprintf(err, errsz, "listen: %s: %s", path, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	if (*user != '\0' && geteuid() == 0 &&
	    (server_user(user, &uid, &gid, err, errsz) == -1 ||
	    chown(path, uid, gid) == -1)) {
		if (*err == '\0')
			snprintf(err, errsz, "listen: chown %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int
server_listen_tcp(const char *addr, char *err, size_t errsz)
{
	struct addrinfo hints, *res, *ai;
	char host[256];
	const char *colon = strrchr(addr, ':');
	int fd = -1, on = 1, rc;
	size_t hl;

	if (colon == NULL || (hl = (size_t)(colon - addr)) >= sizeof(host)) {
		snprintf(err, errsz, "listen: \"%s\" is neither a socket path nor "
		    "HOST:PORT", addr);
		return -1;
	}
	memcpy(host, addr, hl);
	host[hl] = '\0';
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
		memmove(host, host + 1, hl - 2);
		host[hl - 2] = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	if ((rc = getaddrinfo(*host ? host : NULL, colon + 1, &hints, &res)) != 0) {
		snprintf(err, errsz, "listen: %s: %s", addr, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol)) == -1)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1)
		snprintf(err, errsz, "listen: %s: %s", addr, strerror(errno));
	return fd;
}

int
server_listen(const char *addr, const char *user, char *err, size_t errsz)
{
	int fd;

	*err = '\0';
	if (strncmp(addr, "unix:", 5) == 0)
		addr += 5;
	fd = strchr(addr, '/') != NULL ? server_listen_unix(addr, user, err, errsz) :
	    server_listen_tcp(addr, err, errsz);
	if (fd != -1 && listen(fd, SERVER_BACKLOG) == -1) {
		snprintf(err, errsz, "listen: %s: %s", addr, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int
server_drop_privileges(const char *user, char *err, size_t errsz)
{
	uid_t uid;
	gid_t gid;

	if (*user == '\0' || geteuid() != 0)
		return 0;
	if (server_user(user, &uid, &gid, err, errsz) == -1)
		return -1;
	if ((server_groups(user, gid) == -1 && initgroups(user, gid) == -1) ||
	    setgid(gid) == -1 || setuid(uid) == -1 ||
	    (uid != 0 && setuid(0) != -1)) {
		snprintf(err, errsz, "user: cannot become \"%s\": %s", user,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * End a request.  libfcgi closes a connection with shutdown, a wait for the
 * peer's end-of-file and a read, so that unread input cannot reset it.  When
 * the web server's input has been read to its end record (for a GET it is
 * already buffered), nothing more can come, and a plain close is enough:
 * three system calls fewer on every request.
 */
static void
server_finish(FCGX_Request *r)
{
	char buf[4096];
	int n, left = REQUEST_BODY_MAX + 1;

	while (left > 0 && (n = FCGX_GetStr(buf, sizeof(buf), r->in)) > 0)
		left -= n;
	if (FCGX_HasSeenEOF(r->in) == EOF && FCGX_GetError(r->in) == 0)
		FCGX_Detach(r);
	FCGX_Finish_r(r);
}

/* Give the answer waiting in slot i, and end its request. */
static void
server_answer(struct app *app, FCGX_Request *r, int i)
{
	app_finish(&app->req[i]);
	server_finish(&r[i]);
}

/*
 * Wait up to ms (-1: for ever) for a connection or a stop signal; 1 when
 * the worker should stop.
 */
static int
server_wait(int efd, int sfd, int ms)
{
	struct epoll_event ev[2];
	int i, n;

	if ((n = epoll_wait(efd, ev, 2, ms)) == -1) {
		if (errno == EINTR)
			return 0;
		log_msg(LVL_ERROR, "event=fatal reason=\"epoll_wait: %s\"",
		    strerror(errno));
		return 1;
	}
	for (i = 0; i < n; i++)
		if (ev[i].data.fd == sfd)
			return 1;
	return 0;
}

int
server_run(struct app *app, int fd)
{
	sigset_t stop;
	FCGX_Request r[APP_REQUESTS];
	unsigned long served;
	int rc, flags, sfd, efd, cur = 0, held = 0;

	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	/*
	 * SIGTERM and SIGINT stay blocked and are read from a signalfd between
	 * requests: a request in flight always finishes, and a stop that comes
	 * while connections keep arriving is still seen before the next accept.
	 */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigprocmask(SIG_BLOCK, &stop, NULL);
	if ((sfd = signalfd(-1, &stop, SFD_CLOEXEC)) == -1) {
		log_msg(LVL_ERROR, "event=fatal reason=\"signalfd: %s\"", strerror(errno));
		return 1;
	}
	/* Non-blocking, so that losing an accept race to a sibling returns. */
	if ((flags = fcntl(fd, F_GETFL)) != -1)
		fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	/*
	 * Idle workers wait in their own epoll set.  EPOLLEXCLUSIVE wakes one
	 * of them per new connection, not all: with many workers a plain
	 * poll() on the shared socket woke every one to lose the accept race.
	 */
	if ((efd = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    epoll_ctl(efd, EPOLL_CTL_ADD, sfd, &(struct epoll_event){
	    .events = EPOLLIN, .data.fd = sfd }) == -1 ||
	    epoll_ctl(efd, EPOLL_CTL_ADD, fd, &(struct epoll_event){
	    .events = EPOLLIN | EPOLLEXCLUSIVE, .data.fd = fd }) == -1) {
		log_msg(LVL_ERROR, "event=fatal reason=\"epoll: %s\"", strerror(errno));
		if (efd != -1)
			close(efd);
		close(sfd);
		return 1;
	}
	if (FCGX_Init() != 0 || FCGX_InitRequest(&r[0], fd, 0) != 0 ||
	    FCGX_InitRequest(&r[1], fd, 0) != 0) {
		log_msg(LVL_ERROR, "event=fatal reason=\"libfcgi failed to start\"");
		close(efd);
		close(sfd);
		return 1;
	}
	log_msg(LVL_INFO, "event=worker_ready");
	/*
	 * Accept first and wait only when nothing is queued: under load that
	 * saves a wait per request.  A stop is then looked for every 16th
	 * request, and always before waiting.
	 *
	 * A create leaves its answer waiting (held, in the slot other than
	 * cur) while its row commits, and the next request is read meanwhile
	 * in slot cur.
	 * The waiting answer goes out once that request has been served (if
	 * it is a create, its INSERT has been sent by then, so the database
	 * is not left idle between the two), or as soon as nothing else is
	 * queued.
	 */
	for (served = 0;; served++) {
		if ((served & 15) == 15 && server_wait(efd, sfd, 0))
			break;
		if ((rc = FCGX_Accept_r(&r[cur])) < 0) {
			if (rc != -EAGAIN && rc != -EWOULDBLOCK && rc != -EINTR &&
			    rc != -ECONNABORTED)
				log_msg(LVL_ERROR, "event=accept_failed reason=\"%s\"",
				    strerror(-rc));
			if (held) {
				server_answer(app, r, !cur);
				held = 0;
				continue;
			}
			if (server_wait(efd, sfd, -1))
				break;
			continue;
		}
		rc = app_serve(&app->req[cur], r[cur].envp, r[cur].in, r[cur].out);
		if (rc == 0)
			server_finish(&r[cur]);
		if (held)
			server_answer(app, r, !cur);
		if ((held = rc == 1))
			cur = !cur;
	}
	if (held)
		server_answer(app, r, !cur);
	FCGX_Free(&r[0], 1);
	FCGX_Free(&r[1], 1);
	close(efd);
	close(sfd);
	log_msg(LVL_INFO, "event=worker_stopped");
	return 0;
}

int
server_cgi_unavailable(const char *why)
{
	struct request req;
	yajl_gen g = yajl_gen_alloc(NULL);

	/* The web server's error log gets the reason; the client a JSON 503. */
	fprintf(stderr, "patgate: %s\n", why);
	if (g == NULL)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	request_init(&req, NULL, g);
	(void)request_begin(&req, environ, NULL, NULL);
	response_error(&req, ERR_MISCONFIGURED);
	request_drain(&req);
	request_free(&req);
	yajl_gen_free(g);
	response_free();
	return 0;
}

/*
 * A worker on a socket it was handed (mod_fcgid, spawn-fcgi) whose
 * configuration cannot be loaded.  Exiting would leave the web server to
 * answer with its own HTML 500 and start another like it for the next
 * request; instead every request gets the JSON 503 a CGI request gets, and
 * the reason is logged once.  SIGTERM (mod_fcgid's idle timeout, a
 * graceful restart) ends it between requests.
 */
int
server_run_unavailable(int fd, const char *why)
{
	struct request req;
	FCGX_Request r;
	sigset_t term;
	yajl_gen g;

	fprintf(stderr, "patgate: %s\n", why);
	fprintf(stderr, "patgate: answering every request with 503 until restarted\n");
	if ((g = yajl_gen_alloc(NULL)) == NULL || FCGX_Init() != 0 ||
	    FCGX_InitRequest(&r, fd, 0) != 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigaddset(&term, SIGINT);
	request_init(&req, NULL, g);
	while (FCGX_Accept_r(&r) >= 0) {
		sigprocmask(SIG_BLOCK, &term, NULL);	/* an answer is never cut off */
		(void)request_begin(&req, r.envp, r.in, r.out);
		response_error(&req, ERR_MISCONFIGURED);
		request_end(&req);
		server_finish(&r);
		sigprocmask(SIG_UNBLOCK, &term, NULL);
	}
	request_free(&req);
	yajl_gen_free(g);
	response_free();
	return 1;
}

int
server_cgi(struct app *app)
{
	signal(SIGPIPE, SIG_IGN);
	if (app_serve(&app->req[0], environ, NULL, NULL) == 1)
		app_finish(&app->req[0]);
	return 0;
}

/* ------------------------------------------------------------------ supervisor */

struct worker {
	pid_t		 pid;		/* 0: slot empty */
	time_t		 started;
	time_t		 respawn_at;	/* when an empty slot is refilled */
};

struct supervisor {
	const char	*config_path;
	struct config	 cfg;
	int		 fd;
	struct worker	*slots;
	size_t		 nslots;
	pid_t		*retiring;	/* old workers draining after a reload */
	size_t		 nretiring;
};

static void
supervisor_spawn(struct supervisor *s, struct worker *w)
{
	struct app app;
	struct config copy;
	char err[512];
	sigset_t none;
	pid_t pid;

	if ((pid = fork()) == -1) {
		log_msg(LVL_ERROR, "event=fork_failed reason=\"%s\"", strerror(errno));
		w->pid = 0;
		w->respawn_at = time(NULL) + SERVER_QUICK_DEATH_S;
		return;
	}
	if (pid > 0) {
		w->pid = pid;
		w->started = time(NULL);
		return;
	}
	/* The worker. */
	signal(SIGCHLD, SIG_DFL);
	signal(SIGHUP, SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() == 1)
		_exit(0);
	if (server_drop_privileges(s->cfg.user, err, sizeof(err)) == -1) {
		log_msg(LVL_ERROR, "event=fatal reason=\"%s\"", err);
		_exit(1);
	}
	copy = s->cfg;
	if (app_init(&app, &copy, err, sizeof(err)) == -1) {
		log_msg(LVL_ERROR, "event=fatal reason=\"%s\"", err);
		_exit(1);
	}
	(void)db_ready(app.db);		/* connect now if we can; 503s until then */
	_exit(server_run(&app, s->fd));
}

/* Reap exited workers; respawn those that belong to the current generation. */
static void
supervisor_reap(struct supervisor *s)
{
	time_t now = time(NULL);
	size_t i;
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < s->nretiring; i++)
			if (s->retiring[i] == pid)
				s->retiring[i] = s->retiring[--s->nretiring];
		for (i = 0; i < s->nslots; i++) {
			if (s->slots[i].pid != pid)
				continue;
			s->slots[i].pid = 0;
			if (!server_stopping)
				metrics_count(M_WORKER_RESTARTS);
			if (WIFSIGNALED(status))
				log_msg(LVL_WARN, "event=worker_died worker=%ld "
				    "signal=%d", (long)pid, WTERMSIG(status));
			else
				log_msg(server_stopping && WEXITSTATUS(status) == 0 ?
				    LVL_INFO : LVL_WARN, "event=worker_exited worker=%ld "
				    "status=%d", (long)pid, WEXITSTATUS(status));
			/* One that dies young waits, so a broken worker cannot fork-bomb. */
			s->slots[i].respawn_at = now - s->slots[i].started <
			    SERVER_QUICK_DEATH_S ? now + SERVER_QUICK_DEATH_S : now;
		}
	}
	if (server_stopping)
		return;
	for (i = 0; i < s->nslots; i++)
		if (s->slots[i].pid == 0 && s->slots[i].respawn_at <= now) {
			supervisor_spawn(s, &s->slots[i]);
			if (s->slots[i].pid != 0)
				log_msg(LVL_INFO, "event=worker_spawned worker=%ld",
				    (long)s->slots[i].pid);
		}
}

static void
supervisor_needs_restart(const char *key)
{
	log_msg(LVL_WARN, "event=reload_needs_restart key=%s action=\"keeping the "
	    "running value; restart patgate to change it\"", key);
}

/* SIGHUP: read the configuration again; on success replace every worker. */
static void
supervisor_reload(struct supervisor *s)
{
	struct config fresh;
	char err[512];
	size_t i;

	/*
	 * The JWKS file is the new workers' to read: one that trusts no key
	 * must not keep the old workers, and their old keys, running.
	 */
	if (config_load(&fresh, s->config_path, err, sizeof(err)) == -1) {
		log_msg(LVL_ERROR, "event=reload_failed reason=\"%s\" "
		    "action=\"keeping the running configuration\"", err);
		config_free(&fresh);
		return;
	}
	(void)config_keep_restart_keys(&s->cfg, &fresh, supervisor_needs_restart);
	config_free(&s->cfg);
	s->cfg = fresh;
	log_set_level(s->cfg.log_level);
	s->retiring = xrealloc(s->retiring, (s->nretiring + s->nslots) *
	    sizeof(*s->retiring));
	/* New workers start first; the old ones finish what they hold, then exit. */
	for (i = 0; i < s->nslots; i++) {
		pid_t old = s->slots[i].pid;

		supervisor_spawn(s, &s->slots[i]);
		if (old != 0) {
			s->retiring[s->nretiring++] = old;
			kill(old, SIGTERM);
		}
	}
	log_msg(LVL_INFO, "event=reloaded applied=\"keys, secrets, JWKS, every key "
	    "but listen, workers and user\" workers=%zu", s->nslots);
}

static void
supervisor_stop(struct supervisor *s)
{
	time_t deadline = time(NULL) + SERVER_DRAIN_S;
	size_t i, alive;

	for (i = 0; i < s->nslots; i++)
		if (s->slots[i].pid != 0)
			kill(s->slots[i].pid, SIGTERM);
	for (i = 0; i < s->nretiring; i++)
		kill(s->retiring[i], SIGTERM);
	for (;;) {
		supervisor_reap(s);
		for (alive = s->nretiring, i = 0; i < s->nslots; i++)
			alive += s->slots[i].pid != 0;
		if (alive == 0)
			return;
		if (time(NULL) >= deadline) {
			log_msg(LVL_WARN, "event=drain_timeout workers=%zu", alive);
			for (i = 0; i < s->nslots; i++)
				if (s->slots[i].pid != 0)
					kill(s->slots[i].pid, SIGKILL);
			for (i = 0; i < s->nretiring; i++)
				kill(s->retiring[i], SIGKILL);
		}
		usleep(20000);
	}
}

int
server_supervise(const char *config_path, struct config *cfg, int fd,
    long workers, const char *listen_addr)
{
	struct supervisor s;
	struct timespec tick = { 1, 0 };
	sigset_t set;
	int sig;

	memset(&s, 0, sizeof(s));
	s.config_path = config_path;
	s.cfg = *cfg;
	memset(cfg, 0, sizeof(*cfg));
	s.fd = fd;
	s.nslots = (size_t)workers;
	s.slots = xcalloc(s.nslots, sizeof(*s.slots));
	/* One set of counters for every worker: a scrape of any one sees all. */
	if (metrics_share() == -1 || ended_share() == -1)
		log_msg(LVL_WARN, "event=metrics_private reason=\"mmap: %s\"",
		    strerror(errno));

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	log_msg(LVL_INFO, "event=started listen=\"%s\" workers=%zu", listen_addr,
	    s.nslots);
	supervisor_reap(&s);
	while (!server_stopping) {
		sig = sigtimedwait(&set, NULL, &tick);
		if (sig == SIGTERM || sig == SIGINT)
			server_stopping = 1;
		else if (sig == SIGHUP)
			supervisor_reload(&s);
		supervisor_reap(&s);
	}
	log_msg(LVL_INFO, "event=stopping reason=\"signal\" drain_s=%d", SERVER_DRAIN_S);
	supervisor_stop(&s);
	if (strchr(listen_addr, '/') != NULL)
		unlink(strncmp(listen_addr, "unix:", 5) == 0 ? listen_addr + 5 :
		    listen_addr);
	close(fd);
	free(s.slots);
	free(s.retiring);
	config_free(&s.cfg);
	log_msg(LVL_INFO, "event=stopped");
	return 0;
}
