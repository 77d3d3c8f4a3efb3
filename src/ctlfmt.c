#include "ctlfmt.h"

#include <inttypes.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "units.h"

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

void ctlfmt_path(const char *s, FILE *out)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		/* U+EF80..U+EFFF (EE BE|BF xx) stands for one raw byte. */
		if (p[0] == 0xee && (p[1] == 0xbe || p[1] == 0xbf) && (p[2] & 0xc0) == 0x80) {
			unsigned cp = (p[0] & 0x0fu) << 12 | (p[1] & 0x3fu) << 6 | (p[2] & 0x3fu);
			fprintf(out, "\\x%02x", cp & 0xffu);
			p += 3;
		} else if (*p < 0x20 || *p == 0x7f) {
			fprintf(out, "\\x%02x", *p++);
		} else {
			fputc(*p++, out);
		}
	}
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

void ctlfmt_status(json_object *r, FILE *out)
{
	json_object *zones, *fss, *counters, *v;
	char a[32], b[32], c[32], lim[128];

	fprintf(out, "sweepd %s, pid %" PRIu64 ", up %s%s%s\n\n", jstr(r, "version"),
		jnum(r, "pid"), units_format_age((int64_t)jnum(r, "uptime_s"), a, sizeof(a)),
		json_object_object_get_ex(r, "paused", &v) && json_object_get_boolean(v)
			? ", PAUSED"
			: "",
		json_object_object_get_ex(r, "dry_run", &v) && json_object_get_boolean(v)
			? ", DRY RUN"
			: "");
	fprintf(out, "%-12s %9s %8s %8s %5s %9s  %-24s %s\n", "ZONE", "FILES", "SIZE", "DISK",
		"OPEN", "OLDEST", "LIMITS", "PATH");
	if (json_object_object_get_ex(r, "zones", &zones))
		for (size_t i = 0; i < json_object_array_length(zones); i++) {
			json_object *z = json_object_array_get_idx(zones, i), *l = NULL;
			char oldest[32] = "-";

			if (!jnull(z, "oldest_mtime"))
				age_since((int64_t)jnum(z, "oldest_mtime"), oldest);
			json_object_object_get_ex(z, "limits", &l);
			limits_str(l, lim, sizeof(lim));
			fprintf(out, "%-12s %9" PRIu64 " %8s %8s %5" PRIu64 " %9s  %-24s %s%s\n",
				jstr(z, "name"), jnum(z, "files"), size_str(jnum(z, "bytes"), a),
				size_str(jnum(z, "disk_bytes"), b), jnum(z, "open_files"), oldest,
				lim, jstr(z, "path"),
				json_object_object_get_ex(z, "present", &v) &&
						!json_object_get_boolean(v)
					? "  (missing)"
					: "");
		}
	fprintf(out, "\n%-24s %8s %8s %8s %6s  %s\n", "FILESYSTEM", "SIZE", "USED", "FREE",
		"USE%", "HIGH/LOW");
	if (json_object_object_get_ex(r, "filesystems", &fss))
		for (size_t i = 0; i < json_object_array_length(fss); i++) {
			json_object *f = json_object_array_get_idx(fss, i), *p, *h, *lo;
			json_object_object_get_ex(f, "used_pct", &p);
			json_object_object_get_ex(f, "high_pct", &h);
			json_object_object_get_ex(f, "low_pct", &lo);
			fprintf(out, "%-24s %8s %8s %8s %5.1f%%  %g%%/%g%%\n", jstr(f, "mount"),
				size_str(jnum(f, "size"), a), size_str(jnum(f, "used"), b),
				size_str(jnum(f, "free"), c), json_object_get_double(p),
				json_object_get_double(h), json_object_get_double(lo));
		}
	for (size_t i = 0; json_object_object_get_ex(r, "zones", &zones) &&
			   i < json_object_array_length(zones);
	     i++) {
		json_object *z = json_object_array_get_idx(zones, i), *bl;
		if (json_object_object_get_ex(z, "blocked", &bl) && json_object_is_type(bl, json_type_object))
			fprintf(out, "! zone %s over its limits: %s, %s out of reach\n", jstr(z, "name"),
				jstr(bl, "why"), size_str(jnum(bl, "bytes"), a));
	}
	for (size_t i = 0; json_object_object_get_ex(r, "filesystems", &fss) &&
			   i < json_object_array_length(fss);
	     i++) {
		json_object *f = json_object_array_get_idx(fss, i), *bl;
		if (json_object_object_get_ex(f, "blocked", &bl) && json_object_is_type(bl, json_type_object))
			fprintf(out, "! %s above its marks: %s, %s out of reach\n", jstr(f, "mount"),
				jstr(bl, "why"), size_str(jnum(bl, "bytes"), a));
	}
	if (json_object_object_get_ex(r, "archive", &v) && !jnull(v, "path")) {
		json_object *full;
		char oldest[32] = "-";
		if (!jnull(v, "oldest"))
			age_since((int64_t)jnum(v, "oldest"), oldest);
		fprintf(out, "\narchive %s: %" PRIu64 " files, %s, oldest %s\n", jstr(v, "path"),
			jnum(v, "files"), size_str(jnum(v, "bytes"), a), oldest);
		if (json_object_object_get_ex(v, "full", &full) && json_object_is_type(full, json_type_object))
			fprintf(out, "! archive full: files stay in their zones\n");
		if (!jnull(v, "note"))
			fprintf(out, "note: %s\n", jstr(v, "note"));
	}
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

void ctlfmt_top(json_object *r, FILE *out)
{
	json_object *files;
	char a[32], b[32], c[32];

	fprintf(out, "%8s %9s %9s %4s  %s\n", "SIZE", "AGE", "IDLE", "OPEN", "PATH");
	if (!json_object_object_get_ex(r, "files", &files))
		return;
	for (size_t i = 0; i < json_object_array_length(files); i++) {
		json_object *f = json_object_array_get_idx(files, i), *open;
		json_object_object_get_ex(f, "open", &open);
		fprintf(out, "%8s %9s %9s %4s  ", size_str(jnum(f, "bytes"), a),
			age_since((int64_t)jnum(f, "mtime"), b), age_since((int64_t)jnum(f, "atime"), c),
			json_object_get_boolean(open) ? "yes" : "");
		ctlfmt_path(jstr(f, "path"), out);
		fputc('\n', out);
	}
}

void ctlfmt_archive(json_object *r, FILE *out)
{
	json_object *es;
	char a[32], b[32];

	fprintf(out, "%6s %8s %9s %-16s %-6s %s\n", "ID", "SIZE", "ARCHIVED", "REASON", "ZONE",
		"PATH");
	if (!json_object_object_get_ex(r, "entries", &es))
		return;
	for (size_t i = 0; i < json_object_array_length(es); i++) {
		json_object *e = json_object_array_get_idx(es, i);
		fprintf(out, "%6" PRIu64 " %8s %9s %-16s %-6s ", jnum(e, "id"),
			size_str(jnum(e, "bytes"), a), age_since((int64_t)jnum(e, "archived_at"), b),
			jstr(e, "reason"), jstr(e, "zone"));
		ctlfmt_path(jstr(e, "path"), out);
		fputc('\n', out);
	}
}

void ctlfmt_actions(json_object *r, FILE *out)
{
	json_object *as, *v;
	char a[32];
	bool dry = json_object_object_get_ex(r, "dry_run", &v) && json_object_get_boolean(v);

	if (!json_object_object_get_ex(r, "actions", &as))
		return;
	for (size_t i = 0; i < json_object_array_length(as); i++) {
		json_object *e = json_object_array_get_idx(as, i);
		fprintf(out, "%s%-8s %8s %-16s ", dry ? "would " : "", jstr(e, "action"),
			size_str(jnum(e, "bytes"), a), jstr(e, "reason"));
		ctlfmt_path(jstr(e, "path"), out);
		fputc('\n', out);
	}
	fprintf(out, "%s%zu action(s)\n", dry ? "dry run: " : "", json_object_array_length(as));
}

void ctlfmt_generic(json_object *r, FILE *out)
{
	json_object_object_foreach(r, key, val)
	{
		if (!strcmp(key, "ok"))
			continue;
		if (json_object_is_type(val, json_type_string))
			fprintf(out, "%s: %s\n", key, json_object_get_string(val));
		else
			fprintf(out, "%s: %s\n", key,
				json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN));
	}
}
