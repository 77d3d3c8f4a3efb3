#include "ctlfmt.h"

#include <inttypes.h>
#include <langinfo.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coltab.h"
#include "pathenc.h"
#include "units.h"

#define BAR_W 20

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v)
		       : "";
}

static uint64_t jnum(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) ? json_object_get_uint64(v) : 0;
}

static double jdouble(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) ? json_object_get_double(v) : 0;
}

static bool jnull(json_object *o, const char *key)
{
	json_object *v;
	return !json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null);
}

static const char *size_str(uint64_t v, char *buf)
{
	return units_format_size(v, buf, 32);
}

static const char *age_since(int64_t t, char *buf)
{
	return units_format_age((int64_t)time(NULL) - t, buf, 32);
}

/* Decoded from the reply's encoding to the name's bytes, then escaped for people. */
void ctlfmt_path(const char *s, FILE *out)
{
	char *bytes = pathenc_decode(s), *esc = bytes ? pathenc_escape(bytes) : NULL;

	/* Out of memory: nothing rather than raw bytes. */
	fputs(esc ? esc : "?", out);
	free(esc);
	free(bytes);
}

static void limits_str(json_object *lim, char *buf, size_t len)
{
	static const char *const keys[] = {"max_age", "max_idle", "max_size", "max_files"};
	static const char *const labels[] = {"age", "idle", "size", "files"};
	char v[32];

	buf[0] = '\0';
	for (int i = 0; i < 4; i++) {
		if (jnull(lim, keys[i]))
			continue;
		if (i == 2)
			units_format_size(jnum(lim, keys[i]), v, sizeof(v));
		else if (i == 3)
			snprintf(v, sizeof(v), "%" PRIu64, jnum(lim, keys[i]));
		else
			units_format_age((int64_t)jnum(lim, keys[i]), v, sizeof(v));
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%s %s", buf[0] ? ", " : "",
			 labels[i], v);
	}
	if (!buf[0])
		snprintf(buf, len, "-");
}

/* "auto, size 1M, every 1d, keep 10": a zone's rotation. */
static json_object *member(json_object *o, const char *key)
{
	json_object *v = NULL;
	json_object_object_get_ex(o, key, &v);
	return v;
}

static void group_str(json_object *rot, char *buf, size_t len)
{
	char v[32];

	snprintf(buf, len, "%s", jstr(rot, "method"));
	if (!jnull(rot, "keep_tail_lines"))
		snprintf(buf + strlen(buf), len - strlen(buf), ", tail %" PRIu64 " lines",
			 jnum(rot, "keep_tail_lines"));
	if (!jnull(rot, "size"))
		snprintf(buf + strlen(buf), len - strlen(buf), ", size %s",
			 units_format_size(jnum(rot, "size"), v, sizeof(v)));
	if (!jnull(rot, "every"))
		snprintf(buf + strlen(buf), len - strlen(buf), ", every %s",
			 units_format_age((int64_t)jnum(rot, "every"), v, sizeof(v)));
	if (!jnull(rot, "keep"))
		snprintf(buf + strlen(buf), len - strlen(buf), ", keep %" PRIu64, jnum(rot, "keep"));
	if (!jnull(rot, "max_age"))
		snprintf(buf + strlen(buf), len - strlen(buf), ", max_age %s",
			 units_format_age((int64_t)jnum(rot, "max_age"), v, sizeof(v)));
}

/*
 * A zone's rotation: its one group's settings, or each group's after the
 * logs it takes ("access.log: rename, size 100M | *: auto, every 1d").
 */
static void rotation_str(json_object *z, json_object *rot, char *buf, size_t len)
{
	json_object *groups = member(z, "rotate_groups");
	size_t n = json_object_is_type(groups, json_type_array) ? json_object_array_length(groups) : 0;

	if (n < 2) {
		group_str(rot, buf, len);
		return;
	}
	buf[0] = '\0';
	for (size_t g = 0; g < n; g++) {
		json_object *gr = json_object_array_get_idx(groups, g), *inc = member(gr, "include");
		size_t ni = json_object_is_type(inc, json_type_array) ? json_object_array_length(inc) : 0;
		size_t at;

		if (g)
			snprintf(buf + strlen(buf), len - strlen(buf), " | ");
		for (size_t i = 0; i < ni; i++)
			snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", i ? "," : "",
				 json_object_get_string(json_object_array_get_idx(inc, i)));
		snprintf(buf + strlen(buf), len - strlen(buf), "%s: ", ni ? "" : "*");
		at = strlen(buf);
		group_str(gr, buf + at, len - at);
	}
}

