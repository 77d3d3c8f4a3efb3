#include "metrics.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_object *get(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (!o || !json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return NULL;
	return v;
}

/* A number at a path of keys ("limits.max_age"); false when absent or null. */
static bool number(json_object *o, const char *path, double *out)
{
	char key[64];
	const char *dot;

	while ((dot = strchr(path, '.'))) {
		snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
		o = get(o, key);
		path = dot + 1;
	}
	o = get(o, path);
	if (!o)
		return false;
	if (json_object_is_type(o, json_type_boolean))
		*out = json_object_get_boolean(o) ? 1 : 0;
	else if (json_object_is_type(o, json_type_object))
		*out = 1; /* an episode: present means on */
	else
		*out = json_object_get_double(o);
	return true;
}

static void head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void value(FILE *f, double v)
{
	char buf[64];

	if (v == (double)(int64_t)v) {
		fprintf(f, " %lld\n", (long long)v);
		return;
	}
	/* The shortest form that reads back the same: 0.9, not 0.90000000000000002. */
	snprintf(buf, sizeof(buf), "%.15g", v);
	if (strtod(buf, NULL) != v)
		snprintf(buf, sizeof(buf), "%.17g", v);
	fprintf(f, " %s\n", buf);
}

/* A label value, escaped as the format asks: backslash, double quote, newline. */
static void label(FILE *f, const char *key, const char *val)
{
	fprintf(f, "{%s=\"", key);
	for (const char *p = val; *p; p++) {
		if (*p == '\\' || *p == '"')
			fputc('\\', f);
		if (*p == '\n')
			fputs("\\n", f);
		else
			fputc(*p, f);
	}
	fputs("\"}", f);
}

/* How a status field becomes a sample. */
enum conv {
	AS_IS,
	AGE,	/* a Unix time: seconds since */
	UNTIL,	/* a Unix time: seconds to go, 0 once passed */
	RATIO,	/* a percentage: a fraction */
};

struct family {
	const char *name, *type, *field, *help;
	enum conv conv;
	bool null_zero; /* an alarm: null reads 0, so that the series does not vanish */
};

/* The family's sample from o, converted; false when o has none. */
static bool family_value(json_object *o, const struct family *fam, int64_t now, double *v)
{
	if (!number(o, fam->field, v)) {
		if (!fam->null_zero)
			return false;
		*v = 0;
	}
	if (fam->conv == AGE)
		*v = (double)now - *v;
	else if (fam->conv == UNTIL)
		*v = *v - (double)now > 0 ? *v - (double)now : 0;
	else if (fam->conv == RATIO)
		*v /= 100.0;
	return true;
}

/* One family over every element of a list (zones, filesystems), labelled by one of its fields. */
static void per_item(FILE *f, json_object *list, const char *lkey, const char *lfield,
		     const struct family *fam, int64_t now)
{
	bool headed = false;

	for (size_t i = 0; list && i < json_object_array_length(list); i++) {
		json_object *it = json_object_array_get_idx(list, i);
		json_object *lv = get(it, lfield);
		double v;

		if (!family_value(it, fam, now, &v))
			continue;
		if (!headed)
			head(f, fam->name, fam->type, fam->help);
		headed = true;
		fputs(fam->name, f);
		label(f, lkey, lv ? json_object_get_string(lv) : "");
		value(f, v);
	}
}

