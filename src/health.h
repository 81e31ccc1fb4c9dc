/* health.h - GET /pat/v1/health: is the worker up, and can it reach PostgreSQL? */
#ifndef PATGATE_HEALTH_H
#define PATGATE_HEALTH_H

#include "request.h"

enum error	health_get(struct request *);

enum error	metrics_get(struct request *);	/* GET /pat/v1/metrics */

#endif