/* "! name (since 5m): summary" for each alarm that holds. */
static void alarm_lines(json_object *alarms, FILE *out)
{
	char a[32];

	if (json_object_array_length(alarms))
		fputc('\n', out);
	for (size_t i = 0; i < json_object_array_length(alarms); i++) {
		json_object *al = json_object_array_get_idx(alarms, i);

		fprintf(out, "! %s (since %s): ", jstr(al, "name"),
			age_since((int64_t)jnum(al, "since"), a));
		ctlfmt_path(jstr(al, "summary"), out);
		fputc('\n', out);
	}
}

static bool utf8_terminal(void)
{
	const char *cs = nl_langinfo(CODESET);
	return cs && (!strcmp(cs, "UTF-8") || !strcmp(cs, "utf8"));
}

/* [#######|....] : used of total, with the mark (a fraction) shown as '|'. */
static void bar(char *buf, double frac, double mark)
{
	int fill = (int)(frac * BAR_W + 0.5), at = mark > 0 ? (int)(mark * BAR_W + 0.5) : -1;

	buf[0] = '[';
	for (int k = 0; k < BAR_W; k++)
		buf[k + 1] = k == at && k >= fill ? '|' : k < fill ? '#' : '.';
	buf[BAR_W + 1] = ']';
	buf[BAR_W + 2] = '\0';
}

/* 24 hourly points, scaled between their least and greatest; a gap is a space. */
static void sparkline(json_object *trend, char *buf, size_t len)
{
	static const char *const blocks[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
	static const char ascii[] = "_.-=+*#@";
	json_object *pts;
	double lo = 0, hi = 0;
	bool any = false, utf8 = utf8_terminal();

	buf[0] = '\0';
	if (!trend || !json_object_object_get_ex(trend, "last_24h", &pts))
		return;
	for (size_t k = 0; k < json_object_array_length(pts); k++) {
		json_object *p = json_object_array_get_idx(pts, k);
		double v = json_object_get_double(p);
		if (!p)
			continue;
		lo = any && lo < v ? lo : v;
		hi = any && hi > v ? hi : v;
		any = true;
	}
	for (size_t k = 0; any && k < json_object_array_length(pts); k++) {
		json_object *p = json_object_array_get_idx(pts, k);
		int lvl = p && hi > lo ? (int)((json_object_get_double(p) - lo) / (hi - lo) * 7 + 0.5) : 0;
		size_t used = strlen(buf);
		if (utf8)
			snprintf(buf + used, len - used, "%s", p ? blocks[lvl] : " ");
		else
			snprintf(buf + used, len - used, "%c", p ? ascii[lvl] : ' ');
	}
}

/* "+4.2G", "-300M", or "-" while there is too little history. */
static const char *growth_str(json_object *trend, char *buf)
{
	json_object *g;
	int64_t v;

	if (!trend || !json_object_object_get_ex(trend, "growth_per_day", &g) ||
	    json_object_is_type(g, json_type_null))
		return strcpy(buf, "-");
	v = json_object_get_int64(g);
	buf[0] = v < 0 ? '-' : '+';
	units_format_size((uint64_t)(v < 0 ? -v : v), buf + 1, 31);
	return buf;
}

/* A path from a reply as ctlfmt_path prints it, malloc'd (NULL: out of memory). */
static char *path_str(const char *encoded)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	if (!m)
		return NULL;
	ctlfmt_path(encoded, m);
	fclose(m);
	return buf;
}

static const char *ellipsis(void)
{
	return utf8_terminal() ? "…" : "...";
}

/* Fits a table to width, prints it and frees it. */
static void table_out(struct coltab *t, int width, FILE *out)
{
	coltab_fit(t, width);
	coltab_print(t, out, ellipsis());
	coltab_destroy(t);
}

