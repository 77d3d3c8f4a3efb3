#include "glob.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

bool glob_match_one(const char *pattern, const char *name, const char *relpath)
{
	if (strchr(pattern, '/'))
		return fnmatch(pattern, relpath, FNM_PATHNAME | FNM_PERIOD) == 0;
	return fnmatch(pattern, name, 0) == 0;
}

bool glob_match_any(const struct globs *g, const char *name, const char *relpath)
{
	for (size_t i = 0; i < g->n; i++)
		if (glob_match_one(g->patterns[i], name, relpath))
			return true;
	return false;
}

void glob_free(struct globs *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->patterns[i]);
	free(g->patterns);
	g->patterns = NULL;
	g->n = 0;
}
