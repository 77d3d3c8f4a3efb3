#include "reply_status.h"

#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "alarms.h"
#include "archive.h"
#include "config.h"
#include "counters.h"
#include "fsinfo.h"
#include "history.h"
#include "mover.h"
#include "pathenc.h"
#include "policy.h"
#include "reply.h"
#include "sweep.h"
#include "table.h"
#include "trend.h"
#include "watch.h"

static json_object *limit(int64_t v)
{
	return v == CONFIG_UNSET ? json_object_new_null() : json_object_new_int64(v);
}

static json_object *u64(uint64_t v)
{
	return json_object_new_uint64(v);
}

static void fs_id(uint64_t dev, char *buf, size_t len)
{
	snprintf(buf, len, "%u:%u", major(dev), minor(dev));
}

/* null, or why a target is out of reach and by how much. */
static json_object *episode_json(const struct sweep_episode *ep)
{
	json_object *o;

	if (!ep || !ep->active)
		return json_object_new_null();
	o = json_object_new_object();
	json_object_object_add(o, "why", json_object_new_string(ep->why ? ep->why : ""));
	json_object_object_add(o, "bytes", json_object_new_uint64(ep->bytes));
	return o;
}

/* {growth_per_day, last_24h}: null growth while there is too little history. */
static json_object *trend_json(const struct trend_series *s, int64_t now, double *growth,
			       bool *known)
{
	json_object *o = json_object_new_object(), *hours = json_object_new_array();
	int64_t v[TREND_SPARK];

	*known = s && trend_growth(s, now, growth);
	json_object_object_add(o, "growth_per_day",
			       *known ? json_object_new_int64((int64_t)*growth) : json_object_new_null());
	if (s) {
		trend_last_hours(s, now, v);
		for (int i = 0; i < TREND_SPARK; i++)
			json_object_array_add(hours, v[i] < 0 ? json_object_new_null()
							      : json_object_new_int64(v[i]));
	}
	json_object_object_add(o, "last_24h", hours);
	return o;
}

static json_object *method_json(enum rotate_method m)
{
	return json_object_new_string(m == ROTATE_COLLAPSE	  ? "collapse"
				      : m == ROTATE_COPYTRUNCATE ? "copytruncate"
				      : m == ROTATE_RENAME	  ? "rename"
								  : "auto");
}

/* A rotation group: its include, method, triggers and what it keeps. */
static json_object *rotate_json(const struct rotate_config *rc)
{
	json_object *o = json_object_new_object(), *inc = json_object_new_array();

	for (size_t i = 0; i < rc->include.n; i++)
		json_object_array_add(inc, pathenc_json(rc->include.patterns[i]));
	json_object_object_add(o, "include", rc->include.n ? inc : NULL);
	if (!rc->include.n)
		json_object_put(inc);
	json_object_object_add(o, "method", method_json(rc->method));
	json_object_object_add(o, "size", limit(rc->size));
	json_object_object_add(o, "every", limit(rc->every));
	json_object_object_add(o, "keep", limit(rc->keep));
	json_object_object_add(o, "max_age", limit(rc->max_age));
	json_object_object_add(o, "keep_tail_lines",
			       rc->keep_tail_lines > 0 ? json_object_new_int64(rc->keep_tail_lines)
						       : json_object_new_null());
	json_object_object_add(o, "compress", json_object_new_string(
						      rc->compress == COMPRESS_ZSTD ? "zstd" : "off"));
	return o;
}

/* The alarms that hold now, each {name, labels, summary, since}. */
static json_object *alarms_json(const struct reply_status_view *v)
{
	json_object *arr = json_object_new_array();

	for (size_t i = 0; i < alarms_count(v->alarms); i++) {
		const struct alarm *al = alarms_at(v->alarms, i);
		json_object *o = json_object_new_object(), *labels = json_object_new_object();

		json_object_object_add(o, "name", json_object_new_string(al->name));
		for (size_t k = 0; k < al->n_labels; k++)
			json_object_object_add(labels, al->keys[k], pathenc_json(al->values[k]));
		json_object_object_add(o, "labels", labels);
		json_object_object_add(o, "summary", pathenc_json(al->summary));
		json_object_object_add(o, "since", json_object_new_int64(al->since));
		json_object_array_add(arr, o);
	}
	return arr;
}