/* Zone usage, most needed columns kept first: name, size, use, bar, files, oldest. */
static const struct coltab_col zone_cols[] = {
	{ "ZONE", 0, true, true, 0 },	  { "FILES", 80, false, false, 0 },
	{ "SIZE", 95, false, false, 0 },	  { "DISK", 50, false, false, 0 },
	{ "OPEN", 60, false, false, 0 },	  { "OLDEST", 70, false, false, 0 },
	{ "QUOTA", 85, true, false, 2 },	  { "USE%", 90, false, false, 0 },
	{ "GROWTH/DAY", 40, false, false, 2 }, { "LAST 24H", 30, true, false, 2 },
};

/* What each zone does: its limits and path cut rather than dropped. */
static const struct coltab_col rule_cols[] = {
	{ "ZONE", 0, true, true, 0 },
	{ "ACTION", 60, true, false, 0 },
	{ "LIMITS", 0, true, true, 2 },
	{ "PATH", 0, true, true, 0 },
	{ "", 0, true, false, 2 },
};

static const struct coltab_col fs_cols[] = {
	{ "FILESYSTEM", 0, true, true, 0 },
	{ "SIZE", 80, false, false, 0 },
	{ "USED", 75, false, false, 0 },
	{ "FREE", 85, false, false, 0 },
	{ "USED (| high mark)", 90, true, false, 2 },
	{ "USE%", 90, false, false, 0 },
	{ "HIGH/LOW", 55, false, false, 0 },
	{ "GROWTH/DAY", 40, false, false, 2 },
	{ "HIGH MARK IN", 70, true, false, 2 },
	{ "LAST 24H", 30, true, false, 0 },
};

#define N_COLS(c) (sizeof(c) / sizeof(*(c)))

static void status_zones(json_object *zones, int width, FILE *out)
{
	struct coltab *use = coltab_create(zone_cols, N_COLS(zone_cols)),
		      *rules = coltab_create(rule_cols, N_COLS(rule_cols));
	char files[32], open[32], a[32], b[32], g[32], lim[128], quota[64], spark[128];

	for (size_t i = 0; use && rules && zones && i < json_object_array_length(zones); i++) {
		json_object *z = json_object_array_get_idx(zones, i), *l = member(z, "limits"), *v,
			    *rot = member(z, "rotate");
		bool rotates = json_object_is_type(rot, json_type_object);
		char oldest[32] = "-", pct[16] = "-", both[1024], *path;

		if (!jnull(z, "oldest_mtime"))
			age_since((int64_t)jnum(z, "oldest_mtime"), oldest);
		if (!jnull(l, "max_size") && jnum(l, "max_size")) {
			double f = (double)jnum(z, "bytes") / (double)jnum(l, "max_size");
			bar(quota, f > 1 ? 1 : f, 0);
			snprintf(pct, sizeof(pct), "%.0f%%", 100 * f);
		} else {
			snprintf(quota, sizeof(quota), "(no max_size)");
		}
		sparkline(member(z, "trend"), spark, sizeof(spark));
		snprintf(files, sizeof(files), "%" PRIu64, jnum(z, "files"));
		snprintf(open, sizeof(open), "%" PRIu64, jnum(z, "open_files"));
		coltab_add(use, (const char *[]){ jstr(z, "name"), files, size_str(jnum(z, "bytes"), a),
						  size_str(jnum(z, "disk_bytes"), b), open, oldest,
						  quota, pct, growth_str(member(z, "trend"), g),
						  spark });
		limits_str(l, lim, sizeof(lim));
		if (rotates) {
			/* A rotating zone: its rotation; its limits (and their action) when it has any. */
			rotation_str(z, rot, both, sizeof(both));
			if (strcmp(lim, "-"))
				snprintf(both + strlen(both), sizeof(both) - strlen(both), "; %s", lim);
		}
		path = path_str(jstr(z, "path"));
		coltab_add(rules, (const char *[]){
					  jstr(z, "name"),
					  rotates && !strcmp(lim, "-") ? "rotate" : jstr(z, "action"),
					  rotates ? both : lim, path ? path : "",
					  json_object_object_get_ex(z, "present", &v) &&
							  !json_object_get_boolean(v)
						  ? "(missing)"
						  : "" });
		free(path);
	}
	if (use)
		table_out(use, width, out);
	fputc('\n', out);
	if (rules)
		table_out(rules, width, out);
}

