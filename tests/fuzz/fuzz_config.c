/* fuzz_config.c - the configuration file parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cfg;
	char err[1024], *text;

	if ((text = strndup((const char *)data, size)) == NULL)
		abort();
	config_defaults(&cfg);
	err[0] = '\0';
	if (config_parse(&cfg, "fuzz.conf", text, err, sizeof(err)) == -1 &&
	    strncmp(err, "fuzz.conf:", 10) != 0)
		abort();	/* every error names the file and line */
	config_free(&cfg);
	free(text);
	return 0;
}
