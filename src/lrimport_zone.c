/*
 * lrimport's second half: a parsed logrotate block made into sweepd zones.
 * Each directive is folded into one set of settings (later ones win, as in
 * logrotate), then written out as `rotate = { ... }` with a comment for
 * what does not carry over. Zones sweepd would refuse (two on one
 * directory with different settings, or one inside another) are written
 * commented out, with the reason.
 */
#include "lrimport.h"

#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rotplan.h"

#define MAX_NOTES 48

struct buf {
	char *s;
	size_t n, cap;
	bool oom;
};

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (b->oom)
		return;
	va_start(ap, fmt);
	k = vsnprintf(b->s ? b->s + b->n : NULL, b->s ? b->cap - b->n : 0, fmt, ap);
	va_end(ap);
	if (k < 0) {
		b->oom = true;
		return;
	}
	if (!b->s || b->n + (size_t)k >= b->cap) {
		size_t cap = (b->cap ? b->cap : 256) * 2 + (size_t)k;
		char *s = realloc(b->s, cap);

		if (!s) {
			b->oom = true;
			return;
		}
		b->s = s;
		b->cap = cap;
		va_start(ap, fmt);
		vsnprintf(b->s + b->n, b->cap - b->n, fmt, ap);
		va_end(ap);
	}
	b->n += (size_t)k;
}