static void status_filesystems(json_object *fss, int width, FILE *out)
{
	struct coltab *t = coltab_create(fs_cols, N_COLS(fs_cols));
	char a[32], b[32], c[32], g[32], used[64], spark[128], eta[48], pct[16], marks[32];

	for (size_t i = 0; t && fss && i < json_object_array_length(fss); i++) {
		json_object *f = json_object_array_get_idx(fss, i);
		double upct = json_object_get_double(member(f, "used_pct")),
		       high = json_object_get_double(member(f, "high_pct"));

		bar(used, upct / 100, high / 100);
		snprintf(pct, sizeof(pct), "%.1f%%", upct);
		snprintf(marks, sizeof(marks), "%g%%/%g%%", high,
			 json_object_get_double(member(f, "low_pct")));
		if (jnull(f, "high_mark_at"))
			strcpy(eta, "-");
		else if ((int64_t)jnum(f, "high_mark_at") <= (int64_t)time(NULL))
			strcpy(eta, "now");
		else
			units_format_age((int64_t)jnum(f, "high_mark_at") - (int64_t)time(NULL), eta,
					 sizeof(eta));
		sparkline(member(f, "trend"), spark, sizeof(spark));
		coltab_add(t, (const char *[]){ jstr(f, "mount"), size_str(jnum(f, "size"), a),
						size_str(jnum(f, "used"), b), size_str(jnum(f, "free"), c),
						used, pct, marks, growth_str(member(f, "trend"), g), eta,
						spark });
	}
	fputc('\n', out);
	if (t)
		table_out(t, width, out);
}

/*
 * "! <pre><name><post>, N out of reach: why" for each item of list that is
 * blocked: the cause, and what to do, last.
 */
static void blocked_lines(json_object *list, const char *pre, const char *key, const char *post,
			  FILE *out)
{
	char a[32];

	for (size_t i = 0; list && i < json_object_array_length(list); i++) {
		json_object *it = json_object_array_get_idx(list, i), *bl = member(it, "blocked");
		if (!json_object_is_type(bl, json_type_object))
			continue;
		fprintf(out, "%s%s%s, %s out of reach: %s\n", pre, jstr(it, key), post,
			size_str(jnum(bl, "bytes"), a), jstr(bl, "why"));
	}
}

/* The status, its tables fitted to width (0: everything); text lines as they come. */
/* The bucket behind the archive: what it holds, what waits, and the last error while failing. */
static void bucket_line(json_object *rm, FILE *out)
{
	char a[32], b[32];

	fputs("bucket s3://", out);
	ctlfmt_path(jstr(rm, "bucket"), out);
	fputc('/', out);
	ctlfmt_path(jstr(rm, "prefix"), out);
	fprintf(out, " at %s: %" PRIu64 " file%s, %s", jstr(rm, "endpoint"), jnum(rm, "files"),
		jnum(rm, "files") == 1 ? "" : "s", size_str(jnum(rm, "bytes"), a));
	if (jnum(rm, "waiting"))
		fprintf(out, "; %" PRIu64 " waiting to go up (%s)", jnum(rm, "waiting"),
			size_str(jnum(rm, "waiting_bytes"), b));
	fputc('\n', out);
	if (json_object_get_boolean(member(rm, "failing")) && !jnull(rm, "last_error")) {
		fputs("! uploads fail: ", out);
		ctlfmt_path(jstr(rm, "last_error"), out);
		fputc('\n', out);
	}
}

/*
 * The file work under way: a progress line for each running job (how far,
 * how fast, how long still), then how many wait and how big they are.
 */