static const struct family zone_families[] = {
	{"sweepd_zone_files", "gauge", "files", "Regular files in the zone, every name counted."},
	{"sweepd_zone_bytes", "gauge", "bytes", "Apparent size of the zone's files, in bytes."},
	{"sweepd_zone_disk_bytes", "gauge", "disk_bytes",
	 "Bytes allocated to the zone's files, each inode once, as du counts."},
	{"sweepd_zone_open_files", "gauge", "open_files", "Files of the zone open for writing."},
	{"sweepd_zone_oldest_age_seconds", "gauge", "oldest_mtime",
	 "Age of the zone's oldest file by mtime.", AGE},
	{"sweepd_zone_present", "gauge", "present", "1 when the zone's directory is there."},
	{"sweepd_zone_limit_max_age_seconds", "gauge", "limits.max_age", "The zone's max_age."},
	{"sweepd_zone_limit_max_idle_seconds", "gauge", "limits.max_idle", "The zone's max_idle."},
	{"sweepd_zone_limit_max_size_bytes", "gauge", "limits.max_size", "The zone's max_size."},
	{"sweepd_zone_limit_max_files", "gauge", "limits.max_files", "The zone's max_files."},
	{"sweepd_zone_blocked", "gauge", "blocked",
	 "Alarm: 1 while the zone cannot get back within its limits.", AS_IS, true},
	{"sweepd_zone_blocked_bytes", "gauge", "blocked.bytes",
	 "Bytes over the zone's limits that are out of reach."},
	{"sweepd_zone_growth_bytes_per_day", "gauge", "trend.growth_per_day",
	 "Growth of the zone, a least-squares slope over the last day's samples."},
};

static const struct family fs_families[] = {
	{"sweepd_filesystem_size_bytes", "gauge", "size", "Size of a filesystem holding zones."},
	{"sweepd_filesystem_used_bytes", "gauge", "used", "Bytes used on the filesystem."},
	{"sweepd_filesystem_free_bytes", "gauge", "free",
	 "Bytes free on the filesystem for unprivileged users."},
	{"sweepd_filesystem_high_mark_ratio", "gauge", "high_pct",
	 "Used fraction above which sweepd frees space.", RATIO},
	{"sweepd_filesystem_low_mark_ratio", "gauge", "low_pct",
	 "Used fraction down to which sweepd frees space.", RATIO},
	{"sweepd_filesystem_pressure", "gauge", "pressure",
	 "1 between crossing the high mark and getting back under the low mark.", AS_IS, true},
	{"sweepd_filesystem_blocked", "gauge", "blocked",
	 "Alarm: 1 while sweeping cannot bring the filesystem under its low mark.", AS_IS, true},
	{"sweepd_filesystem_growth_bytes_per_day", "gauge", "trend.growth_per_day",
	 "Growth of used bytes, a least-squares slope over the last day's samples."},
	{"sweepd_filesystem_high_mark_eta_seconds", "gauge", "high_mark_at",
	 "Forecast: seconds until used crosses the high mark at the present growth.", UNTIL},
};

static const struct family counter_families[] = {
	{"sweepd_events_total", "counter", "events", "inotify events taken in."},
	{"sweepd_overflows_total", "counter", "overflows", "inotify queue overflows."},
	{"sweepd_rescans_total", "counter", "rescans", "Full rescans after overflows."},
	{"sweepd_archived_total", "counter", "archived", "Files moved to the archive."},
	{"sweepd_deleted_total", "counter", "deleted", "Files deleted."},
	{"sweepd_purged_total", "counter", "purged", "Archived files purged."},
	{"sweepd_restored_total", "counter", "restored", "Archived files restored."},
	{"sweepd_rotated_total", "counter", "rotated", "Logs rotated."},
	{"sweepd_freed_bytes_total", "counter", "bytes_freed", "Disk bytes freed."},
	{"sweepd_errors_total", "counter", "errors", "Actions that failed."},
	{"sweepd_blocked_total", "counter", "blocked",
	 "Times a zone, filesystem or the archive could not reach its target."},
	{"sweepd_alert_runs_total", "counter", "alert_runs",
	 "Runs of alert_command, one per alarm started, ended or repeated."},
	{"sweepd_alert_failures_total", "counter", "alert_failures",
	 "Runs of alert_command that exited non-zero, died of a signal, were killed after "
	 "the time limit or could not be started."},
	{"sweepd_http_wrong_passwords_total", "counter", "http_wrong_passwords",
	 "HTTP requests that gave a user and a wrong password (or an unknown user)."},
};

