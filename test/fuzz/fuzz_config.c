/* libFuzzer target: any bytes as a config file load or fail with errors, never crash. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	struct config_errors errs = {0};
	struct config *cfg;
	FILE *f;

	if (!path[0])
		snprintf(path, sizeof(path), "/tmp/sweepd-fuzz-config.%d", (int)getpid());
	f = fopen(path, "w");
	if (!f)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);
	cfg = config_load(path, &errs);
	if (!cfg && !errs.n)
		abort(); /* a refusal always says why */
	config_free(cfg);
	config_errors_clear(&errs);
	return 0;
}
