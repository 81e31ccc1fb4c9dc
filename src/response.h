/* response.h - write the answer: status, headers and JSON body, or a JSON error. */
#ifndef PATGATE_RESPONSE_H
#define PATGATE_RESPONSE_H

#include "request.h"

/* Send req->status with the JSON built in req->gen (no body when it is empty). */
void	response_send(struct request *);
/* Replace whatever was built with the JSON error for e, and send it. */
void	response_error(struct request *, enum error);
void	response_free(void);

#endif
