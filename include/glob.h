#ifndef SWEEPD_GLOB_H
#define SWEEPD_GLOB_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The zone's include/exclude rules. A pattern without '/' matches the file
 * name, one with '/' the path relative to the zone root (fnmatch with
 * FNM_PATHNAME, so '*' never crosses a '/').
 */
struct globs {
	char **patterns;
	size_t n;
};

bool glob_match_one(const char *pattern, const char *name, const char *relpath);
bool glob_match_any(const struct globs *g, const char *name, const char *relpath);
void glob_free(struct globs *g);
/*
 * Could some file match both patterns? False only when none can: a pattern
 * with '/' against one without compares its last component. Patterns too long
 * to compare cheaply count as overlapping.
 */
bool glob_may_overlap(const char *a, const char *b);

#endif
