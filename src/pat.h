/* pat.h - Terrakube's token APIs: PATs and team tokens. */
#ifndef PATGATE_PAT_H
#define PATGATE_PAT_H

#include "request.h"

/*
 * The handlers of both kinds read the kind of owner from the route
 * (req->owner_kind): /pat/v1 is a user's PATs, /access-token/v1/teams the
 * team tokens of the caller's groups.
 */
enum error	pat_create(struct request *);	/* POST /pat/v1, /api/v1, .../teams */
enum error	pat_list(struct request *);	/* GET /pat/v1, .../teams */
enum error	pat_get(struct request *);	/* GET /pat/v1/{id} */
enum error	pat_revoke(struct request *);	/* DELETE /pat/v1/{id}, .../teams/{id} */
enum error	team_current(struct request *);	/* GET .../teams/current-teams */
enum error	pat_audit(struct request *);	/* GET /pat/v1/audit?limit=&before= */
enum error	pat_rotate(struct request *);	/* POST /pat/v1/{id}/rotate, .../teams/{id}/rotate */
enum error	pat_self_get(struct request *);	/* GET /pat/v1/self */
enum error	pat_self_revoke(struct request *);	/* DELETE /pat/v1/self */
enum error	pat_report(struct request *);	/* POST /pat/v1/revoke {"tokens"} */

#endif
