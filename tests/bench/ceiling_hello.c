/*
 * ceiling_hello.c - the nginx -> libfcgi ceiling: a FastCGI responder that
 * does nothing but answer, as ceilings.sh's row ii does.  spawn-fcgi hands
 * it the listening socket on fd 0.
 */
#include <fcgiapp.h>

static const char hello_answer[] =
    "Status: 200 OK\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: 40\r\n"
    "\r\n"
    "{\"ok\":true,\"service\":\"pat-hello\",\"v\":10}";

int
main(void)
{
	FCGX_Request	 r;

	if (FCGX_Init() != 0 || FCGX_InitRequest(&r, 0, 0) != 0)
		return 1;
	while (FCGX_Accept_r(&r) == 0) {
		FCGX_PutStr(hello_answer, sizeof(hello_answer) - 1, r.out);
		FCGX_Finish_r(&r);
	}
	return 0;
}