/* Text from the user's file inside a comment: one line, no control bytes. */
static void put_plain(struct buf *b, const char *s)
{
	for (; *s; s++)
		put(b, "%c", (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

/* A comment of the rotate group, wrapped at 92 columns; text from the file made plain. */
static void say(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct buf *b, const char *fmt, ...)
{
	char text[1024];
	const char *p = text;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	while (*p) {
		size_t n = strlen(p), cut = n;
		char line[128];

		if (n > 84) {
			for (cut = 84; cut > 20 && p[cut] != ' '; cut--)
				;
			if (p[cut] != ' ')
				cut = 84;
		}
		snprintf(line, sizeof(line), "%.*s", (int)cut, p);
		put(b, "      # %s", p == text ? "" : "  ");
		put_plain(b, line);
		put(b, "\n");
		p += cut;
		while (*p == ' ')
			p++;
	}
}

/* A libconfig string literal. */
static void put_str(struct buf *b, const char *s)
{
	put(b, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			put(b, "\\%c", c);
		else if (c == '\n')
			put(b, "\\n");
		else if (c == '\t')
			put(b, "\\t");
		else if (c < 0x20 || c >= 0x7f)
			put(b, "\\x%02x", c);
		else
			put(b, "%c", c);
	}
	put(b, "\"");
}

enum crit { CRIT_SIZE, CRIT_HOURLY, CRIT_DAILY, CRIT_WEEKLY, CRIT_MONTHLY, CRIT_YEARLY };

struct note {
	const char *name;
	char text[400];
};

struct settings {
	enum crit crit;
	const char *size; /* NULL: logrotate's default 1M (only with CRIT_SIZE) */
	const char *maxsize, *minsize, *maxage, *rotate, *weekday;
	int compress; /* -1: not said (logrotate: off) */
	bool delaycompress, copytruncate, copy, create, shared, notifempty, missingok;
	const char *create_args, *olddir;
	const char *post, *pre;
	struct note notes[MAX_NOTES];
	size_t n_notes;
};

static void note(struct settings *s, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void note(struct settings *s, const char *name, const char *fmt, ...)
{
	struct note *n = NULL;
	va_list ap;

	for (size_t i = 0; i < s->n_notes; i++)
		if (!strcmp(s->notes[i].name, name))
			n = &s->notes[i];
	if (!n && s->n_notes == MAX_NOTES)
		return;
	if (!n)
		n = &s->notes[s->n_notes++];
	n->name = name;
	va_start(ap, fmt);
	vsnprintf(n->text, sizeof(n->text), fmt, ap);
	va_end(ap);
}

static void unnote(struct settings *s, const char *name)
{
	for (size_t i = 0; i < s->n_notes; i++)
		if (!strcmp(s->notes[i].name, name)) {
			memmove(&s->notes[i], &s->notes[i + 1],
				(s->n_notes - i - 1) * sizeof(s->notes[0]));
			s->n_notes--;
			return;
		}
}

/* Directives sweepd has nothing for, with why; their "no" forms undo them. */
static const struct {
	const char *name, *undo, *why;
} cannot[] = {
	{"dateext", "nodateext",
	 "sweepd names copies NAME-YYYYmmddTHHMMSS.uuuuuuZ (UTC, sortable), always"},
	{"dateformat", NULL, "sweepd's copy names are fixed: NAME-YYYYmmddTHHMMSS.uuuuuuZ"},
	{"dateyesterday", NULL, "a copy's name holds the time of its rotation"},
	{"datehourago", NULL, "a copy's name holds the time of its rotation"},
	{"extension", NULL, "the stamp goes after the whole name (app.log-...Z.zst)"},
	{"addextension", NULL, "the stamp goes after the whole name (app.log-...Z.zst)"},
	{"start", NULL, "copies are not numbered"},
	{"compresscmd", NULL, "sweepd compresses with zstd itself (level = 1..22)"},
	{"uncompresscmd", NULL, "sweepd compresses with zstd itself"},
	{"compressext", NULL, "compressed copies end in .zst"},
	{"compressoptions", NULL, "sweepd's only option is level (zstd, default 3)"},
	{"copy", "nocopy", "sweepd always cuts the live log (a copy that leaves it whole is not a rotation)"},
	{"renamecopy", "norenamecopy", "copies stay beside the log or in olddir, on its filesystem"},
	{"su", NULL, "sweepd acts as its own user; a copy gets the log's mode and owner"},
	{"mail", "nomail", "sweepd mails nothing; alert_command hears of failures"},
	{"mailfirst", NULL, "sweepd mails nothing"},
	{"maillast", NULL, "sweepd mails nothing"},
	{"shred", "noshred", "copies past keep or max_age are unlinked, not shredded"},
	{"shredcycles", NULL, "copies are unlinked, not shredded"},
	{"minage", NULL, "sweepd has no minimum age for rotation"},
	{"tabooext", NULL, "the default list is used for include directories"},
	{"taboopat", NULL, "the default list is used for include directories"},
	{"allowhardlink", "noallowhardlink",
	 "sweepd never cuts a log with several names in place (rename moves only this one)"},
	{"ignoreduplicates", NULL, "a log follows the first zone that holds it"},
	{"createolddir", "nocreateolddir", "sweepd makes olddir when missing (its parent must exist)"},
	{"firstaction", NULL, "sweepd rotates logs one by one, as each is due: there is no run to be first in"},
	{"lastaction", NULL, "sweepd rotates logs one by one, as each is due: there is no run to be last in"},
	{"preremove", NULL, "sweepd runs nothing before removing a copy"},
};

static void fold(struct settings *s, const struct lrimport_directive *d)
{
	const char *n = d->name, *a = d->args;

	if (!strcmp(n, "size") || !strcmp(n, "hourly") || !strcmp(n, "daily") ||
	    !strcmp(n, "weekly") || !strcmp(n, "monthly") || !strcmp(n, "yearly")) {
		static const char *const w[] = {"size", "hourly", "daily", "weekly", "monthly", "yearly"};
		for (int i = 0; i < 6; i++)
			if (!strcmp(n, w[i]))
				s->crit = (enum crit)i;
		if (s->crit == CRIT_SIZE)
			s->size = a;
		s->weekday = s->crit == CRIT_WEEKLY && *a ? a : NULL;
	} else if (!strcmp(n, "maxsize")) {
		s->maxsize = a;
	} else if (!strcmp(n, "minsize")) {
		s->minsize = a;
	} else if (!strcmp(n, "rotate")) {
		s->rotate = a;
	} else if (!strcmp(n, "maxage")) {
		s->maxage = a;
	} else if (!strcmp(n, "compress") || !strcmp(n, "nocompress")) {
		s->compress = n[0] == 'c';
	} else if (!strcmp(n, "delaycompress") || !strcmp(n, "nodelaycompress")) {
		s->delaycompress = n[0] == 'd';
	} else if (!strcmp(n, "copytruncate") || !strcmp(n, "nocopytruncate")) {
		s->copytruncate = n[0] == 'c';
	} else if (!strcmp(n, "create")) {
		s->create = true;
		s->create_args = a;
	} else if (!strcmp(n, "nocreate")) {
		s->create = false;
	} else if (!strcmp(n, "olddir")) {
		s->olddir = *a ? a : NULL;
	} else if (!strcmp(n, "noolddir")) {
		s->olddir = NULL;
	} else if (!strcmp(n, "postrotate")) {
		s->post = d->script;
	} else if (!strcmp(n, "prerotate")) {
		s->pre = d->script;
	} else if (!strcmp(n, "sharedscripts") || !strcmp(n, "nosharedscripts")) {
		s->shared = n[0] == 's';
	} else if (!strcmp(n, "missingok") || !strcmp(n, "nomissingok")) {
		s->missingok = true;
	} else if (!strcmp(n, "notifempty") || !strcmp(n, "ifempty")) {
		s->notifempty = n[0] == 'n';
	} else {
		for (size_t i = 0; i < sizeof(cannot) / sizeof(cannot[0]); i++) {
			if (cannot[i].undo && !strcmp(n, cannot[i].undo)) {
				unnote(s, cannot[i].name);
				return;
			}
			if (!strcmp(n, cannot[i].name)) {
				note(s, cannot[i].name, "%s%s%s: not carried over: %s", n, *a ? " " : "",
				     a, cannot[i].why);
				return;
			}
		}
		note(s, n, "%s%s%s (%s:%d): not a logrotate directive sweepd knows: left out", n,
		     *a ? " " : "", a, d->file, d->line);
	}
}

/* logrotate's size ("100k", "5M", "1G", "2048") as sweepd writes it; false if not one. */
static bool size_of(const char *a, char *out, size_t len)
{
	char *end;
	unsigned long long v;

	if (*a == '=')
		for (a++; *a == ' '; a++)
			;
	if (*a < '0' || *a > '9')
		return false;
	v = strtoull(a, &end, 10);
	if (v > (1ull << 40))
		return false;
	if (!*end)
		snprintf(out, len, "%llu", v);
	else if (end[1] == '\0' && strchr("kKmMgG", *end))
		snprintf(out, len, "%llu%c", v, *end == 'k' ? 'K' : *end == 'm' ? 'M' : *end == 'g' ? 'G' : *end);
	else
		return false;
	return true;
}

/* A whole number in [lo, hi] (after an optional "="); false if not one. */
static bool number(const char *a, long long lo, long long hi, long long *v)
{
	char *end;

	if (*a == '=')
		for (a++; *a == ' '; a++)
			;
	if (!*a)
		return false;
	*v = strtoll(a, &end, 10);
	return !*end && *v >= lo && *v <= hi;
}

/* A script's lines with the indentation they share taken off, and no blank end. */
static char *dedent(const char *script)
{
	size_t common = SIZE_MAX;
	const char *first = NULL;
	char *out, *o;

	for (const char *l = script; *l;) {
		const char *nl = strchr(l, '\n'), *e = nl ? nl : l + strlen(l);
		size_t k = 0;

		while (l + k < e && (l[k] == ' ' || l[k] == '\t'))
			k++;
		if (l + k < e) {
			if (!first) {
				first = l;
				common = k;
			} else {
				size_t m = 0;
				while (m < k && m < common && l[m] == first[m])
					m++;
				common = m;
			}
		}
		l = nl ? nl + 1 : e;
	}
	out = o = malloc(strlen(script) + 1);
	if (!out)
		return NULL;
	for (const char *l = script; *l;) {
		const char *nl = strchr(l, '\n'), *e = nl ? nl : l + strlen(l);
		size_t skip = (size_t)(e - l) < common ? (size_t)(e - l) : common;

		memcpy(o, l + skip, (size_t)(e - l) - skip);
		o += (size_t)(e - l) - skip;
		*o++ = '\n';
		l = nl ? nl + 1 : e;
	}
	while (o > out && (o[-1] == '\n' || o[-1] == ' ' || o[-1] == '\t'))
		o--;
	*o = '\0';
	return out;
}

/* A script as adjacent libconfig literals, one a line (libconfig joins them). */
static void put_script(struct buf *b, const char *key, const char *script, const char *lead)
{
	char *t = dedent(script);
	const char *l;

	if (!t) {
		b->oom = true;
		return;
	}
	put(b, "%s%s =", lead, key);
	for (l = t; *l;) {
		const char *nl = strchr(l, '\n');
		char *line = strndup(l, nl ? (size_t)(nl - l) + 1 : strlen(l));

		if (!line) {
			b->oom = true;
			break;
		}
		put(b, "\n%s  ", lead);
		put_str(b, line);
		free(line);
		l = nl ? nl + 1 : l + strlen(l);
	}
	if (!*t) {
		put(b, " ");
		put_str(b, "");
	}
	put(b, ";\n");
	free(t);
}

static bool octal(const char *w)
{
	if (!*w)
		return false;
	for (; *w; w++)
		if (*w < '0' || *w > '7')
			return false;
	return true;
}

/* create [MODE] [OWNER [GROUP]], as the contract's create = { mode; owner; group; }. */
static void put_create(struct buf *b, const char *args)
{
	char w[3][128] = {"", "", ""};
	int n = sscanf(args, "%127s %127s %127s", w[0], w[1], w[2]), k = 0;

	put(b, "      # create = {");
	if (n > 0 && octal(w[0]) && strtol(w[0], NULL, 8) <= 07777) {
		put(b, " mode = \"%04lo\";", strtol(w[0], NULL, 8));
		k = 1;
	}
	if (n > k) {
		put(b, " owner = ");
		put_str(b, w[k]);
		put(b, ";");
	}
	if (n > k + 1) {
		put(b, " group = ");
		put_str(b, w[k + 1]);
		put(b, ";");
	}
	put(b, " };\n");
	say(b, "create%s%.200s: the contract's 'create' (issue 15), which this sweepd does not "
	       "take yet (sweepd -t would refuse it): uncomment it once it does; until then the "
	       "writer makes its new log when postrotate has it reopen",
	    *args ? " " : "", args);
}

/* Within dir, or dir itself. */
static bool within(const char *p, const char *dir)
{
	size_t n = strlen(dir);

	if (!strcmp(dir, "/"))
		return true;
	return !strncmp(p, dir, n) && (p[n] == '/' || !p[n]);
}

static bool climbs(const char *p)
{
	size_t n = strlen(p);

	return !strcmp(p, "..") || !strncmp(p, "../", 3) || strstr(p, "/../") ||
	       (n >= 3 && !strcmp(p + n - 3, "/.."));
}

static void put_olddir(struct buf *b, const char *olddir, const char *dir)
{
	const char *rel = NULL;

	if (olddir[0] != '/')
		rel = olddir;
	else if (within(olddir, dir) && olddir[strlen(dir)] == '/')
		rel = olddir + strlen(dir) + 1;
	if (rel && *rel && !climbs(rel)) {
		put(b, "      olddir = ");
		put_str(b, rel);
		put(b, ";");
		if (rel != olddir) {
			put(b, "   # olddir ");
			put_plain(b, olddir);
			put(b, ", made relative to the log's directory");
		}
		put(b, "\n");
		return;
	}
	say(b, "olddir %.300s: not carried over: sweepd keeps copies in a directory under the "
	       "log's own (relative to it, without ..), inside the zone and on its filesystem; "
	       "the copies stay beside the log", olddir);
}

/* The rotate group for logs in dir, from the block's settings. */
static void put_rotate(struct buf *b, struct settings *s, const char *dir)
{
	static const char *const every[] = {NULL, "1h", "1d", "7d", "30d", "365d"};
	static const char *const word[] = {"size", "hourly", "daily", "weekly", "monthly", "yearly"};
	char sz[32];
	long long v;
	bool rename = !s->copytruncate && s->post;

	put(b, "    rotate = {\n");
	if (s->crit == CRIT_SIZE) {
		if (!s->size)
			put(b, "      size = \"1M\";   # no period and no size: logrotate's default\n");
		else if (size_of(s->size, sz, sizeof(sz)))
			put(b, "      size = \"%s\";   # size %s\n", sz, sz);
		else {
			put(b, "      size = \"1M\";   # size ");
			put_plain(b, s->size);
			put(b, ": not a size sweepd reads (N, Nk, NM, NG): logrotate's default "
			       "used\n");
		}
		if (s->maxsize)
			note(s, "maxsize", "maxsize: left out: with 'size' logrotate rotates by size "
					   "alone, and so does sweepd");
	} else {
		put(b, "      every = \"%s\";   # %s\n", every[s->crit], word[s->crit]);
		if (s->maxsize && size_of(s->maxsize, sz, sizeof(sz))) {
			say(b, "maxsize: sweepd rotates at size whatever 'every' says, and at "
			       "'every' whatever the size: logrotate's \"%s or maxsize\"",
			    word[s->crit]);
			put(b, "      size = \"%s\";   # maxsize %s\n", sz, sz);
		}
		else if (s->maxsize)
			note(s, "maxsize", "maxsize %.100s: not a size sweepd reads: left out",
			     s->maxsize);
	}
	if (s->weekday)
		note(s, "weekly", "weekly %.40s: sweepd rotates 7 days after the last rotation, not "
				  "on a set weekday", s->weekday);
	if (s->minsize)
		note(s, "minsize", "minsize %.60s: not carried over: sweepd has no lower bound; "
				   "'every' rotates any log that is not empty", s->minsize);
	if (!s->rotate)
		put(b, "      keep = 0;   # no 'rotate': logrotate's default keeps no copy\n");
	else if (number(s->rotate, -1, -1, &v))
		note(s, "rotate", "rotate -1 (keep every copy): keep left out; add max_age to "
				  "bound them");
	else if (number(s->rotate, 0, 100000, &v))
		put(b, "      keep = %lld;   # rotate %lld\n", v, v);
	else if (number(s->rotate, 0, LLONG_MAX, &v))
		put(b, "      keep = 100000;   # rotate %lld: sweepd keeps at most 100000\n", v);
	else
		note(s, "rotate", "rotate %.60s: not a count: keep left out", s->rotate);
	if (s->maxage && number(s->maxage, 0, 1000000, &v))
		put(b, "      max_age = \"%lldd\";   # maxage %lld\n", v, v);
	else if (s->maxage)
		note(s, "maxage", "maxage %.60s: not a number of days: left out", s->maxage);
	if (s->compress == 1)
		put(b, "      compress = \"zstd\";   # compress: zstd, not gzip (copies end in "
		       ".zst)\n");
	else
		put(b, "      compress = \"off\";   # %s\n",
		    s->compress ? "no 'compress': logrotate's default" : "nocompress");
	if (s->delaycompress && s->compress == 1)
		note(s, "delaycompress",
		     "delaycompress: not needed: a copy moved aside (rename) is compressed only "
		     "once no process has it open for writing, and a copy cut in place "
		     "(collapse, copytruncate) has no writer and is compressed as it is made");
	if (s->copytruncate) {
		say(b, "copytruncate (\"auto\" would lose nothing on ext4 and xfs, for writers "
		       "that append)");
		put(b, "      method = \"copytruncate\";\n");
	} else if (rename) {
		say(b, "logrotate's move aside, then postrotate has the writer reopen");
		put(b, "      method = \"rename\";\n");
	} else {
		say(b, "logrotate moved the log aside, but nothing here has the writer reopen "
		       "(sweepd's rename needs postrotate, or pidfile and signal): so it is cut in "
		       "place (collapse where the filesystem can, else copytruncate), safe for "
		       "writers that append (O_APPEND)");
		put(b, "      method = \"auto\";\n");
	}
	if (s->create && rename)
		put_create(b, s->create_args);
	else if (s->create && !s->copytruncate)
		note(s, "create", "create: not needed: the log is cut in place, so it stays");
	if (s->olddir)
		put_olddir(b, s->olddir, dir);
	if (s->post && rename) {
		say(b, "postrotate: run by /bin/sh -c with $1 the live log and $2 the copy "
		       "(logrotate too passes the log as $1), not waited for");
		put_script(b, "postrotate", s->post, "      ");
	} else if (s->post) {
		say(b, "postrotate: sweepd runs it only after method \"rename\"; with "
		       "copytruncate it has nothing to do:");
		put_script(b, "postrotate", s->post, "      # ");
	}
	if (s->pre) {
		say(b, "prerotate: the contract's 'prerotate' (issue 15), which this sweepd does not "
		       "take yet (sweepd -t would refuse it): uncomment it once it does");
		put_script(b, "prerotate", s->pre, "      # ");
	}
	if (s->shared && (s->post || s->pre))
		note(s, "sharedscripts", "sharedscripts: not carried over: sweepd rotates each log "
					 "when it is due, and runs the script once for each, "
					 "with that log as $1");
	if (s->missingok)
		note(s, "missingok", "missingok: nothing needed: a missing log is no error to sweepd");
	if (s->notifempty)
		note(s, "notifempty", "notifempty: nothing needed: sweepd never rotates an empty log");
	else
		note(s, "ifempty", "ifempty (logrotate's default): not carried over: sweepd never "
				   "rotates an empty log");
	for (size_t i = 0; i < s->n_notes; i++)
		say(b, "%s", s->notes[i].text);
	put(b, "    };\n");
}

struct zone {
	char *path;
	bool recursive;
	char **inc;
	size_t n_inc;
	char *body; /* the rotate group */
	struct buf from; /* where it came from, as comment lines */
	char name[64];
	const struct zone *over; /* overlaps this active one: commented out */
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
		       struct buf *top)
{
	for (size_t g = 0; g < bl->n_globs; g++) {
		char dir[PATH_MAX], pat[PATH_MAX];
		bool rec = false;
		const char *why = split_glob(bl->globs[g], dir, sizeof(dir), pat, sizeof(pat), &rec);
		struct settings s = {.crit = CRIT_SIZE, .compress = -1};
		struct buf body = {0};
		struct zone *z = NULL, *v;

		if (why) {
			put(top, "# %s:%d: ", bl->file, bl->line);
			put_plain(top, bl->globs[g]);
			put(top, ": left out: %s\n", why);
			continue;
		}
		for (size_t i = 0; i < bl->n_dirs; i++)
			fold(&s, &bl->dirs[i]);
		put_rotate(&body, &s, dir);
		if (body.oom) {
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
		put(&z->from, "  # ");
		put_plain(&z->from, bl->globs[g]);
		put(&z->from, " (%s:%d)\n", bl->file, bl->line);
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

static void put_zone(struct buf *b, const struct zone *z)
{
	bool copies = false;

	put(b, "%s", z->from.s ? z->from.s : "");
	put(b, "  { name = \"%s\"; path = ", z->name);
	put_str(b, z->path);
	put(b, "; recursive = %s;\n    include = [ ", z->recursive ? "true" : "false");
	for (size_t i = 0; i < z->n_inc; i++) {
		put(b, "%s", i ? ", " : "");
		put_str(b, z->inc[i]);
		copies = copies || matches_copies(z->inc[i]);
	}
	put(b, " ];\n");
	if (copies)
		put(b, "    exclude = [ \"*-????????T??????.??????Z\", \"*-????????T??????.??????Z.zst\" ];"
		       "   # include would match sweepd's own copies\n");
	put(b, "%s  }", z->body);
}

/* Every line of text as a comment. */
static void put_commented(struct buf *b, const char *text)
{
	for (const char *l = text; *l;) {
		const char *nl = strchr(l, '\n');
		size_t n = nl ? (size_t)(nl - l) : strlen(l);

		put(b, "# %.*s\n", (int)n, l);
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
	struct buf out = {0}, top = {0};
	struct zone *zones = NULL;
	size_t n = 0, active = 0;
	int r = 0;

	for (size_t i = 0; i < c->n_blocks && !r; i++)
		r = block_zones(&c->blocks[i], &zones, &n, &top);
	for (size_t i = 0; i < n; i++)
		name_zone(zones, i);
	/*
	 * Of zones that overlap, the deeper directory is kept (/var/log/nginx over
	 * /var/log: the more specific rules carry over whole), then the first.
	 */
	for (size_t depth = PATH_MAX; depth-- > 0;)
		for (size_t i = 0; i < n; i++) {
			if (depth_of(zones[i].path) != depth)
				continue;
			for (size_t j = 0; j < n && !zones[i].over; j++)
				if (j != i && !zones[j].over && zone_kept(&zones[j], depth, i > j) &&
				    (within(zones[i].path, zones[j].path) ||
				     within(zones[j].path, zones[i].path)))
					zones[i].over = &zones[j];
		}
	put(&out, "# sweepd zones from logrotate configuration (sweepctl import-logrotate).\n"
		  "# Check the paths, then paste into sweepd.conf beside your own zones.\n");
	for (size_t i = 0; i < c->n_errors; i++) {
		put(&out, "# ");
		put_plain(&out, c->errors[i]);
		put(&out, "\n");
	}
	put(&out, "%s", top.s ? top.s : "");
	put(&out, "zones = (\n");
	for (size_t i = 0; i < n; i++)
		if (!zones[i].over) {
			put(&out, "%s", active++ ? ",\n" : "");
			put_zone(&out, &zones[i]);
		}
	put(&out, "%s);\n", active ? "\n" : "");
	for (size_t i = 0; i < n; i++) {
		struct buf z = {0};

		if (!zones[i].over)
			continue;
		put(&out, "\n# Not carried over: %s overlaps zone \"%s\" (%s), and sweepd's\n"
			  "# zones may not overlap (one zone, one rotate group: merge them by hand, or\n"
			  "# wait for rotation groups, a list, which issue 15 brings):\n",
		    zones[i].path, zones[i].over->name, zones[i].over->path);
		put_zone(&z, &zones[i]);
		put(&z, "\n");
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
