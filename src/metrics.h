/*
 * metrics.h - counters for GET /pat/v1/metrics, in Prometheus' text format.
 * Under the supervisor they live in memory shared by every worker, so a
 * scrape that reaches any one worker sees the whole.
 */
#ifndef PATGATE_METRICS_H
#define PATGATE_METRICS_H

#include <stddef.h>

#include "alloc.h"

enum metric_endpoint {
	EP_OTHER, EP_HEALTH, EP_VERIFY, EP_INTROSPECT, EP_AUDIT, EP_SELF, EP_REPORT,
	EP_ROTATE, EP_LIST, EP_CREATE, EP_GET, EP_REVOKE, EP_TEAM_LIST,
	EP_TEAM_CREATE, EP_TEAM_CURRENT, EP_TEAM_REVOKE, EP_DEMO, EP_METRICS,
	EP__COUNT
};

enum metric_counter {
	M_CACHE_HITS, M_CACHE_MISSES, M_CACHE_EVICTIONS, M_NOTIFICATIONS,
	M_DB_ERRORS, M_DB_RECONNECTS, M_WORKER_RESTARTS, M_STANDBY_READS,
	M_STANDBY_TO_PRIMARY, M__COUNT
};

/* Before the workers are forked: the counters become shared with them. */
int	metrics_share(void);
void	metrics_count(enum metric_counter);
/* One answered request: its endpoint, status and time taken. */
void	metrics_request(enum metric_endpoint, int status, double seconds);
/* The whole exposition, in the arena. */
char	*metrics_render(struct arena *, size_t *len);

#endif