static json_object *zone_json(const struct reply_status_view *v, size_t i, const struct fsinfo *fs)
{
	const struct zone_config *zc = &v->cfg->zones[i];
	struct table_zone *tz = table_zone(v->table, i);
	struct table_file *oldest = table_zone_oldest(v->table, i);
	json_object *z = json_object_new_object(), *lim = json_object_new_object();
	char id[32] = "";

	json_object_object_add(z, "name", json_object_new_string(zc->name));
	json_object_object_add(z, "path", pathenc_json(zc->path));
	json_object_object_add(z, "present", json_object_new_boolean(watch_zone_attached(v->watch, i)));
	json_object_object_add(z, "files", u64(tz->files));
	json_object_object_add(z, "bytes", u64(tz->bytes));
	json_object_object_add(z, "disk_bytes", u64(tz->disk_bytes));
	json_object_object_add(z, "open_files", u64(tz->open_files));
	json_object_object_add(z, "oldest_mtime",
			       oldest ? json_object_new_int64(oldest->mtime) : json_object_new_null());
	json_object_object_add(lim, "max_age", limit(zc->max_age));
	json_object_object_add(lim, "max_idle", limit(zc->max_idle));
	json_object_object_add(lim, "max_size", limit(zc->max_size));
	json_object_object_add(lim, "max_files", limit(zc->max_files));
	json_object_object_add(z, "limits", lim);
	if (fs)
		fs_id(fs->dev, id, sizeof(id));
	json_object_object_add(z, "fs", fs ? json_object_new_string(id) : json_object_new_null());
	json_object_object_add(z, "action", json_object_new_string(
					       zc->action == ACTION_DELETE ? "delete" : "archive"));
	/* rotate: its first group (null when it does not rotate); rotate_groups: each. */
	json_object_object_add(z, "rotate", zc->n_rotates ? rotate_json(&zc->rotates[0]) : NULL);
	if (zc->n_rotates) {
		json_object *groups = json_object_new_array();

		for (size_t g = 0; g < zc->n_rotates; g++)
			json_object_array_add(groups, rotate_json(&zc->rotates[g]));
		json_object_object_add(z, "rotate_groups", groups);
	}
	json_object_object_add(z, "blocked", episode_json(sweep_zone_episode(v->sweep, i)));
	{
		double growth;
		bool known;
		json_object_object_add(z, "trend", trend_json(v->history ? history_zone(v->history, zc->name) : NULL,
							      (int64_t)time(NULL), &growth, &known));
	}
	return z;
}

static json_object *fs_json(const struct reply_status_view *v, const struct fsinfo *fs)
{
	json_object *o = json_object_new_object();
	char id[32];

	fs_id(fs->dev, id, sizeof(id));
	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "mount", json_object_new_string(fs->mount));
	json_object_object_add(o, "size", u64(fs->size));
	json_object_object_add(o, "used", u64(fs->used));
	json_object_object_add(o, "free", u64(fs->free));
	json_object_object_add(o, "used_pct", json_object_new_double(fs->used_pct));
	json_object_object_add(o, "high_pct", json_object_new_double(v->cfg->disk_high));
	json_object_object_add(o, "low_pct", json_object_new_double(v->cfg->disk_low));
	{
		bool pressure;
		const struct sweep_episode *ep = sweep_fs_episode(v->sweep, fs->dev, &pressure);
		json_object_object_add(o, "pressure", json_object_new_boolean(pressure));
		json_object_object_add(o, "blocked", episode_json(ep));
	}
	{
		int64_t now = (int64_t)time(NULL), at = -1;
		uint64_t high = policy_mark_bytes(v->cfg->disk_high, fs->used + fs->free);
		double growth;
		bool known;

		json_object_object_add(o, "trend", trend_json(v->history ? history_fs(v->history, fs->mount) : NULL,
							      now, &growth, &known));
		if (known && growth > 0)
			at = trend_reaches(fs->used, high, growth, now);
		/* When it would cross its high mark at this pace; null when it is not growing. */
		json_object_object_add(o, "high_mark_at",
				       at < 0 ? json_object_new_null() : json_object_new_int64(at));
	}
	return o;
}

static json_object *counters_json(const struct counters *c)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "events", u64(c->events));
	json_object_object_add(o, "overflows", u64(c->overflows));
	json_object_object_add(o, "rescans", u64(c->rescans));
	json_object_object_add(o, "archived", u64(c->archived));
	json_object_object_add(o, "deleted", u64(c->deleted));
	json_object_object_add(o, "purged", u64(c->purged));
	json_object_object_add(o, "restored", u64(c->restored));
	json_object_object_add(o, "rotated", u64(c->rotated));
	json_object_object_add(o, "bytes_freed", u64(c->bytes_freed));
	json_object_object_add(o, "errors", u64(c->errors));
	json_object_object_add(o, "blocked", u64(c->blocked));
	json_object_object_add(o, "alert_runs", u64(c->alert_runs));
	json_object_object_add(o, "alert_failures", u64(c->alert_failures));
	json_object_object_add(o, "http_wrong_passwords", u64(c->http_wrong_passwords));
	return o;
}

