/*
 * fuzz_addr.c - the client's address: REMOTE_ADDR, then the X-Forwarded-For
 * walk past the trusted proxies.  The input is REMOTE_ADDR, a newline,
 * X-Forwarded-For, a newline, trusted_proxies; without the second newline
 * trusted_proxies is empty, and without the first there is no header.
 */
#include <arpa/inet.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
addr_ok(const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* Is addr one of the trusted, separated by commas and spaces? */
static int
listed(const char *trusted, const char *addr)
{
	size_t n = strlen(addr), len;

	for (const char *p = trusted; *p != '\0'; p += len) {
		p += strspn(p, ", ");
		len = strcspn(p, ", ");
		if (len == n && len > 0 && memcmp(p, addr, n) == 0)
			return 1;
	}
	return 0;
}

/*
 * The answer by the rule, worked out another way: REMOTE_ADDR unless it is
 * trusted; then the header's addresses from the right, past the trusted
 * ones, to the first that is not (REMOTE_ADDR again at anything else).
 */
static const char *
expected(char *in, const char *xff, const char *trusted, char **copy)
{
	char *tok[4096], *save, *t;
	size_t n = 0;

	*copy = NULL;
	if (!addr_ok(in))
		return NULL;
	if (xff == NULL || !listed(trusted, in))
		return in;
	if ((*copy = strdup(xff)) == NULL)
		abort();
	for (t = strtok_r(*copy, ", ", &save); t != NULL && n < 4096;
	    t = strtok_r(NULL, ", ", &save))
		tok[n++] = t;
	while (n-- > 0) {
		if (!addr_ok(tok[n]))
			return in;
		if (!listed(trusted, tok[n]))
			return tok[n];
	}
	return in;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct arena a;
	static int ready;
	char *in, *xff = NULL, *nl, *copy;
	const char *trusted = "", *got, *want;

	if (!ready) {
		arena_init(&a, 4096);
		ready = 1;
	}
	if (size > 8000 || (in = malloc(size + 1)) == NULL)	/* expected() holds 4096 parts */
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	if ((nl = strchr(in, '\n')) != NULL) {
		*nl = '\0';
		xff = nl + 1;
		if ((nl = strchr(xff, '\n')) != NULL) {
			*nl = '\0';
			trusted = nl + 1;
		}
	}
	got = auth_forwarded(&a, in, xff, trusted);
	want = expected(in, xff, trusted, &copy);
	/*
	 * NULL, REMOTE_ADDR itself, or, only behind a trusted REMOTE_ADDR, a
	 * part of the header that inet_pton reads and that is not trusted.
	 */
	if (want == NULL ? got != NULL : got == NULL || strcmp(got, want) != 0)
		abort();
	if (got != NULL && got != in && (xff == NULL || strstr(xff, got) == NULL ||
	    !addr_ok(got) || listed(trusted, got) || !listed(trusted, in)))
		abort();
	/* Without a header, or trusting no one, the header is never read. */
	if (auth_forwarded(&a, in, NULL, trusted) != (addr_ok(in) ? in : NULL) ||
	    auth_forwarded(&a, in, xff, "") != (addr_ok(in) ? in : NULL))
		abort();
	free(copy);
	arena_reset(&a);
	free(in);
	return 0;
}