static void job_lines(json_object *jobs, json_object *mover, FILE *out)
{
	uint64_t queued = 0, queued_bytes = 0;
	size_t n = json_object_array_length(jobs);
	char a[32], b[32], c[32];

	if (n)
		fputc('\n', out);
	for (size_t i = 0; i < n; i++) {
		json_object *j = json_object_array_get_idx(jobs, i), *v;
		uint64_t bytes = jnum(j, "bytes"), done = jnum(j, "done");
		double secs = jdouble(j, "elapsed");

		if (!json_object_object_get_ex(j, "running", &v) || !json_object_get_boolean(v)) {
			queued++;
			queued_bytes += bytes;
			continue;
		}
		fprintf(out, "> %s ", jstr(j, "action"));
		ctlfmt_path(jstr(j, "path"), out);
		if (!bytes) {
			fputc('\n', out);
			continue;
		}
		fprintf(out, ": %u%% of %s", (unsigned)(done >= bytes ? 100 : done * 100 / bytes),
			size_str(bytes, a));
		if (secs > 0.2 && done > 0) {
			uint64_t rate = (uint64_t)((double)done / secs);
			fprintf(out, ", %s/s, %s left", size_str(rate, b),
				units_format_age(rate ? (int64_t)((bytes > done ? bytes - done : 0) /
								  rate)
						      : 0,
						 c, sizeof(c)));
		}
		fputc('\n', out);
	}
	/* status lists the first queued jobs only; the mover counts them all. */
	if (member(mover, "queued")) {
		queued = jnum(mover, "queued");
		queued_bytes = jnum(mover, "queued_bytes");
	}
	if (queued)
		fprintf(out, "> %" PRIu64 " more queued, %s\n", queued, size_str(queued_bytes, a));
}

static void status_body(json_object *r, int width, FILE *out)
{
	json_object *zones = member(r, "zones"), *fss = member(r, "filesystems"), *counters, *v;
	char a[32];

	fprintf(out, "sweepd %s, pid %" PRIu64 ", up %s%s%s\n\n", jstr(r, "version"),
		jnum(r, "pid"), units_format_age((int64_t)jnum(r, "uptime_s"), a, sizeof(a)),
		json_object_object_get_ex(r, "paused", &v) && json_object_get_boolean(v)
			? ", PAUSED"
			: "",
		json_object_object_get_ex(r, "dry_run", &v) && json_object_get_boolean(v)
			? ", DRY RUN"
			: "");
	status_zones(zones, width, out);
	status_filesystems(fss, width, out);

	if (json_object_is_type(member(r, "alarms"), json_type_array)) {
		alarm_lines(member(r, "alarms"), out);
	} else {
		blocked_lines(zones, "! zone ", "name", " over its limits", out);
		blocked_lines(fss, "! ", "mount", " above its marks", out);
	}
	if (json_object_object_get_ex(r, "archive", &v) && !jnull(v, "path")) {
		json_object *full;
		char oldest[32] = "-";
		if (!jnull(v, "oldest"))
			age_since((int64_t)jnum(v, "oldest"), oldest);
		fputs("\narchive ", out);
		ctlfmt_path(jstr(v, "path"), out);
		fprintf(out, ": %" PRIu64 " file%s, %s, oldest %s", jnum(v, "files"),
			jnum(v, "files") == 1 ? "" : "s", size_str(jnum(v, "bytes"), a), oldest);
		if (!jnull(v, "free")) {
			fputs("; ", out);
			ctlfmt_path(jstr(v, "mount"), out);
			fprintf(out, " has %s free", size_str(jnum(v, "free"), a));
		}
		fputc('\n', out);
		if (json_object_object_get_ex(v, "full", &full) &&
		    json_object_is_type(full, json_type_object) && !member(r, "alarms"))
			fprintf(out, "! the archive %s\n", jstr(full, "why"));
		if (!jnull(v, "note"))
			fprintf(out, "note: %s\n", jstr(v, "note"));
		if (json_object_is_type(member(v, "remote"), json_type_object))
			bucket_line(member(v, "remote"), out);
	}
	if (json_object_is_type(member(r, "jobs"), json_type_array))
		job_lines(member(r, "jobs"), member(r, "mover"), out);
	if (json_object_object_get_ex(r, "counters", &counters)) {
		const char *sep = "\ncounters: ";
		json_object_object_foreach(counters, key, val)
		{
			fprintf(out, "%s%s %" PRIu64, sep, key, json_object_get_uint64(val));
			sep = ", ";
		}
		fputc('\n', out);
	}
}

