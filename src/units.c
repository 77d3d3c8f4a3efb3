#include "units.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Splits "1.5G" into a non-negative finite number and its suffix. */
static int parse_number(const char *s, double *num, const char **suffix)
{
	char *end;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	*num = strtod(s, &end);
	if (errno || end == s || !isfinite(*num) || *num < 0)
		return -EINVAL;
	/* strtod also takes hex floats, "inf" and "nan": only digits and one dot. */
	for (const char *p = s; p < end; p++)
		if ((*p < '0' || *p > '9') && *p != '.')
			return -EINVAL;
	*suffix = end;
	return 0;
}

int units_parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "KMGTP";
	const char *suffix;
	double num, mult = 1;

	if (parse_number(s, &num, &suffix) < 0)
		return -EINVAL;
	if (!strcmp(suffix, "B")) {
		/* "100B": bytes, as sweepctl prints them. */
		if (strchr(s, '.'))
			return -EINVAL;
	} else if (*suffix) {
		const char *u = strchr(units, suffix[0]);
		if (!u || !suffix[0])
			return -EINVAL;
		/* Accept "300M", "300MB", "300MiB". */
		if (suffix[1] && strcmp(suffix + 1, "B") && strcmp(suffix + 1, "iB"))
			return -EINVAL;
		for (const char *p = units; p <= u; p++)
			mult *= 1024;
	} else if (strchr(s, '.')) {
		return -EINVAL; /* fractional bytes */
	}
	num *= mult;
	if (num >= 18446744073709551615.0)
		return -EINVAL;
	*out = (uint64_t)llround(num);
	return 0;
}

int units_parse_duration(const char *s, int64_t *out)
{
	const char *suffix;
	double num, mult;

	if (parse_number(s, &num, &suffix) < 0)
		return -EINVAL;
	if (!*suffix)
		mult = 1;
	else if (suffix[1])
		return -EINVAL;
	else if (*suffix == 's')
		mult = 1;
	else if (*suffix == 'm')
		mult = 60;
	else if (*suffix == 'h')
		mult = 3600;
	else if (*suffix == 'd')
		mult = 86400;
	else if (*suffix == 'w')
		mult = 7 * 86400;
	else
		return -EINVAL;
	num *= mult;
	if (num > 1e15 || (!*suffix && strchr(s, '.')))
		return -EINVAL;
	*out = (int64_t)llround(num);
	return 0;
}

int units_parse_percent(const char *s, double *out)
{
	const char *suffix;
	double num;

	if (parse_number(s, &num, &suffix) < 0)
		return -EINVAL;
	if (strcmp(suffix, "%") || num > 100)
		return -EINVAL;
	*out = num;
	return 0;
}

const char *units_format_size(uint64_t bytes, char *buf, int len)
{
	static const char units[] = "KMGTPE";
	double v = (double)bytes;
	int u = -1;

	if (bytes < 1024) {
		snprintf(buf, len, "%lluB", (unsigned long long)bytes);
		return buf;
	}
	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, v < 10 ? "%.1f%c" : "%.0f%c", v, units[u]);
	return buf;
}

const char *units_format_age(int64_t s, char *buf, int len)
{
	if (s < 0)
		s = 0;
	if (s < 60)
		snprintf(buf, len, "%llds", (long long)s);
	else if (s < 3600)
		snprintf(buf, len, "%lldm %llds", (long long)(s / 60), (long long)(s % 60));
	else if (s < 86400)
		snprintf(buf, len, "%lldh %lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
	else
		snprintf(buf, len, "%lldd %lldh", (long long)(s / 86400),
			 (long long)(s % 86400 / 3600));
	return buf;
}

uint64_t units_data_bytes(uint64_t size, uint64_t blocks)
{
	uint64_t alloc = blocks > UINT64_MAX / 512 ? UINT64_MAX : blocks * 512;

	return alloc < size ? alloc : size;
}
