/* pat.h - the Terrakube-compatible PAT API: create, list, get, revoke. */
#ifndef PATGATE_PAT_H
#define PATGATE_PAT_H

#include "request.h"

enum error	pat_create(struct request *);	/* POST /pat/v1, POST /api/v1 */
enum error	pat_list(struct request *);	/* GET /pat/v1 */
enum error	pat_get(struct request *);	/* GET /pat/v1/{id} */
enum error	pat_revoke(struct request *);	/* DELETE /pat/v1/{id} */

#endif