/* The bucket behind the archive: what it holds, what waits to go up, and why. */
static json_object *remote_json(const struct reply_status_view *v)
{
	const struct remote_config *rc = v->cfg->remote;
	struct archive_index *rix = v->archive ? archive_remote_entries(v->archive) : NULL;
	const struct sweep_remote_stats *st = v->sweep ? sweep_remote_stats(v->sweep) : NULL;
	json_object *o = json_object_new_object();
	json_object_object_add(o, "endpoint", json_object_new_string(rc->endpoint));
	json_object_object_add(o, "bucket", json_object_new_string(rc->bucket));
	json_object_object_add(o, "prefix", pathenc_json(rc->prefix));
	json_object_object_add(o, "keep", limit(rc->keep));
	json_object_object_add(o, "files", u64(rix ? rix->live : 0));
	json_object_object_add(o, "bytes", u64(rix ? rix->bytes : 0));
	json_object_object_add(o, "stored", u64(rix ? rix->stored : 0));
	json_object_object_add(o, "waiting", u64(st ? st->waiting_files : 0));
	json_object_object_add(o, "waiting_bytes", u64(st ? st->waiting_bytes : 0));
	json_object_object_add(o, "uploads", u64(st ? st->uploads : 0));
	json_object_object_add(o, "uploaded_bytes", u64(st ? st->uploaded_bytes : 0));
	json_object_object_add(o, "failures", u64(st ? st->failures : 0));
	json_object_object_add(o, "failing", json_object_new_boolean(st && st->failing));
	json_object_object_add(o, "last_error", st && st->last_error[0]
							 ? pathenc_json(st->last_error)
							 : json_object_new_null());
	return o;
}

/*
 * The archive, and a plain word when it shares a filesystem with zones: there,
 * disk pressure purges it before its review window is over.
 */
static void archive_json(const struct reply_status_view *v, json_object *ar)
{
	struct archive_index *ix = v->archive ? archive_entries(v->archive) : NULL;
	struct archive_entry *oldest = ix ? archive_index_oldest(ix) : NULL;
	json_object *same = json_object_new_array();

	json_object_object_add(ar, "path", v->archive ? pathenc_json(archive_path(v->archive))
						      : json_object_new_null());
	json_object_object_add(ar, "files", u64(ix ? ix->live : 0));
	json_object_object_add(ar, "bytes", u64(ix ? ix->stored : 0));
	json_object_object_add(ar, "oldest", oldest ? json_object_new_int64(oldest->archived_at)
						    : json_object_new_null());
	{
		/* Its own filesystem's room: what it may still take, beside the zones' disks. */
		struct fsinfo fi;
		bool known = v->archive && fsinfo_get(archive_path(v->archive), &fi) == 0;

		json_object_object_add(ar, "mount", known ? pathenc_json(fi.mount)
							  : json_object_new_null());
		json_object_object_add(ar, "free", known ? u64(fi.free) : json_object_new_null());
	}
	json_object_object_add(ar, "keep", limit(v->cfg->archive_keep));
	json_object_object_add(ar, "max_size", limit(v->cfg->archive_max_size));
	for (size_t i = 0; v->archive && i < v->cfg->n_zones; i++) {
		struct table_zone *tz = table_zone(v->table, i);
		if (tz->root && tz->root->dev == archive_dev(v->archive))
			json_object_array_add(same, json_object_new_string(v->cfg->zones[i].name));
	}
	if (json_object_array_length(same))
		json_object_object_add(
			ar, "note",
			json_object_new_string(
				"the archive shares a filesystem with these zones: archiving "
				"there frees no space, so under disk pressure archived files are "
				"purged before their review window ends; an archive on another "
				"filesystem (a NAS, a second disk) keeps the window whole"));
	json_object_object_add(ar, "same_fs_zones", same);
	json_object_object_add(ar, "full", episode_json(v->sweep ? sweep_archive_episode(v->sweep)
								: NULL));
	if (v->cfg->remote)
		json_object_object_add(ar, "remote", remote_json(v));
}

/* status.jobs lists the running jobs and this many queued ones; all are counted. */
#define STATUS_QUEUED_LISTED 100

struct jobs_out {
	json_object *jobs;
	uint64_t queued, queued_bytes;
};

