/*
 * metrics.c - counters for GET /pat/v1/metrics, in Prometheus' text format.
 * Under the supervisor they live in memory shared by every worker, so a
 * scrape that reaches any one worker sees the whole.
 */
#include "metrics.h"

#include <sys/mman.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const char *const metric_endpoints[EP__COUNT] = {
	[EP_OTHER] = "other", [EP_HEALTH] = "health", [EP_VERIFY] = "verify",
	[EP_INTROSPECT] = "introspect", [EP_AUDIT] = "audit", [EP_SELF] = "self",
	[EP_REPORT] = "revoke_by_value", [EP_ROTATE] = "rotate", [EP_LIST] = "list",
	[EP_CREATE] = "create", [EP_GET] = "get", [EP_REVOKE] = "revoke",
	[EP_TEAM_LIST] = "team_list", [EP_TEAM_CREATE] = "team_create",
	[EP_TEAM_CURRENT] = "team_current", [EP_TEAM_REVOKE] = "team_revoke",
	[EP_DEMO] = "demo", [EP_METRICS] = "metrics",
};

static const struct {
	const char	*name;
	const char	*help;
} metric_counters[M__COUNT] = {
	[M_CACHE_HITS] = { "patgate_verify_cache_hits_total",
	    "Checks answered from a worker's cache, without the database." },
	[M_CACHE_MISSES] = { "patgate_verify_cache_misses_total",
	    "Checks that went to the database." },
	[M_CACHE_EVICTIONS] = { "patgate_verify_cache_evictions_total",
	    "Cached checks pushed out by newer ones." },
	[M_NOTIFICATIONS] = { "patgate_revocation_notifications_total",
	    "Token notifications (revoked, rotated, purged, changed) received." },
	[M_DB_ERRORS] = { "patgate_db_errors_total",
	    "Statements that failed, and connections that could not be made." },
	[M_DB_RECONNECTS] = { "patgate_db_reconnects_total",
	    "Connections made to PostgreSQL after the first." },
	[M_WORKER_RESTARTS] = { "patgate_worker_restarts_total",
	    "Workers that died and were started again." },
	[M_STANDBY_READS] = { "patgate_standby_reads_total",
	    "Checks, lists and gets answered by the standby (read_database_url)." },
	[M_STANDBY_TO_PRIMARY] = { "patgate_standby_to_primary_total",
	    "Reads for the standby sent to the primary: it may not have a change yet, lags, or is down." },
};

static const int metric_statuses[] = {
	200, 201, 202, 204, 400, 401, 403, 404, 405, 409, 411, 413, 415, 429, 431,
	500, 503, 0
};
#define NSTATUS	(sizeof(metric_statuses) / sizeof(metric_statuses[0]))

/* Upper bounds in seconds; the last bucket is +Inf. */
static const double metric_buckets[] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 0
};
#define NBUCKETS (sizeof(metric_buckets) / sizeof(metric_buckets[0]))

struct metrics {
	uint64_t	 counters[M__COUNT];
	uint64_t	 requests[EP__COUNT][NSTATUS];
	uint64_t	 buckets[EP__COUNT][NBUCKETS];
	uint64_t	 micros[EP__COUNT];	/* the histogram's sum */
};

static struct metrics	 metrics_private;
static struct metrics	*metrics = &metrics_private;