static const struct family top_families[] = {
	{"sweepd_archive_files", "gauge", "archive.files", "Files in the archive."},
	{"sweepd_archive_bytes", "gauge", "archive.bytes", "Bytes the archive stores."},
	{"sweepd_archive_oldest_timestamp_seconds", "gauge", "archive.oldest",
	 "When the oldest archived file was archived."},
	{"sweepd_archive_full", "gauge", "archive.full",
	 "Alarm: 1 while the archive's filesystem refuses files.", AS_IS, true},
	{"sweepd_remote_files", "gauge", "archive.remote.files",
	 "Files in the bucket behind the archive (archive.remote)."},
	{"sweepd_remote_bytes", "gauge", "archive.remote.bytes",
	 "Original bytes of the files in the bucket."},
	{"sweepd_remote_stored_bytes", "gauge", "archive.remote.stored",
	 "Bytes the bucket's objects take (compressed where they were)."},
	{"sweepd_remote_waiting_files", "gauge", "archive.remote.waiting",
	 "Files due to leave the local archive for the bucket, still there."},
	{"sweepd_remote_waiting_bytes", "gauge", "archive.remote.waiting_bytes",
	 "Bytes of the files waiting to go up."},
	{"sweepd_remote_uploads_total", "counter", "archive.remote.uploads",
	 "Files uploaded to the bucket and removed from the local archive."},
	{"sweepd_remote_uploaded_bytes_total", "counter", "archive.remote.uploaded_bytes",
	 "Original bytes uploaded to the bucket."},
	{"sweepd_remote_failures_total", "counter", "archive.remote.failures",
	 "Uploads and deletions in the bucket that failed."},
	{"sweepd_remote_failing", "gauge", "archive.remote.failing",
	 "Alarm: 1 while uploads fail (remote_failing)."},
	{"sweepd_paused", "gauge", "paused", "1 while sweepd is paused."},
	{"sweepd_dry_run", "gauge", "dry_run", "1 when sweepd runs with --dry-run."},
	{"sweepd_start_time_seconds", "gauge", "started", "When sweepd started."},
	{"sweepd_last_sweep_timestamp_seconds", "gauge", "last_sweep",
	 "When the last sweep pass ended."},
	{"sweepd_mover_jobs_total", "counter", "mover.jobs",
	 "File jobs (archive, delete, rotation, ...) the workers finished."},
	{"sweepd_mover_bytes_total", "counter", "mover.bytes",
	 "Bytes the workers' finished jobs moved."},
};

/* The jobs waiting in each of the mover's lanes. */
static void mover_queues(FILE *f, json_object *status)
{
	static const char *const lanes[] = { "archive", "quick", "logs", "asked", "remote" };
	char key[64];
	double v;

	if (!get(status, "mover"))
		return;
	head(f, "sweepd_mover_queue", "gauge",
	     "Jobs queued (not yet running) in a lane of the workers: archive (copies "
	     "to another filesystem), quick, logs, asked (an operator's) or remote "
	     "(uploads to the bucket).");
	for (size_t i = 0; i < sizeof(lanes) / sizeof(*lanes); i++) {
		snprintf(key, sizeof(key), "mover.queue.%s", lanes[i]);
		if (!number(status, key, &v))
			continue;
		fputs("sweepd_mover_queue", f);
		label(f, "lane", lanes[i]);
		value(f, v);
	}
}

/* A family of one unlabelled sample. */
static void single(FILE *f, json_object *o, const struct family *fam, int64_t now)
{
	double v;

	if (!family_value(o, fam, now, &v))
		return;
	head(f, fam->name, fam->type, fam->help);
	fputs(fam->name, f);
	value(f, v);
}

/* The name of alarm i of list, or NULL. */
static const char *alarm_name(json_object *list, size_t i)
{
	json_object *nm = get(json_object_array_get_idx(list, i), "name");

	return nm && json_object_is_type(nm, json_type_string) ? json_object_get_string(nm) : NULL;
}

