/*
 * libFuzzer target: any bytes as the value of a rotating zone's `rotate` setting
 * (one group or a list of groups) load or fail with errors, never crash. The
 * whole-file target rarely reaches the rotation checks; this one starts there.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char dir[64], path[96];
	struct config_errors errs = {0};
	struct config *cfg;
	FILE *f;

	if (!dir[0]) {
		char logs[96];
		snprintf(dir, sizeof(dir), "/tmp/sweepd-fuzz-rotate.%d", (int)getpid());
		snprintf(logs, sizeof(logs), "%s/logs", dir);
		snprintf(path, sizeof(path), "%s/sweepd.conf", dir);
		mkdir(dir, 0700);
		mkdir(logs, 0700);
	}
	f = fopen(path, "w");
	if (!f)
		return 0;
	fputs("state_dir = \"state\";\n"
	      "zones = ( { name = \"logs\"; path = \"logs\"; include = [ \"*.log\" ];\n"
	      "  rotate = ",
	      f);
	fwrite(data, 1, size, f);
	fputs(";\n} );\n", f);
	fclose(f);
	cfg = config_load(path, &errs);
	if (!cfg && !errs.n)
		abort(); /* a refusal always says why */
	config_free(cfg);
	config_errors_clear(&errs);
	return 0;
}