int
metrics_share(void)
{
	void *p = mmap(NULL, sizeof(struct metrics), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return -1;
	memcpy(p, metrics, sizeof(struct metrics));
	metrics = p;
	return 0;
}

static void
metrics_add(uint64_t *c, uint64_t n)
{
	__atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

void
metrics_count(enum metric_counter m)
{
	metrics_add(&metrics->counters[m], 1);
}

void
metrics_request(enum metric_endpoint ep, int status, double seconds)
{
	size_t s, b;

	if ((unsigned)ep >= EP__COUNT)
		ep = EP_OTHER;
	for (s = 0; s < NSTATUS - 1 && metric_statuses[s] != status; s++)
		;
	metrics_add(&metrics->requests[ep][s], 1);
	for (b = 0; b < NBUCKETS - 1 && seconds > metric_buckets[b]; b++)
		;
	metrics_add(&metrics->buckets[ep][b], 1);
	metrics_add(&metrics->micros[ep], (uint64_t)(seconds * 1e6));
}

static uint64_t
metrics_get(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

/* Append to the exposition, growing it in the arena. */
struct metrics_out {
	struct arena	*a;
	char		*buf;
	size_t		 len, cap;
	int		 failed;
};

static void metrics_printf(struct metrics_out *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
metrics_printf(struct metrics_out *o, const char *fmt, ...)
{
	va_list ap;
	int n;
	char *grown;

	if (o->failed)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		o->failed = 1;
		return;
	}
	if ((size_t)n >= o->cap - o->len) {
		size_t cap = o->cap * 2 + (size_t)n;

		if ((grown = arena_alloc(o->a, cap)) == NULL) {
			o->failed = 1;
			return;
		}
		memcpy(grown, o->buf, o->len);
		o->buf = grown;
		o->cap = cap;
		va_start(ap, fmt);
		n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
	}
	o->len += (size_t)n;
}

char *
metrics_render(struct arena *a, size_t *len)
{
	struct metrics_out o = { a, NULL, 0, 16384, 0 };
	size_t e, s, b;
	uint64_t n;

	if ((o.buf = arena_alloc(a, o.cap)) == NULL)
		return NULL;
	for (size_t m = 0; m < M__COUNT; m++)
		metrics_printf(&o, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n",
		    metric_counters[m].name, metric_counters[m].help,
		    metric_counters[m].name, metric_counters[m].name,
		    (unsigned long long)metrics_get(&metrics->counters[m]));
	metrics_printf(&o, "# HELP patgate_requests_total Requests answered, by "
	    "endpoint and status.\n# TYPE patgate_requests_total counter\n");
	for (e = 0; e < EP__COUNT; e++)
		for (s = 0; s < NSTATUS; s++)
			if ((n = metrics_get(&metrics->requests[e][s])) > 0) {
				if (metric_statuses[s] != 0)
					metrics_printf(&o, "patgate_requests_total{endpoint="
					    "\"%s\",status=\"%d\"} %llu\n", metric_endpoints[e],
					    metric_statuses[s], (unsigned long long)n);
				else
					metrics_printf(&o, "patgate_requests_total{endpoint="
					    "\"%s\",status=\"other\"} %llu\n",
					    metric_endpoints[e], (unsigned long long)n);
			}
	metrics_printf(&o, "# HELP patgate_request_duration_seconds Time from a "
	    "request's start to its answer.\n# TYPE patgate_request_duration_seconds "
	    "histogram\n");
	for (e = 0; e < EP__COUNT; e++) {
		uint64_t total = 0;

		for (b = 0; b < NBUCKETS; b++)
			total += metrics_get(&metrics->buckets[e][b]);
		if (total == 0)
			continue;
		n = 0;
		for (b = 0; b < NBUCKETS; b++) {
			n += metrics_get(&metrics->buckets[e][b]);
			if (b < NBUCKETS - 1)
				metrics_printf(&o, "patgate_request_duration_seconds_bucket{"
				    "endpoint=\"%s\",le=\"%g\"} %llu\n", metric_endpoints[e],
				    metric_buckets[b], (unsigned long long)n);
			else
				metrics_printf(&o, "patgate_request_duration_seconds_bucket{"
				    "endpoint=\"%s\",le=\"+Inf\"} %llu\n", metric_endpoints[e],
				    (unsigned long long)n);
		}
		metrics_printf(&o, "patgate_request_duration_seconds_sum{endpoint=\"%s\"} "
		    "%.6f\npatgate_request_duration_seconds_count{endpoint=\"%s\"} %llu\n",
		    metric_endpoints[e], (double)metrics_get(&metrics->micros[e]) / 1e6,
		    metric_endpoints[e], (unsigned long long)total);
	}
	if (o.failed)
		return NULL;
	*len = o.len;
	return o.buf;
}
