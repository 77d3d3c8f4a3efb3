/*
 * lrimport's second half: parsed logrotate blocks made into sweepd zones,
 * one per directory of a block's globs (merged where the place and the
 * rules are the same). Zones sweepd would refuse (two on one directory with
 * different rules, or one inside another) are written commented out, with
 * the reason.
 */
#include "lrimport_priv.h"

#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rotplan.h"

struct zone {
	char *path;
	bool recursive;
	char **inc;
	size_t n_inc;
	char *body; /* the rotate group */
	struct lrimport_buf from; /* where it came from, as comment lines */
	char name[64];
	const struct zone *over; /* overlaps this active one: commented out */
	/* Zones on the same directory with other rules: its rotate groups, after its own. */
	const struct zone **groups;
	size_t n_groups;
	bool grouped; /* one of another zone's groups: not written on its own */
};

static bool has_glob(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == '*' || s[i] == '?' || s[i] == '[')
			return true;
	return false;
}

/*
 * "/var/log/nginx/ *.log" (no space) into the zone's directory "/var/log/nginx" and the
 * include pattern "*.log"; a glob in a directory part ("/srv/ * /app.log")
 * makes a recursive zone at the part above it with a pattern holding '/'.
 * Returns NULL, or why it cannot.
 */
static const char *split_glob(const char *g, char *dir, size_t dlen, char *pat, size_t plen,
			      bool *recursive)
{
	const char *p = g, *comp[PATH_MAX / 2];
	size_t len[PATH_MAX / 2], n = 0, d = 0, k;
	bool literal = true;

	if (g[0] != '/')
		return "not an absolute path (logrotate itself wants one; ~ is not expanded)";
	if (strlen(g) >= PATH_MAX)
		return "too long";
	while (*p) {
		size_t l;

		while (*p == '/')
			p++;
		l = strcspn(p, "/");
		if (!l)
			break;
		if (l == 2 && !strncmp(p, "..", 2))
			return "it climbs with ..";
		if (!(l == 1 && *p == '.')) {
			comp[n] = p;
			len[n++] = l;
		}
		p += l;
	}
	if (!n || g[strlen(g) - 1] == '/')
		return "it names a directory, not files";
	for (k = 0; k + 1 < n && literal; k++)
		if (has_glob(comp[k], len[k]))
			literal = false;
		else
			d = k + 1;
	if (!d)
		return "a zone on / would hold the whole system";
	dir[0] = pat[0] = '\0';
	for (k = 0; k < n; k++) {
		char *to = k < d ? dir : pat;
		size_t cap = k < d ? dlen : plen, at = strlen(to);

		snprintf(to + at, cap - at, "%s%.*s", k < d || k > d ? "/" : "", (int)len[k],
			 comp[k]);
	}
	*recursive = strchr(pat, '/') != NULL;
	return NULL;
}

/* Whether sweepd's copies of a log pattern matches would match it again. */
static bool matches_copies(const char *pattern)
{
	char ex[NAME_MAX + 1], copy[NAME_MAX + 1], rel[PATH_MAX];
	const char *slash, *base;

	if (!rotplan_glob_example(pattern, ex, sizeof(ex)))
		return false;
	slash = strrchr(ex, '/');
	base = slash ? slash + 1 : ex;
	for (int zst = 0; zst < 2; zst++) {
		if (rotplan_name(copy, sizeof(copy), base, 0, 0, zst) < 0)
			continue;
		snprintf(rel, sizeof(rel), "%.*s%s", (int)(base - ex), ex, copy);
		if (!fnmatch(pattern, strchr(pattern, '/') ? rel : copy,
			     strchr(pattern, '/') ? FNM_PATHNAME : 0))
			return true;
	}
	return false;
}

static void zone_free(struct zone *z)
{
	free(z->path);
	for (size_t i = 0; i < z->n_inc; i++)
		free(z->inc[i]);
	free(z->inc);
	free(z->body);
	free(z->groups);
	free(z->from.s);
}