/* How many alarms of list (NULL: none) are named name. */
static size_t alarms_named(json_object *list, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; list && i < json_object_array_length(list); i++)
		n += alarm_name(list, i) && !strcmp(alarm_name(list, i), name);
	return n;
}

static void alarm_sample(FILE *f, json_object *list, const char *name)
{
	fputs("sweepd_alarm_active", f);
	label(f, "name", name);
	value(f, (double)alarms_named(list, name));
}

/*
 * sweepd_alarm_active{name}: the alarms on now of each name, so that one
 * alert rule can follow one kind. The known names are always there (0: off),
 * so that a series never vanishes; any other name once it holds.
 */
static void alarms_by_name(FILE *f, json_object *status)
{
	static const char *const known[] = { "disk_high",      "quota_unmet",	"archive_full",
					     "remote_failing", "rotate_blocked", "prerotate_failed",
					     "watch_limit",    NULL };
	json_object *list = get(status, "alarms");

	if (list && !json_object_is_type(list, json_type_array))
		list = NULL;
	head(f, "sweepd_alarm_active", "gauge",
	     "Alarms on now of each name (status.alarms), 0 when none.");
	for (size_t i = 0; known[i]; i++)
		alarm_sample(f, list, known[i]);
	for (size_t i = 0; list && i < json_object_array_length(list); i++) {
		const char *name = alarm_name(list, i);
		bool seen = !name;

		for (size_t k = 0; !seen && known[k]; k++)
			seen = !strcmp(known[k], name);
		for (size_t k = 0; !seen && k < i; k++)
			seen = alarm_name(list, k) && !strcmp(alarm_name(list, k), name);
		if (!seen)
			alarm_sample(f, list, name);
	}
}

char *metrics_render(json_object *status, int64_t now)
{
	json_object *zones = get(status, "zones"), *fss = get(status, "filesystems"),
		    *counters = get(status, "counters"), *ver = get(status, "version");
	char *buf = NULL;
	size_t len = 0;
	double alarms = 0, v;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	head(f, "sweepd_info", "gauge", "sweepd's version, as a label.");
	fputs("sweepd_info", f);
	label(f, "version", ver ? json_object_get_string(ver) : "");
	value(f, 1);
	for (size_t i = 0; i < sizeof(zone_families) / sizeof(*zone_families); i++)
		per_item(f, zones, "zone", "name", &zone_families[i], now);
	for (size_t i = 0; i < sizeof(fs_families) / sizeof(*fs_families); i++)
		per_item(f, fss, "mount", "mount", &fs_families[i], now);
	for (size_t i = 0; i < sizeof(top_families) / sizeof(*top_families); i++)
		single(f, status, &top_families[i], now);
	for (size_t i = 0; i < sizeof(counter_families) / sizeof(*counter_families); i++)
		single(f, counters, &counter_families[i], now);
	mover_queues(f, status);
	/* Every alarm at once: what a single alert rule can watch. The status's list, or else its parts. */
	if (json_object_is_type(get(status, "alarms"), json_type_array))
		alarms = (double)json_object_array_length(get(status, "alarms"));
	for (size_t i = 0; !get(status, "alarms") && zones && i < json_object_array_length(zones); i++)
		alarms += get(json_object_array_get_idx(zones, i), "blocked") != NULL;
	for (size_t i = 0; !get(status, "alarms") && fss && i < json_object_array_length(fss); i++)
		alarms += get(json_object_array_get_idx(fss, i), "blocked") != NULL;
	if (!get(status, "alarms"))
		alarms += number(status, "archive.full", &v);
	head(f, "sweepd_alarms", "gauge",
	     "Alarms on now (status.alarms): zones, filesystems, the archive, blocked rotations, "
	     "the inotify watch limit.");
	fputs("sweepd_alarms", f);
	value(f, alarms);
	alarms_by_name(f, status);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}
