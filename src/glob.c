#include "glob.h"

#include <fnmatch.h>
#include <stdint.h>
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

/* One position of a pattern: '*', or the bytes one character there may be. */
struct gtok {
	bool star;
	uint64_t set[4];
};

#define GLOB_TOKENS_MAX 256

static void set_add(uint64_t *set, unsigned c)
{
	set[c / 64] |= (uint64_t)1 << (c % 64);
}

/* The end of the bracket expression starting at p ('['), or NULL when it is no bracket. */
static const char *bracket_end(const char *p)
{
	const char *q = p + 1;

	if (*q == '!' || *q == '^')
		q++;
	if (*q == ']')
		q++;
	for (; *q && *q != ']'; q++)
		if (q[0] == '[' && (q[1] == ':' || q[1] == '.' || q[1] == '=')) {
			const char *close = strchr(q + 2, q[1]);
			if (!close || close[1] != ']')
				return NULL;
			q = close + 1;
		}
	return *q ? q : NULL;
}

/* pattern as tokens; -1 when it has more than GLOB_TOKENS_MAX. No token matches '/' but '/'. */
static int tokenize(const char *p, struct gtok *t)
{
	int n = 0;

	while (*p) {
		struct gtok *k = &t[n];
		const char *end;

		if (n == GLOB_TOKENS_MAX)
			return -1;
		memset(k, 0, sizeof(*k));
		if (*p == '*') {
			k->star = true;
			while (*p == '*')
				p++;
		} else if (*p == '?') {
			for (unsigned c = 1; c < 256; c++)
				if (c != '/')
					set_add(k->set, c);
			p++;
		} else if (*p == '[' && (end = bracket_end(p))) {
			/* Which bytes it takes, asked of fnmatch itself. */
			char pat[512], s[2] = { 0, 0 };
			size_t len = (size_t)(end - p) + 1;

			if (len >= sizeof(pat))
				return -1;
			memcpy(pat, p, len);
			pat[len] = '\0';
			for (unsigned c = 1; c < 256; c++) {
				s[0] = (char)c;
				if (c != '/' && fnmatch(pat, s, 0) == 0)
					set_add(k->set, c);
			}
			p = end + 1;
		} else {
			if (*p == '\\' && p[1])
				p++;
			set_add(k->set, (unsigned char)*p++);
		}
		n++;
	}
	return n;
}

static bool sets_meet(const uint64_t *a, const uint64_t *b)
{
	return (a[0] & b[0]) || (a[1] & b[1]) || (a[2] & b[2]) || (a[3] & b[3]);
}

static bool takes_no_slash(const struct gtok *k)
{
	static const uint64_t slash[4] = { (uint64_t)1 << '/', 0, 0, 0 };

	return k->set[0] & ~slash[0] || k->set[1] || k->set[2] || k->set[3];
}

struct overlap {
	const struct gtok *a, *b;
	int na, nb;
	unsigned char *memo; /* 0 unknown, 1 no, 2 yes */
};

static bool meet(struct overlap *o, int i, int j)
{
	unsigned char *m = &o->memo[i * (o->nb + 1) + j];
	bool r;

	if (*m)
		return *m == 2;
	if (i == o->na && j == o->nb)
		r = true;
	else if (i < o->na && o->a[i].star)
		r = meet(o, i + 1, j) ||
		    (j < o->nb && (o->b[j].star ? meet(o, i, j + 1)
						: takes_no_slash(&o->b[j]) && meet(o, i, j + 1)));
	else if (j < o->nb && o->b[j].star)
		r = meet(o, i, j + 1) || (i < o->na && takes_no_slash(&o->a[i]) && meet(o, i + 1, j));
	else if (i == o->na || j == o->nb)
		r = false;
	else
		r = sets_meet(o->a[i].set, o->b[j].set) && meet(o, i + 1, j + 1);
	*m = r ? 2 : 1;
	return r;
}

bool glob_may_overlap(const char *a, const char *b)
{
	struct gtok *ta = malloc(2 * GLOB_TOKENS_MAX * sizeof(*ta)), *tb = ta + GLOB_TOKENS_MAX;
	struct overlap o = { ta, tb, 0, 0, NULL };
	bool r = true;

	/* A file name against a path: the path's last component names the file. */
	if (strchr(a, '/') && !strchr(b, '/'))
		a = strrchr(a, '/') + 1;
	else if (strchr(b, '/') && !strchr(a, '/'))
		b = strrchr(b, '/') + 1;
	if (ta && (o.na = tokenize(a, ta)) >= 0 && (o.nb = tokenize(b, tb)) >= 0 &&
	    (o.memo = calloc((size_t)(o.na + 1) * (size_t)(o.nb + 1), 1)))
		r = meet(&o, 0, 0);
	free(o.memo);
	free(ta);
	return r;
}