static int add_inc(struct zone *z, const char *pat)
{
	char **v;

	for (size_t i = 0; i < z->n_inc; i++)
		if (!strcmp(z->inc[i], pat))
			return 0;
	v = realloc(z->inc, (z->n_inc + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	z->inc = v;
	return (z->inc[z->n_inc] = strdup(pat)) ? (int)(++z->n_inc, 0) : -ENOMEM;
}

/* The zones of one block, merged into *zones where one has the same place and rules. */
static int block_zones(const struct lrimport_block *bl, struct zone **zones, size_t *n,
		       struct lrimport_buf *top)
{
	for (size_t g = 0; g < bl->n_globs; g++) {
		char dir[PATH_MAX], pat[PATH_MAX];
		bool rec = false;
		const char *why = split_glob(bl->globs[g], dir, sizeof(dir), pat, sizeof(pat), &rec);
		struct lrimport_buf body = {0};
		struct zone *z = NULL, *v;

		if (why) {
			lrimport_put(top, "# %s:%d: ", bl->file, bl->line);
			lrimport_put_plain(top, bl->globs[g]);
			lrimport_put(top, ": left out: %s\n", why);
			continue;
		}
		if (lrimport_rotate(&body, bl, dir) < 0) {
			free(body.s);
			return -ENOMEM;
		}
		for (size_t i = 0; i < *n && !z; i++)
			if (!strcmp((*zones)[i].path, dir) && (*zones)[i].recursive == rec &&
			    !strcmp((*zones)[i].body, body.s))
				z = &(*zones)[i];
		if (!z) {
			v = realloc(*zones, (*n + 1) * sizeof(*v));
			if (!v) {
				free(body.s);
				return -ENOMEM;
			}
			*zones = v;
			z = &v[(*n)++];
			memset(z, 0, sizeof(*z));
			z->path = strdup(dir);
			z->recursive = rec;
			z->body = body.s;
			if (!z->path)
				return -ENOMEM;
		} else {
			free(body.s);
		}
		lrimport_put(&z->from, "  # ");
		lrimport_put_plain(&z->from, bl->globs[g]);
		lrimport_put(&z->from, " (%s:%d)\n", bl->file, bl->line);
		if (z->from.oom || add_inc(z, pat) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* A valid, unique zone name from the path: "/var/log/nginx" is "var-log-nginx". */
static void name_zone(struct zone *zones, size_t i)
{
	char base[48];
	size_t k = 0;

	for (const char *p = zones[i].path; *p && k + 1 < sizeof(base); p++) {
		char c = *p >= 'A' && *p <= 'Z' ? (char)(*p - 'A' + 'a') : *p;

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')
			base[k++] = c;
		else if (k && base[k - 1] != '-')
			base[k++] = '-';
	}
	while (k && base[k - 1] == '-')
		k--;
	base[k] = '\0';
	if (!k)
		snprintf(base, sizeof(base), "logs");
	for (unsigned n = 1;; n++) {
		bool taken = false;

		if (n == 1)
			snprintf(zones[i].name, sizeof(zones[i].name), "%s", base);
		else
			snprintf(zones[i].name, sizeof(zones[i].name), "%s-%u", base, n);
		for (size_t j = 0; j < i && !taken; j++)
			taken = !strcmp(zones[j].name, zones[i].name);
		if (!taken)
			return;
	}
}

/* "[ "a", "b" ]" of z's include patterns; whether one would match sweepd's copies. */
static bool put_incs(struct lrimport_buf *b, const struct zone *z, size_t *k)
{
	bool copies = false;

	for (size_t i = 0; i < z->n_inc; i++) {
		lrimport_put(b, "%s", (*k)++ ? ", " : "");
		lrimport_put_str(b, z->inc[i]);
		copies = copies || matches_copies(z->inc[i]);
	}
	return copies;
}

/*
 * z's rotate and its groups' as one list, each group with its own include
 * (first match wins, as in the order logrotate read them): the body's
 * "rotate = {" and "};" lines become "{ include = [ ... ];" and "}".
 */
static void put_groups(struct lrimport_buf *b, const struct zone *z)
{
	lrimport_put(b, "    rotate = (\n");
	for (size_t g = 0; g <= z->n_groups; g++) {
		const struct zone *m = g ? z->groups[g - 1] : z;
		const char *body = strchr(m->body, '\n'), *end = strstr(m->body, "\n    };");
		size_t k = 0;

		lrimport_put(b, "      { include = [ ");
		put_incs(b, m, &k);
		lrimport_put(b, " ];\n");
		if (body && end && end > body)
			lrimport_put(b, "%.*s", (int)(end - body - 1), body + 1);
		lrimport_put(b, "\n      }%s\n", g < z->n_groups ? "," : " );");
	}
}

static void put_zone(struct lrimport_buf *b, const struct zone *z)
{
	bool copies = false;
	size_t k = 0;

	lrimport_put(b, "%s", z->from.s ? z->from.s : "");
	for (size_t g = 0; g < z->n_groups; g++)
		lrimport_put(b, "%s", z->groups[g]->from.s ? z->groups[g]->from.s : "");
	lrimport_put(b, "  { name = \"%s\"; path = ", z->name);
	lrimport_put_str(b, z->path);
	lrimport_put(b, "; recursive = %s;\n    include = [ ", z->recursive ? "true" : "false");
	copies = put_incs(b, z, &k);
	for (size_t g = 0; g < z->n_groups; g++)
		copies |= put_incs(b, z->groups[g], &k);
	lrimport_put(b, " ];\n");
	if (copies)
		lrimport_put(b, "    exclude = [ \"*-????????T??????.??????Z\", \"*-????????T??????.??????Z.zst\" ];"
		       "   # include would match sweepd's own copies\n");
	if (z->n_groups)
		put_groups(b, z);
	else
		lrimport_put(b, "%s", z->body);
	lrimport_put(b, "  }");
}

/* Zones on one directory with different rules become one zone with a rotate group each. */
static int group_zones(struct zone *zones, size_t n)
{
	for (size_t j = 0; j < n; j++)
		for (size_t i = 0; i < j && !zones[j].grouped; i++) {
			const struct zone **v;

			if (zones[i].grouped || zones[i].recursive != zones[j].recursive ||
			    strcmp(zones[i].path, zones[j].path))
				continue;
			v = realloc(zones[i].groups, (zones[i].n_groups + 1) * sizeof(*v));
			if (!v)
				return -ENOMEM;
			zones[i].groups = v;
			v[zones[i].n_groups++] = &zones[j];
			zones[j].grouped = true;
		}
	return 0;
}

/* Every line of text as a comment. */
static void put_commented(struct lrimport_buf *b, const char *text)
{
	for (const char *l = text; *l;) {
		const char *nl = strchr(l, '\n');
		size_t n = nl ? (size_t)(nl - l) : strlen(l);

		lrimport_put(b, "# %.*s\n", (int)n, l);
		l += n + (nl ? 1 : 0);
	}
}

static size_t depth_of(const char *path)
{
	size_t d = 0;

	for (; *path; path++)
		d += *path == '/';
	return d;
}

/* Whether zone j was decided on (kept) before a zone at depth comes up (earlier: before). */
static bool zone_kept(const struct zone *z, size_t depth, bool earlier)
{
	size_t d = depth_of(z->path);

	return d > depth || (d == depth && earlier);
}

char *lrimport_translate(const struct lrimport_conf *c)
{
	struct lrimport_buf out = {0}, top = {0};
	struct zone *zones = NULL;
	size_t n = 0, active = 0;
	int r = 0;

	for (size_t i = 0; i < c->n_blocks && !r; i++)
		r = block_zones(&c->blocks[i], &zones, &n, &top);
	if (!r)
		r = group_zones(zones, n);
	for (size_t i = 0; i < n; i++)
		name_zone(zones, i);
	/*
	 * Of zones that overlap, the deeper directory is kept (/var/log/nginx over
	 * /var/log: the more specific rules carry over whole), then the first.
	 */
	for (size_t depth = PATH_MAX; depth-- > 0;)
		for (size_t i = 0; i < n; i++) {
			if (depth_of(zones[i].path) != depth || zones[i].grouped)
				continue;
			for (size_t j = 0; j < n && !zones[i].over; j++)
				if (j != i && !zones[j].over && !zones[j].grouped && zone_kept(&zones[j], depth, i > j) &&
				    (lrimport_within(zones[i].path, zones[j].path) ||
				     lrimport_within(zones[j].path, zones[i].path)))
					zones[i].over = &zones[j];
		}
	lrimport_put(&out, "# sweepd zones from logrotate configuration (sweepctl import-logrotate).\n"
		  "# Check the paths, then paste into sweepd.conf beside your own zones.\n");
	for (size_t i = 0; i < c->n_errors; i++) {
		lrimport_put(&out, "# ");
		lrimport_put_plain(&out, c->errors[i]);
		lrimport_put(&out, "\n");
	}
	lrimport_put(&out, "%s", top.s ? top.s : "");
	lrimport_put(&out, "zones = (\n");
	for (size_t i = 0; i < n; i++)
		if (!zones[i].over && !zones[i].grouped) {
			lrimport_put(&out, "%s", active++ ? ",\n" : "");
			put_zone(&out, &zones[i]);
		}
	lrimport_put(&out, "%s);\n", active ? "\n" : "");
	for (size_t i = 0; i < n; i++) {
		struct lrimport_buf z = {0};

		if (!zones[i].over || zones[i].grouped)
			continue;
		lrimport_put(&out, "\n# Not carried over: %s overlaps zone \"%s\" (%s), and sweepd's\n"
			  "# zones may not overlap, nor hold one another: merge them by hand (one zone,\n"
			  "# a rotate group each, with its own include):\n",
		    zones[i].path, zones[i].over->name, zones[i].over->path);
		put_zone(&z, &zones[i]);
		lrimport_put(&z, "\n");
		if (z.oom)
			out.oom = true;
		else
			put_commented(&out, z.s);
		free(z.s);
	}
	for (size_t i = 0; i < n; i++)
		zone_free(&zones[i]);
	free(zones);
	free(top.s);
	if (r || top.oom || out.oom) {
		free(out.s);
		return NULL;
	}
	return out.s;
}
