/* libFuzzer target: the size, duration and percent parsers on any string. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "units.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	uint64_t bytes;
	int64_t secs;
	double pct;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	units_parse_size(s, &bytes);
	if (units_parse_duration(s, &secs) == 0 && secs < 0)
		abort();
	if (units_parse_percent(s, &pct) == 0 && (pct < 0 || pct > 100))
		abort();
	free(s);
	return 0;
}