static void job_json(const struct mover_job *j, bool running, void *ud)
{
	struct jobs_out *out = ud;
	json_object *o;

	if (!running) {
		out->queued++;
		out->queued_bytes += atomic_load(&j->bytes);
		if (out->queued > STATUS_QUEUED_LISTED)
			return;
	}
	o = json_object_new_object();

	json_object_object_add(o, "action", json_object_new_string(j->action));
	json_object_object_add(o, "path", pathenc_json(j->path));
	json_object_object_add(o, "bytes", u64(j->bytes));
	json_object_object_add(o, "done", u64(atomic_load(&j->moved)));
	json_object_object_add(o, "running", json_object_new_boolean(running));
	if (running) {
		json_object_object_add(o, "started", json_object_new_int64(j->started));
		json_object_object_add(o, "elapsed",
				       json_object_new_double(mover_job_elapsed(j)));
	}
	json_object_array_add(out->jobs, o);
}

/* The file work under way, running first; and the mover's totals, for the metrics. */
static void mover_json(struct mover *m, json_object *o)
{
	json_object *jobs = json_object_new_array(), *mv = json_object_new_object(),
		    *queue = json_object_new_object();
	struct mover_totals t = mover_totals(m);

	struct jobs_out out = { jobs, 0, 0 };

	/*
	 * Every job queued in full would make each reader's status as large as
	 * anyone's files make the queue (4,000 paths of 4 KB): the first ones,
	 * and the count and bytes of all.
	 */
	if (m)
		mover_foreach(m, job_json, &out);
	json_object_object_add(o, "jobs", jobs);
	json_object_object_add(mv, "queued", u64(out.queued));
	json_object_object_add(mv, "queued_bytes", u64(out.queued_bytes));
	for (int i = 0; i < MOVER_LANES; i++)
		json_object_object_add(queue, mover_lane_name((enum mover_lane)i),
				       u64(m ? mover_queued(m, (enum mover_lane)i) : 0));
	json_object_object_add(mv, "jobs", u64(t.jobs));
	json_object_object_add(mv, "bytes", u64(t.bytes));
	json_object_object_add(mv, "queue", queue);
	json_object_object_add(o, "mover", mv);
}

json_object *reply_status_object(const struct reply_status_view *v)
{
	json_object *o = json_object_new_object(), *zones = json_object_new_array(),
		    *fss = json_object_new_array(), *ar = json_object_new_object();
	struct fsinfo *seen = calloc(v->cfg->n_zones, sizeof(*seen));
	size_t n_seen = 0;

	if (!seen) {
		json_object_put(v->reservations);
		json_object_put(o);
		json_object_put(zones);
		json_object_put(fss);
		json_object_put(ar);
		return NULL;
	}
	json_object_object_add(o, "ok", json_object_new_boolean(1));
	json_object_object_add(o, "version", json_object_new_string(SWEEPD_VERSION));
	json_object_object_add(o, "pid", json_object_new_int(getpid()));
	json_object_object_add(o, "uptime_s", json_object_new_int64(time(NULL) - v->started));
	json_object_object_add(o, "paused", json_object_new_boolean(v->paused));
	json_object_object_add(o, "dry_run", json_object_new_boolean(v->dry_run));
	for (size_t i = 0; i < v->cfg->n_zones; i++) {
		struct fsinfo fs, *found = NULL;

		/* A zone that is not there has no filesystem (its path may be a link). */
		if (watch_zone_attached(v->watch, i) && fsinfo_get(v->cfg->zones[i].path, &fs) == 0) {
			for (size_t k = 0; k < n_seen && !found; k++)
				if (seen[k].dev == fs.dev)
					found = &seen[k];
			if (!found) {
				seen[n_seen] = fs;
				found = &seen[n_seen++];
				json_object_array_add(fss, fs_json(v, found));
			}
		}
		json_object_array_add(zones, zone_json(v, i, found));
	}
	free(seen);
	json_object_object_add(o, "zones", zones);
	json_object_object_add(o, "filesystems", fss);
	archive_json(v, ar);
	json_object_object_add(o, "archive", ar);
	json_object_object_add(o, "counters", counters_json(v->counters));
	json_object_object_add(o, "alarms", alarms_json(v));
	mover_json(v->mover, o);
	{
		int64_t last = v->sweep ? sweep_last_run(v->sweep) : 0;
		json_object_object_add(o, "started", json_object_new_int64(v->started));
		json_object_object_add(o, "reservations", v->reservations);
		json_object_object_add(o, "last_sweep",
				       last ? json_object_new_int64(last) : json_object_new_null());
	}
	return o;
}

char *reply_status(const struct reply_status_view *v)
{
	json_object *o = reply_status_object(v);

	return o ? reply_object(o) : NULL;
}