/*
 * The tables fit width already; every other line (blocked targets, the
 * archive, notes, counters) is broken at spaces to fit it too.
 */
void ctlfmt_status(json_object *r, FILE *out, int width)
{
	char *buf = NULL, *line, *next;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	if (!m)
		return;
	status_body(r, width, m);
	fclose(m);
	for (line = buf; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		coltab_wrap(out, line, width, 2);
	}
	free(buf);
}

static const struct coltab_col top_cols[] = {
	{ "SIZE", 90, false, false, 0 }, { "AGE", 70, false, false, 0 },
	{ "IDLE", 80, false, false, 0 }, { "OPEN", 60, false, false, 0 },
	{ "PATH", 0, true, true, 2 },
};

/*
 * The largest or oldest files. A file open for writing, or written to since
 * its mtime says (a time set back), is in use: its IDLE says "writing" or
 * counts from the last write the daemon saw, never from a stale atime.
 */
void ctlfmt_top(json_object *r, FILE *out, int width)
{
	struct coltab *t = coltab_create(top_cols, N_COLS(top_cols));
	json_object *files;
	char a[32], b[32], c[32];

	if (!t)
		return;
	for (size_t i = 0; json_object_object_get_ex(r, "files", &files) &&
			   i < json_object_array_length(files);
	     i++) {
		json_object *f = json_object_array_get_idx(files, i), *open = member(f, "open");
		bool writing = json_object_get_boolean(open);
		int64_t used = (int64_t)jnum(f, "atime"), mtime = (int64_t)jnum(f, "mtime");
		char *path = path_str(jstr(f, "path"));

		if (mtime > used)
			used = mtime;
		if (!jnull(f, "last_write") && (int64_t)jnum(f, "last_write") > used)
			used = (int64_t)jnum(f, "last_write");
		coltab_add(t, (const char *[]){ size_str(jnum(f, "bytes"), a), age_since(mtime, b),
						writing ? "writing" : age_since(used, c),
						writing ? "yes" : "", path ? path : "" });
		free(path);
	}
	table_out(t, width, out);
}

void ctlfmt_archive(json_object *r, FILE *out)
{
	json_object *es;
	char a[32], b[32];

	fprintf(out, "%6s %8s %9s %-16s %-8s %-6s %s\n", "ID", "SIZE", "ARCHIVED", "REASON",
		"LOCATION", "ZONE", "PATH");
	if (!json_object_object_get_ex(r, "entries", &es))
		return;
	for (size_t i = 0; i < json_object_array_length(es); i++) {
		json_object *e = json_object_array_get_idx(es, i);
		fprintf(out, "%6" PRIu64 " %8s %9s %-16s %-8s %-6s ", jnum(e, "id"),
			size_str(jnum(e, "bytes"), a), age_since((int64_t)jnum(e, "archived_at"), b),
			jstr(e, "reason"), member(e, "location") ? jstr(e, "location") : "local",
			jstr(e, "zone"));
		ctlfmt_path(jstr(e, "path"), out);
		fputc('\n', out);
	}
}

/*
 * A sweep's or rotation's actions, one a line; then those that failed (a
 * sweep's "failed", each with why) and, for a dry run, a note that the
 * archive is full now (an error reply says that in its own sentence).
 */
