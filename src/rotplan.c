#include "rotplan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int rotplan_name(char *buf, size_t len, const char *base, int64_t sec, long usec, bool zst)
{
	time_t t = (time_t)sec;
	struct tm tm;
	int n;

	if (!gmtime_r(&t, &tm))
		return -EINVAL;
	n = snprintf(buf, len, "%s-%04d%02d%02dT%02d%02d%02d.%06ldZ%s", base, tm.tm_year + 1900,
		     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, usec,
		     zst ? ".zst" : "");
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static bool digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static int num(const char *s, size_t n)
{
	int v = 0;

	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

/* The stamp at s ("-YYYYmmddTHHMMSS.uuuuuuZ") and what follows it. */
static bool parse_stamp(const char *s, int64_t *when, bool *zst)
{
	struct tm tm = { 0 };

	if (strlen(s) < ROTPLAN_STAMP_LEN || s[0] != '-' || !digits(s + 1, 8) || s[9] != 'T' ||
	    !digits(s + 10, 6) || s[16] != '.' || !digits(s + 17, 6) || s[23] != 'Z')
		return false;
	if (strcmp(s + ROTPLAN_STAMP_LEN, "") && strcmp(s + ROTPLAN_STAMP_LEN, ".zst"))
		return false;
	tm.tm_year = num(s + 1, 4) - 1900;
	tm.tm_mon = num(s + 5, 2) - 1;
	tm.tm_mday = num(s + 7, 2);
	tm.tm_hour = num(s + 10, 2);
	tm.tm_min = num(s + 12, 2);
	tm.tm_sec = num(s + 14, 2);
	if (when)
		*when = (int64_t)timegm(&tm);
	if (zst)
		*zst = s[ROTPLAN_STAMP_LEN] != '\0';
	return true;
}

bool rotplan_parse(const char *name, const char *base, int64_t *when, bool *zst)
{
	size_t n = strlen(base);

	return !strncmp(name, base, n) && parse_stamp(name + n, when, zst);
}

bool rotplan_is_copy(const char *name)
{
	size_t n = strlen(name);

	for (size_t tail = ROTPLAN_STAMP_LEN; tail <= ROTPLAN_STAMP_LEN + 4; tail += 4)
		if (n > tail && parse_stamp(name + n - tail, NULL, NULL))
			return true;
	return false;
}

static int newest_first(const void *a, const void *b)
{
	const struct rotplan_copy *x = a, *y = b;

	/* The names sort by time, to the microsecond. */
	return strcmp(y->name + strlen(y->name) - (y->zst ? 4 : 0) - ROTPLAN_STAMP_LEN,
		      x->name + strlen(x->name) - (x->zst ? 4 : 0) - ROTPLAN_STAMP_LEN);
}

size_t rotplan_expire(struct rotplan_copy *v, size_t n, int64_t keep, int64_t max_age, int64_t now)
{
	size_t dropped = 0;

	if (n)
		qsort(v, n, sizeof(*v), newest_first);
	for (size_t i = 0; i < n; i++) {
		v[i].by_age = max_age >= 0 && v[i].when < now - max_age;
		v[i].drop = (keep >= 0 && i >= (uint64_t)keep) || v[i].by_age;
		dropped += v[i].drop;
	}
	return dropped;
}

uint64_t rotplan_collapse_len(uint64_t size, uint64_t blksize)
{
	uint64_t len;

	if (!blksize || size <= blksize)
		return 0;
	len = size / blksize * blksize;
	return len == size ? len - blksize : len;
}

long rotplan_tail_start(const char *buf, size_t n, int64_t *need)
{
	for (size_t i = n; i-- > 0;)
		if (buf[i] == '\n' && --*need == 0)
			return (long)i + 1;
	return -1;
}

bool rotplan_size_due(uint64_t size, int64_t limit, uint64_t floor)
{
	if (limit < 0 || size < (uint64_t)limit)
		return false;
	return floor < (uint64_t)limit || size >= floor + (uint64_t)limit / 4;
}

bool rotplan_glob_example(const char *pattern, char *buf, size_t len)
{
	size_t o = 0;

	for (const char *p = pattern; *p; p++) {
		char c = *p;

		if (c == '*' || c == '?') {
			c = 'x';
		} else if (c == '[') {
			/* "x[" ends the pattern: no class, and nothing to read past it */
			const char *end = p[1] ? strchr(p + 2, ']') : NULL;
			if (p[1] == '!' || p[1] == '^' || !end)
				return false;
			c = p[1];
			p = end;
		} else if (c == '\\' && p[1]) {
			c = *++p;
		}
		if (o + 1 >= len)
			return false;
		buf[o++] = c;
	}
	buf[o] = '\0';
	return o > 0;
}
