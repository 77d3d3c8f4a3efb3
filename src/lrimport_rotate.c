/*
 * lrimport's translation of one block's directives: folded into one set of
 * settings (later ones win, as in logrotate), then written out as sweepd's
 * `rotate = { ... }`, with a comment for what does not carry over and why.
 */
#include "lrimport_priv.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NOTES 48


void lrimport_put(struct lrimport_buf *b, const char *fmt, ...)
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
void lrimport_put_plain(struct lrimport_buf *b, const char *s)
{
	for (; *s; s++)
		lrimport_put(b, "%c", (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

/* A comment of the rotate group, wrapped at 92 columns; text from the file made plain. */
static void say(struct lrimport_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct lrimport_buf *b, const char *fmt, ...)
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
		lrimport_put(b, "      # %s", p == text ? "" : "  ");
		lrimport_put_plain(b, line);
		lrimport_put(b, "\n");
		p += cut;
		while (*p == ' ')
			p++;
	}
}

/* A libconfig string literal. */
void lrimport_put_str(struct lrimport_buf *b, const char *s)
{
	lrimport_put(b, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			lrimport_put(b, "\\%c", c);
		else if (c == '\n')
			lrimport_put(b, "\\n");
		else if (c == '\t')
			lrimport_put(b, "\\t");
		else if (c < 0x20 || c >= 0x7f)
			lrimport_put(b, "\\x%02x", c);
		else
			lrimport_put(b, "%c", c);
	}
	lrimport_put(b, "\"");
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
	/* A last line that ends in a backslash continues onto the newline logrotate keeps. */
	if (o > out && o[-1] == '\\')
		*o++ = '\n';
	*o = '\0';
	return out;
}

/* A script as adjacent libconfig literals, one a line (libconfig joins them). */
static void put_script(struct lrimport_buf *b, const char *key, const char *script, const char *lead)
{
	char *t = dedent(script);
	const char *l;

	if (!t) {
		b->oom = true;
		return;
	}
	lrimport_put(b, "%s%s =", lead, key);
	for (l = t; *l;) {
		const char *nl = strchr(l, '\n');
		char *line = strndup(l, nl ? (size_t)(nl - l) + 1 : strlen(l));

		if (!line) {
			b->oom = true;
			break;
		}
		lrimport_put(b, "\n%s  ", lead);
		lrimport_put_str(b, line);
		free(line);
		l = nl ? nl + 1 : l + strlen(l);
	}
	if (!*t) {
		lrimport_put(b, " ");
		lrimport_put_str(b, "");
	}
	lrimport_put(b, ";\n");
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
/*
 * An owner or group of create as sweepd takes it: a name, or a number (which
 * logrotate takes too) as the name it has here; NULL when there is none.
 */
static const char *id_name(const char *v, bool user)
{
	char *end;
	unsigned long id = strtoul(v, &end, 10);
	const struct passwd *pw;
	const struct group *gr;

	if (!*v || *end)
		return v;
	if (user)
		return (pw = getpwuid((uid_t)id)) ? pw->pw_name : NULL;
	return (gr = getgrgid((gid_t)id)) ? gr->gr_name : NULL;
}

static void put_create(struct lrimport_buf *b, const char *args)
{
	char w[3][128] = {"", "", ""}, owner[128] = "", group[128] = "";
	int n = sscanf(args, "%127s %127s %127s", w[0], w[1], w[2]), k = 0;
	long mode = n > 0 && octal(w[0]) ? strtol(w[0], NULL, 8) : -1;
	const char *o, *g;

	if (mode > 0777 && mode <= 07777)
		say(b, "create %s: sweepd never makes a setuid, setgid or sticky log: mode %04lo",
		    w[0], mode & 0777);
	if (mode >= 0 && mode <= 07777)
		k = 1;
	/* Copied now: the next getpwuid or getgrgid may overwrite what the last returned. */
	if (n > k && (o = id_name(w[k], true)))
		snprintf(owner, sizeof(owner), "%s", o);
	if (n > k + 1 && (g = id_name(w[k + 1], false)))
		snprintf(group, sizeof(group), "%s", g);
	if (n > k && !*owner)
		say(b, "create: no user with id %s here: the moved log's owner is kept", w[k]);
	if (n > k + 1 && !*group)
		say(b, "create: no group with id %s here: the moved log's group is kept", w[k + 1]);
	lrimport_put(b, "      create = {");
	if (k)
		lrimport_put(b, " mode = \"%04lo\";", mode & 0777);
	if (*owner) {
		lrimport_put(b, " owner = ");
		lrimport_put_str(b, owner);
		lrimport_put(b, ";");
	}
	if (*group) {
		lrimport_put(b, " group = ");
		lrimport_put_str(b, group);
		lrimport_put(b, ";");
	}
	lrimport_put(b, " };\n");
}

/* Within dir, or dir itself. */
bool lrimport_within(const char *p, const char *dir)
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

static void put_olddir(struct lrimport_buf *b, const char *olddir, const char *dir)
{
	const char *rel = NULL;

	if (olddir[0] != '/')
		rel = olddir;
	else if (lrimport_within(olddir, dir) && olddir[strlen(dir)] == '/')
		rel = olddir + strlen(dir) + 1;
	if (rel && *rel && !climbs(rel)) {
		lrimport_put(b, "      olddir = ");
		lrimport_put_str(b, rel);
		lrimport_put(b, ";");
		if (rel != olddir) {
			lrimport_put(b, "   # olddir ");
			lrimport_put_plain(b, olddir);
			lrimport_put(b, ", made relative to the log's directory");
		}
		lrimport_put(b, "\n");
		return;
	}
	say(b, "olddir %.300s: not carried over: sweepd keeps copies in a directory under the "
	       "log's own (relative to it, without ..), inside the zone and on its filesystem; "
	       "the copies stay beside the log", olddir);
}

/* The rotate group for logs in dir, from the block's settings. */
static void put_rotate(struct lrimport_buf *b, struct settings *s, const char *dir)
{
	static const char *const every[] = {NULL, "1h", "1d", "7d", "30d", "365d"};
	static const char *const word[] = {"size", "hourly", "daily", "weekly", "monthly", "yearly"};
	char sz[32];
	long long v;
	bool rename = !s->copytruncate && s->post;

	lrimport_put(b, "    rotate = {\n");
	if (s->crit == CRIT_SIZE) {
		if (!s->size)
			lrimport_put(b, "      size = \"1M\";   # no period and no size: logrotate's default\n");
		else if (size_of(s->size, sz, sizeof(sz)))
			lrimport_put(b, "      size = \"%s\";   # size %s\n", sz, sz);
		else {
			lrimport_put(b, "      size = \"1M\";   # size ");
			lrimport_put_plain(b, s->size);
			lrimport_put(b, ": not a size sweepd reads (N, Nk, NM, NG): logrotate's default "
			       "used\n");
		}
		if (s->maxsize)
			note(s, "maxsize", "maxsize: left out: with 'size' logrotate rotates by size "
					   "alone, and so does sweepd");
	} else {
		lrimport_put(b, "      every = \"%s\";   # %s\n", every[s->crit], word[s->crit]);
		if (s->maxsize && size_of(s->maxsize, sz, sizeof(sz))) {
			say(b, "maxsize: sweepd rotates at size whatever 'every' says, and at "
			       "'every' whatever the size: logrotate's \"%s or maxsize\"",
			    word[s->crit]);
			lrimport_put(b, "      size = \"%s\";   # maxsize %s\n", sz, sz);
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
		lrimport_put(b, "      keep = 0;   # no 'rotate': logrotate's default keeps no copy\n");
	else if (number(s->rotate, -1, -1, &v))
		note(s, "rotate", "rotate -1 (keep every copy): keep left out; add max_age to "
				  "bound them");
	else if (number(s->rotate, 0, 100000, &v))
		lrimport_put(b, "      keep = %lld;   # rotate %lld\n", v, v);
	else if (number(s->rotate, 0, LLONG_MAX, &v))
		lrimport_put(b, "      keep = 100000;   # rotate %lld: sweepd keeps at most 100000\n", v);
	else
		note(s, "rotate", "rotate %.60s: not a count: keep left out", s->rotate);
	if (s->maxage && number(s->maxage, 0, 1000000, &v) && v == 0)
		note(s, "maxage", "maxage 0: logrotate's no age limit, as leaving max_age out is");
	else if (s->maxage && number(s->maxage, 0, 1000000, &v))
		lrimport_put(b, "      max_age = \"%lldd\";   # maxage %lld\n", v, v);
	else if (s->maxage)
		note(s, "maxage", "maxage %.60s: not a number of days: left out", s->maxage);
	if (s->compress == 1)
		lrimport_put(b, "      compress = \"zstd\";   # compress: zstd, not gzip (copies end in "
		       ".zst)\n");
	else
		lrimport_put(b, "      compress = \"off\";   # %s\n",
		    s->compress ? "no 'compress': logrotate's default" : "nocompress");
	if (s->delaycompress && s->compress == 1)
		note(s, "delaycompress",
		     "delaycompress: not needed: a copy moved aside (rename) is compressed only "
		     "once no process has it open for writing, and a copy cut in place "
		     "(collapse, copytruncate) has no writer and is compressed as it is made");
	if (s->copytruncate) {
		say(b, "copytruncate (\"auto\" would lose nothing on ext4 and xfs, for writers "
		       "that append)");
		lrimport_put(b, "      method = \"copytruncate\";\n");
	} else if (rename) {
		say(b, "logrotate's move aside, then postrotate has the writer reopen");
		lrimport_put(b, "      method = \"rename\";\n");
	} else {
		say(b, "logrotate moved the log aside, but nothing here has the writer reopen "
		       "(sweepd's rename needs postrotate, or pidfile and signal): so it is cut in "
		       "place (collapse where the filesystem can, else copytruncate), safe for "
		       "writers that append (O_APPEND)");
		lrimport_put(b, "      method = \"auto\";\n");
	}
	if (s->create && rename) {
		say(b, "create: the new empty log made at once after the move, before postrotate "
		       "(what is left out is the moved log's)");
		put_create(b, s->create_args);
	}
	else if (s->create)
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
		say(b, "prerotate: run by /bin/sh -c with $1 the live log, before the cut; a "
		       "non-zero exit skips that rotation (retried at the next trigger)");
		put_script(b, "prerotate", s->pre, "      ");
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
	lrimport_put(b, "    };\n");
}
int lrimport_rotate(struct lrimport_buf *b, const struct lrimport_block *bl, const char *dir)
{
	struct settings s = {.crit = CRIT_SIZE, .compress = -1};

	for (size_t i = 0; i < bl->n_dirs; i++)
		fold(&s, &bl->dirs[i]);
	put_rotate(b, &s, dir);
	return b->oom ? -ENOMEM : 0;
}