void ctlfmt_actions(json_object *r, FILE *out)
{
	json_object *as, *v, *failed = member(r, "failed");
	char a[32];
	bool dry = json_object_object_get_ex(r, "dry_run", &v) && json_object_get_boolean(v);
	size_t nf = json_object_is_type(failed, json_type_array) ? json_object_array_length(failed)
								  : 0;

	if (!json_object_object_get_ex(r, "actions", &as))
		return;
	for (size_t i = 0; i < json_object_array_length(as); i++) {
		json_object *e = json_object_array_get_idx(as, i);
		fprintf(out, "%s%-8s %8s %-16s ",
			member(e, "skipped") ? "skipped " : dry ? "would " : "", jstr(e, "action"),
			size_str(jnum(e, "bytes"), a), jstr(e, "reason"));
		ctlfmt_path(jstr(e, "path"), out);
		if (member(e, "archive_path")) {
			fputs(" -> ", out);
			ctlfmt_path(jstr(e, "archive_path"), out);
		}
		fputc('\n', out);
	}
	for (size_t i = 0; i < nf; i++) {
		json_object *e = json_object_array_get_idx(failed, i);
		fprintf(out, "failed %-8s %8s %-16s ", jstr(e, "action"),
			size_str(jnum(e, "bytes"), a), jstr(e, "reason"));
		ctlfmt_path(jstr(e, "path"), out);
		fputs(": ", out);
		ctlfmt_path(jstr(e, "error"), out);
		fputc('\n', out);
	}
	fprintf(out, "%s%zu action(s)", dry ? "dry run: " : "", json_object_array_length(as));
	if (member(r, "unlisted"))
		fprintf(out, " listed and %llu more (an admin's dry run lists them all)",
			(unsigned long long)jnum(r, "unlisted"));
	if (nf)
		fprintf(out, ", %zu failed", nf);
	fputc('\n', out);
	if (dry && member(r, "archive_full")) {
		fputs("note: ", out);
		ctlfmt_path(jstr(r, "archive_full"), out);
		fputs("; what it would archive stays in its zone until then\n", out);
	}
}

void ctlfmt_generic(json_object *r, FILE *out)
{
	json_object_object_foreach(r, key, val)
	{
		if (!strcmp(key, "ok"))
			continue;
		if (json_object_is_type(val, json_type_string)) {
			fprintf(out, "%s: ", key);
			ctlfmt_path(json_object_get_string(val), out);
			fputc('\n', out);
		} else
			fprintf(out, "%s: %s\n", key,
				json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN));
	}
}

void ctlfmt_purge(json_object *r, FILE *out)
{
	uint64_t n = jnum(r, "purged");
	char a[32];

	fprintf(out, "%s %" PRIu64 " file%s, %s\n",
		json_object_get_boolean(member(r, "dry_run")) ? "would purge" : "purged", n,
		n == 1 ? "" : "s", size_str(jnum(r, "bytes"), a));
}

void ctlfmt_restore(json_object *r, FILE *out)
{
	fputs("restored ", out);
	ctlfmt_path(jstr(r, "restored"), out);
	fputc('\n', out);
}

void ctlfmt_paused(bool paused, FILE *out)
{
	fputs(paused ? "paused: sweepd keeps counting but touches nothing until sweepctl resume\n"
		     : "resumed: sweepd acts on its zones again\n",
	      out);
}

void ctlfmt_reserve(json_object *r, FILE *out)
{
	char a[32], b[32];

	fprintf(out, "%sroom for %s in zone %s: %s freed\n",
		json_object_get_boolean(member(r, "dry_run")) ? "dry run: " : "",
		size_str(jnum(r, "bytes"), a), jstr(r, "zone"), size_str(jnum(r, "freed"), b));
	if (json_object_array_length(member(r, "actions")))
		ctlfmt_actions(r, out);
}

void ctlfmt_reload(json_object *r, FILE *out)
{
	static const char *const keys[] = {"kept", "rescanned", "added", "removed"};
	json_object *zones = member(r, "zones");

	fprintf(out, "configuration reloaded\n");
	for (int k = 0; k < 4; k++) {
		json_object *list = member(zones, keys[k]);
		if (!json_object_array_length(list))
			continue;
		fprintf(out, "  %-10s", keys[k]);
		for (size_t i = 0; i < json_object_array_length(list); i++)
			fprintf(out, " %s", json_object_get_string(json_object_array_get_idx(list, i)));
		fputc('\n', out);
	}
	/* Accepted, but worth a look: "file:line: warning: ...", each once, escaped. */
	json_object *warnings = member(r, "warnings");
	for (size_t i = 0; json_object_is_type(warnings, json_type_array) &&
			   i < json_object_array_length(warnings);
	     i++) {
		ctlfmt_path(json_object_get_string(json_object_array_get_idx(warnings, i)), out);
		fputc('\n', out);
	}
}
