/* pat.h - Terrakube's token APIs: PATs and team tokens. */
#ifndef PATGATE_PAT_H
#define PATGATE_PAT_H

#include "request.h"

enum error	pat_create(struct request *);	/* POST /pat/v1, POST /api/v1 */
enum error	pat_list(struct request *);	/* GET /pat/v1 */
enum error	pat_get(struct request *);	/* GET /pat/v1/{id} */
enum error	pat_revoke(struct request *);	/* DELETE /pat/v1/{id} */
enum error	team_create(struct request *);	/* POST /access-token/v1/teams */
enum error	team_list(struct request *);	/* GET /access-token/v1/teams */
enum error	team_current(struct request *);	/* GET .../teams/current-teams */
enum error	team_revoke(struct request *);	/* DELETE .../teams/{id} */
enum error	pat_audit(struct request *);	/* GET /pat/v1/audit?limit=&before= */
enum error	pat_rotate(struct request *);	/* POST /pat/v1/{id}/rotate */
enum error	team_rotate(struct request *);	/* POST .../teams/{id}/rotate */
enum error	pat_self_get(struct request *);	/* GET /pat/v1/self */
enum error	pat_self_revoke(struct request *);	/* DELETE /pat/v1/self */
enum error	pat_report(struct request *);	/* POST /pat/v1/revoke {"tokens"} */

#endif
