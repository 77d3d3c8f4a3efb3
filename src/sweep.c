#include "sweep.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emptied.h"
#include "fsinfo.h"
#include "log.h"
#include "sweep_job.h"
#include "sweep_priv.h"
#include "table.h"
#include "u64map.h"
#include "watch.h"

int sweep_file_path(const struct zone_config *zc, const struct table_file *f, char *buf,
		    size_t len, char *rel, size_t rlen)
{
	if (table_file_relpath(f, rel, rlen) < 0 ||
	    snprintf(buf, len, "%s/%s", strcmp(zc->path, "/") ? zc->path : "", rel) >= (int)len)
		return -ENAMETOOLONG;
	return 0;
}

/* A dry run's choices stay chosen until it ends: later passes count them as gone. */
static void dry_keep(struct sweep *s, struct table_file *f)
{
	struct table_file **v;

	if (s->n_dry == s->cap_dry) {
		s->cap_dry = s->cap_dry ? 2 * s->cap_dry : 64;
		v = realloc(s->dry, s->cap_dry * sizeof(*v));
		if (!v) {
			f->flags &= ~TF_PICKED;
			return;
		}
		s->dry = v;
	}
	s->dry[s->n_dry++] = f;
}

/*
 * The cause of a blocked episode, as a sentence that says what to do. A full
 * archive comes first: the files it refused were free to go, so it alone
 * kept the target out of reach; otherwise the cause holding the most bytes.
 */
static const char *tally_why(const struct sweep *s, const struct sweep_tally *t)
{
	if (t->misdir)
		return s->misdir_why;
	if (t->full)
		return s->full_why;
	if (t->deep && t->deep >= t->writing && t->deep >= t->young && t->deep >= t->held)
		return "files whose path is too long for the archive to mirror (past PATH_MAX), "
		       "which stay in their zone: move them higher up, or give the zone action = "
		       "\"delete\"";
	if (t->failed && t->failed >= t->writing && t->failed >= t->young && t->failed >= t->held)
		return "files sweepd failed to move lately (the log says why), tried again in 30 s";
	if (!t->writing && !t->young && !t->held)
		return "nothing left to sweep: what is over the limit lies outside the zones' "
		       "files; free room by hand or raise the limit (max_size, max_files, disk.high)";
	if (t->writing >= t->young && t->writing >= t->held)
		return "files open for writing, which go once closed (sweepctl top ZONE shows "
		       "them as writing)";
	return t->young >= t->held
		       ? "files younger than min_age, which go once older (or lower min_age)"
		       : "files restored recently, left alone for archive.keep (24h when unset)";
}

/* Acts on a plan; returns the bytes (apparent) that left their zone. */
static uint64_t plan_run(struct sweep *s, struct sweep_run *run, struct sweep_plan *p, int64_t now,
			 struct sweep_tally *t)
{
	uint64_t gone = 0;

	for (size_t i = 0; i < p->n && !run->dry; i++)
		p->v[i].f->flags &= ~TF_PICKED;
	for (size_t i = 0; i < p->n; i++) {
		struct sweep_cand *c = &p->v[i];
		uint64_t size = c->f->size;
		enum act_result r = sweep_act(s, run, c->f, c->zone, c->why, now);

		if (run->dry)
			dry_keep(s, c->f);
		if (r == ACT_DONE || r == ACT_QUEUED)
			gone += size;
		else if (t && r == ACT_WRITING)
			t->writing += size;
		else if (t && r == ACT_YOUNG)
			t->young += size;
		else if (t && r == ACT_FULL)
			t->full += size;
		else if (t && r == ACT_MISDIR)
			t->misdir += size;
		else if (t && r == ACT_TOO_DEEP)
			t->deep += size;
	}
	p->n = 0;
	return gone;
}

/*
 * Our own renames and deletes come back as events: take them in between
 * batches (a rescan after an overflow waits for the burst to end).
 */
static void drain_own(struct sweep *s)
{
	watch_take_queued(s->eng.watch);
}

static bool zone_wanted(const struct sweep_run *run, size_t zi)
{
	return run->zone < 0 || (size_t)run->zone == zi;
}

/* Files due by max_age and max_idle. */
static void pass_due(struct sweep *s, struct sweep_run *run, struct sweep_plan *p, size_t zi,
		     int64_t now)
{
	struct sweep_view v = sweep_view_at(s, run, now);

	sweep_plan_due(&v, zi, p);
	sweep_note_next(s, v.next);
	plan_run(s, run, p, now, NULL);
}

/*
 * Oldest first until the zone is back within max_size and max_files, with
 * room for want more bytes (and one more file) when want is not NULL: a
 * reservation, which leaves the zone's episode alone and returns its tally.
 */
static void pass_quota(struct sweep *s, struct sweep_run *run, struct sweep_plan *p, size_t zi,
		       int64_t now, const uint64_t *want, struct sweep_tally *wt)
{
	const struct zone_config *zc = &s->eng.cfg->zones[zi];
	struct table_zone *tz = table_zone(s->eng.table, zi);
	struct sweep_zone *sz = &s->zones[zi];
	struct policy_excess ex = want ? policy_zone_excess(zc, tz->bytes + *want, tz->files + 1)
				       : policy_zone_excess(zc, tz->bytes, tz->files);
	struct sweep_view v = sweep_view_at(s, run, now);
	struct sweep_tally t = { 0 };
	uint64_t bytes;
	char what[128];

	snprintf(what, sizeof(what), "zone \"%s\"", zc->name);
	if (!ex.bytes && !ex.files && !want) {
		sweep_say_episode(&sz->ep, what, false, NULL, 0, s->eng.counters);
		return;
	}
	if (!want && sz->ep.active && !run->manual && sz->changes == tz->changes &&
	    now < sz->retry_at)
		return;
	bytes = sweep_plan_quota(&v, zi, ex, p, &t);
	sweep_note_next(s, v.next);
	if (p->more) {
		plan_run(s, run, p, now, NULL);
		return;
	}
	plan_run(s, run, p, now, &t);
	if (want) {
		*wt = t;
		return;
	}
	if (run->dry && !run->mark)
		return;
	/* Files on their way: judged once they are in (the last one brings a pass). */
	if (!run->dry && sweep_inflight(s))
		return;
	/* What is left over the limits after this pass is out of reach, for now. */
	ex = policy_zone_excess(zc, tz->bytes, tz->files);
	if (run->dry)
		ex.bytes = ex.bytes > bytes ? ex.bytes - bytes : 0;
	/* Out of reach: the bytes over max_size, or what the files over max_files hold. */
	sweep_say_episode(&sz->ep, what, ex.bytes || (ex.files && !run->dry), tally_why(s, &t),
		ex.bytes ? ex.bytes : t.writing + t.young + t.held, s->eng.counters);
	sz->changes = tz->changes;
	sz->retry_at = now + SWEEP_RETRY_S;
}

static uint64_t fs_changes(struct sweep *s, const struct sweep_fs *fs)
{
	uint64_t c = 0;

	for (size_t i = 0; i < s->eng.cfg->n_zones; i++)
		if (sweep_plan_zone_on(s->eng.table, i, fs->dev))
			c += table_zone(s->eng.table, i)->changes;
	return c;
}

/*
 * Frees need bytes on a filesystem, in the disk pass's order: a same-fs
 * archive's own files first, then the zones' files by priority and age.
 */
static void free_on_fs(struct sweep *s, struct sweep_run *run, struct sweep_plan *p,
		       struct sweep_fs *fs, uint64_t need, int64_t now, struct sweep_tally *t)
{
	struct archive *a = s->eng.archive;
	bool same = a && archive_dev(a) == fs->dev;
	uint64_t freed = same ? s->purging : 0, planned = 0;
	struct archive_index *ix = a ? archive_entries(a) : NULL;
	struct sweep_view v;

	for (struct archive_entry *e = same && !run->dry && !sweep_purges_wait(s, run, now)
					       ? archive_index_next(ix, NULL)
					       : NULL;
	     e && freed < need; e = archive_index_next(ix, e))
		if (sweep_purge_entry(s, run, e, REASON_DISK_HIGH, now))
			freed += e->stored;
	if (freed >= need)
		return;
	planned = run->dry ? 0 : fs->inflight;
	v = sweep_view_at(s, run, now);
	sweep_plan_disk(&v, fs->dev, need - freed, p, &planned, t);
	sweep_note_next(s, v.next);
	/* What goes into a same-fs archive under pressure is purged as it arrives (act_result). */
	plan_run(s, run, p, now, t);
}

/*
 * Above the high mark: free space until used is at or under the low mark.
 * An archive on the same filesystem frees nothing by archiving: its own
 * files go first (oldest first, even inside their review window), and a
 * file archived there under pressure is purged at once.
 */
static void pass_disk(struct sweep *s, struct sweep_run *run, struct sweep_plan *p, int64_t now)
{
	const struct config *cfg = s->eng.cfg;

	for (size_t k = 0; k < s->n_fs; k++) {
		struct sweep_fs *fs = &s->fs[k];
		struct sweep_tally t = { 0 };
		uint64_t need;
		struct fsinfo fi;
		char what[300];

		if (fsinfo_get(fs->probe, &fi) < 0 || fi.dev != fs->dev)
			continue;
		snprintf(what, sizeof(what), "filesystem %s", fi.mount);
		if (!policy_disk_pressure(cfg->disk_high, cfg->disk_low, fi.used + fi.free, fi.used,
					  fs->pressure, &need)) {
			if (fs->pressure)
				log_info("%s: %.1f%% used, at or under the low mark (%g%%)", fi.mount,
					 fi.used_pct, cfg->disk_low);
			fs->pressure = false;
			sweep_say_episode(&fs->ep, what, false, NULL, 0, s->eng.counters);
			continue;
		}
		if (!fs->pressure)
			log_warn("%s: %.1f%% used, above the high mark (%g%%): freeing %llu bytes",
				 fi.mount, fi.used_pct, cfg->disk_high, (unsigned long long)need);
		fs->pressure = true;
		if (fs->ep.active && !run->manual && fs->changes == fs_changes(s, fs) &&
		    now < fs->retry_at)
			continue;
		free_on_fs(s, run, p, fs, need, now, &t);
		if (p->more || (!run->dry && sweep_inflight(s)))
			continue; /* judged once the files on their way are in */
		if (fsinfo_get(fs->probe, &fi) == 0 &&
		    policy_disk_pressure(cfg->disk_high, cfg->disk_low, fi.used + fi.free, fi.used,
					 true, &need) &&
		    !run->dry) {
			sweep_say_episode(&fs->ep, what, true, tally_why(s, &t), need,
					  s->eng.counters);
			fs->changes = fs_changes(s, fs);
			fs->retry_at = now + SWEEP_RETRY_S;
		} else if (!run->dry) {
			sweep_say_episode(&fs->ep, what, false, NULL, 0, s->eng.counters);
		}
	}
}

/* A run is over: what a dry run picked may be picked again. */
static void run_end(struct sweep *s)
{
	for (size_t i = 0; i < s->n_dry; i++)
		s->dry[i]->flags &= ~TF_PICKED;
	s->n_dry = 0;
	s->running = false;
}

struct sweep_fs *sweep_fs_of(struct sweep *s, uint64_t dev)
{
	for (size_t k = 0; k < s->n_fs; k++)
		if (s->fs[k].dev == dev)
			return &s->fs[k];
	return NULL;
}

/*
 * The filesystems that hold a zone whose root is there, each once; one keeps
 * its state while some zone is still on it. Made again whenever a root comes
 * or goes (a zone that appears, a root mounted over): its disk is watched too.
 */
static int fs_rebuild(struct sweep *s)
{
	const struct config *cfg = s->eng.cfg;
	struct sweep_fs *fs = calloc(cfg->n_zones + 1, sizeof(*fs));
	size_t n_fs = 0;

	if (!fs)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->n_zones; i++) {
		struct table_zone *tz = table_zone(s->eng.table, i);
		bool known = false;

		if (!tz->root)
			continue;
		for (size_t k = 0; k < n_fs; k++)
			known |= fs[k].dev == tz->root->dev;
		if (known)
			continue;
		fs[n_fs] = (struct sweep_fs){ .dev = tz->root->dev };
		for (size_t k = 0; k < s->n_fs; k++)
			if (s->fs[k].dev == tz->root->dev)
				fs[n_fs] = s->fs[k];
		fs[n_fs++].probe = cfg->zones[i].path;
	}
	free(s->fs);
	s->fs = fs;
	s->n_fs = n_fs;
	s->roots_gen = watch_roots_gen(s->eng.watch);
	return 0;
}

/* Before a pass: the filesystems as the zone roots are now. */
static void fs_current(struct sweep *s)
{
	if (s->roots_gen != watch_roots_gen(s->eng.watch) && fs_rebuild(s) < 0)
		log_err("out of memory: the disks of zones that appeared are not watched yet");
}

/*
 * What is still missing for the reservation: over the zone's limits, over
 * the high mark. A dry run moves nothing: gone and freed say what it would.
 */
static void reserve_missing(struct sweep *s, struct sweep_reserve *r, uint64_t gone_bytes,
			    uint64_t gone_files, uint64_t freed)
{
	const struct zone_config *zc = &s->eng.cfg->zones[r->zone];
	struct table_zone *tz = table_zone(s->eng.table, r->zone);
	struct sweep_fs *fs = tz->root ? sweep_fs_of(s, tz->root->dev) : NULL;
	struct policy_excess ex = policy_zone_excess(zc, tz->bytes + r->bytes, tz->files + 1);
	struct fsinfo fi;

	r->zone_missing = ex.bytes > gone_bytes ? ex.bytes - gone_bytes : 0;
	r->files_missing = ex.files > gone_files ? ex.files - gone_files : 0;
	r->disk_missing = 0;
	if (fs && fsinfo_get(fs->probe, &fi) == 0 && fi.dev == fs->dev) {
		uint64_t need = policy_disk_room(s->eng.cfg->disk_high, fi.used + fi.free, fi.used,
						 r->bytes);
		r->disk_missing = need > freed ? need - freed : 0;
	}
}

void sweep_reserve(struct sweep *s, struct sweep_run *run, struct sweep_reserve *r)
{
	struct table_zone *tz = table_zone(s->eng.table, r->zone);
	struct sweep_fs *fs;
	uint64_t start = run->freed, gone = 0;
	struct sweep_plan p = { 0 };
	struct sweep_tally t = { 0 };
	int64_t now = sweep_now();
	size_t picked;

	if (s->running)
		return;
	s->running = true;
	fs_current(s);
	fs = tz->root ? sweep_fs_of(s, tz->root->dev) : NULL;
	do {
		uint64_t done = run->count;

		p.more = false;
		pass_quota(s, run, &p, r->zone, now, &r->bytes, &t);
		if (!run->dry)
			drain_own(s);
		/* A full batch that all changed under us: stop, the next attempt sees it. */
		p.more &= run->count > done;
	} while (p.more);
	picked = s->n_dry;
	for (size_t i = 0; i < picked; i++)
		gone += s->dry[i]->size;
	reserve_missing(s, r, gone, picked, run->freed - start);
	if (r->disk_missing && fs) {
		uint64_t need = r->disk_missing, from = run->freed;
		do {
			uint64_t done = run->count;

			p.more = false;
			free_on_fs(s, run, &p, fs, need - (run->freed - from), now, &t);
			if (!run->dry)
				drain_own(s);
			p.more &= run->count > done;
		} while (p.more && run->freed - from < need);
		reserve_missing(s, r, gone, picked, run->dry ? run->freed - start : 0);
	}
	r->why = tally_why(s, &t);
	free(p.v);
	run_end(s);
}

/* The review window (keep), then the archive's max_size, oldest first. */
static void pass_archive(struct sweep *s, struct sweep_run *run, int64_t now)
{
	const struct config *cfg = s->eng.cfg;
	struct archive_index *ix;
	struct archive_entry *e;
	uint64_t over;

	if (!s->eng.archive || run->zone >= 0)
		return;
	ix = archive_entries(s->eng.archive);
	sweep_pass_remote(s, run, now);
	if (run->dry) {
		/* Nothing moves: report what would go, in order, without removing it. */
		over = cfg->archive_max_size != CONFIG_UNSET && ix->stored > (uint64_t)cfg->archive_max_size
			       ? ix->stored - (uint64_t)cfg->archive_max_size
			       : 0;
		for (e = archive_index_next(ix, NULL); e; e = archive_index_next(ix, e)) {
			bool keep = policy_archive_due(cfg->archive_keep, e->archived_at) <= now;
			if (!keep && !over)
				break;
			if (run->mark && e->reported) {
				over = over > e->stored ? over - e->stored : 0;
				continue;
			}
			sweep_purge_entry(s, run, e, keep ? REASON_ARCHIVE_KEEP : REASON_ARCHIVE_MAX_SIZE, now);
			e->reported = run->mark;
			over = over > e->stored ? over - e->stored : 0;
		}
		return;
	}
	if (sweep_purges_wait(s, run, now))
		return;
	/* Counted again by this pass: what is due to go up and still here (sweep_upload_entry). */
	s->remote.waiting_files = s->remote.waiting_bytes = s->remote.waiting_failed = 0;
	/* Oldest first; what is on its way out counts as gone (its result brings a pass). */
	for (e = archive_index_next(ix, NULL);
	     e && policy_archive_due(cfg->archive_keep, e->archived_at) <= now;
	     e = archive_index_next(ix, e))
		sweep_purge_entry(s, run, e, REASON_ARCHIVE_KEEP, now);
	for (e = archive_index_next(ix, NULL);
	     e && cfg->archive_max_size != CONFIG_UNSET &&
	     ix->stored - s->purging > (uint64_t)cfg->archive_max_size;
	     e = archive_index_next(ix, e))
		sweep_purge_entry(s, run, e, REASON_ARCHIVE_MAX_SIZE, now);
	/* Uploads fail while some file waits after a failure: the alarm lasts that long. */
	s->remote.failing = s->remote.waiting_failed > 0;
	for (e = archive_index_next(ix, NULL); e && e->busy; e = archive_index_next(ix, e))
		;
	if (e)
		sweep_note_next(s, policy_archive_due(cfg->archive_keep, e->archived_at));
}

static void arm(struct sweep *s, int64_t now)
{
	ev_periodic_stop(s->eng.loop, &s->deadline);
	if (s->next == POLICY_NEVER)
		return;
	ev_periodic_set(&s->deadline, (ev_tstamp)(s->next > now ? s->next : now + 1), 0, 0);
	ev_periodic_start(s->eng.loop, &s->deadline);
}

/*
 * How many more files may go to lane now: one batch (SWEEP_BATCH) out in each
 * lane at a time, so that the queue, and what it holds, stay bounded however
 * many files fall due at once; a lane that drains brings a pass.
 */
static size_t lane_room(const struct sweep *s, enum mover_lane lane)
{
	return s->inflight_lane[lane] < SWEEP_BATCH ? SWEEP_BATCH - s->inflight_lane[lane] : 0;
}

/* Room in the lanes the sweeper fills: a batch in each at most. */
static size_t batch_room(const struct sweep *s)
{
	size_t a = lane_room(s, MOVER_ARCHIVE), q = lane_room(s, MOVER_QUICK);

	return a > q ? a : q;
}

/*
 * Zone i's pass: wanted by run, and its batch limit into p, the room left in
 * the lane its files go by (every file of a zone goes by one: deletes and
 * renames quick, copies archive). A zone whose lane is full (a batch of long
 * copies out) waits for it (more), and the others go on meanwhile.
 */
static bool zone_limit(struct sweep *s, const struct sweep_run *run, size_t i,
		       struct sweep_plan *p, bool *more)
{
	const struct table_zone *tz = table_zone(s->eng.table, i);

	if (!zone_wanted(run, i))
		return false;
	p->more = false;
	/* A dry run sends nothing to the mover: one pass, not a pass per batch over all before. */
	p->limit = run->dry ? SIZE_MAX
		   : tz->root ? lane_room(s, sweep_lane(s, (uint32_t)i, tz->root->dev))
			      : batch_room(s);
	if (!p->limit)
		*more = true;
	return p->limit > 0;
}

/* The disk pass's batch limit into p; false when no room is left (a dry run has all). */
static bool batch_limit(const struct sweep *s, const struct sweep_run *run,
			struct sweep_plan *p)
{
	p->limit = run->dry ? SIZE_MAX : batch_room(s);
	return p->limit > 0;
}

void sweep_all(struct sweep *s, struct sweep_run *run)
{
	struct sweep_plan p = { 0 };
	int64_t now = sweep_now();
	bool more;

	if (s->running)
		return;
	if (!run->dry && !batch_room(s))
		return; /* a full batch is out: its last result brings a pass */
	s->running = true;
	sweep_fail_log_flush(s, now);
	if (!run->dry)
		emptied_prune_young(s->emptied, s->eng.watch, s->eng.table, s->eng.cfg, now);
	else if (run->manual && s->archive_full.active && !run->archive_full)
		run->archive_full = strdup(s->full_why); /* what is due would stay, now */
	fs_current(s);
	do {
		uint64_t done = run->count;

		s->next = POLICY_NEVER;
		more = false;
		for (size_t i = 0; i < s->eng.cfg->n_zones; i++)
			if (zone_limit(s, run, i, &p, &more)) {
				pass_due(s, run, &p, i, now);
				more |= p.more;
			}
		for (size_t i = 0; i < s->eng.cfg->n_zones; i++)
			if (zone_limit(s, run, i, &p, &more)) {
				pass_quota(s, run, &p, i, now, NULL, NULL);
				more |= p.more;
			}
		p.more = !batch_limit(s, run, &p);
		if (!p.more)
			pass_disk(s, run, &p, now);
		more |= p.more;
		pass_archive(s, run, now);
		if (!run->dry)
			drain_own(s);
		now = sweep_now();
		if (more && !run->dry && sweep_inflight(s)) {
			run->more = true; /* the next batch once this one is in */
			more = false;
		}
		/* A full batch of files that all changed under us: their events come first. */
		more &= run->count > done;
	} while (more);
	free(p.v);
	run_end(s);
	if (!run->dry)
		s->last_run = now;
	if (!run->manual || !run->dry)
		arm(s, now);
}

int64_t sweep_last_run(const struct sweep *s)
{
	return s->last_run;
}

void sweep_due(struct sweep *s)
{
	struct sweep_run run = { .dry = s->eng.dry_run, .mark = s->eng.dry_run, .zone = -1 };

	if (*s->eng.paused)
		return;
	sweep_all(s, &run);
}

/* The last job is in: our own events taken in, then what is due now. */
static void on_again(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sweep *s = w->data;

	(void)loop;
	(void)revents;
	watch_take_queued(s->eng.watch);
	sweep_due(s);
}

static void on_deadline(struct ev_loop *loop, ev_periodic *w, int revents)
{
	(void)loop;
	(void)revents;
	sweep_due(w->data);
}

void sweep_housekeeping(struct sweep *s)
{
	int64_t writes = 0, reads = 0, now = sweep_now();

	for (size_t i = 0; i < s->eng.cfg->n_zones; i++) {
		if (s->eng.cfg->zones[i].min_age > writes)
			writes = s->eng.cfg->zones[i].min_age;
		if (s->eng.cfg->zones[i].max_idle > reads)
			reads = s->eng.cfg->zones[i].max_idle;
	}
	table_prune_seen(s->eng.table, now - writes - 1, now - reads - 1);
	sweep_due(s);
}

void sweep_purge(struct sweep *s, int64_t older_than, struct sweep_run *run)
{
	int64_t now = sweep_now();
	struct archive_index *ix;
	struct archive_entry *e;

	if (!s->eng.archive)
		return;
	ix = archive_entries(s->eng.archive);
	if (older_than >= 0) {
		for (e = archive_index_next(ix, NULL); e && e->archived_at <= now - older_than;
		     e = archive_index_next(ix, e))
			sweep_purge_entry(s, run, e, REASON_MANUAL, now);
	}
	pass_archive(s, run, now);
	if (!run->dry)
		arm(s, now);
}

/*
 * Per-zone and per-filesystem state for cfg's zones: zone j keeps
 * the state of old zone old_of_new[j] (none when -1, or no old state).
 */
int sweep_reconfigure(struct sweep *s, const struct config *cfg, const int *old_of_new)
{
	struct sweep_zone *zones = calloc(cfg->n_zones + 1, sizeof(*zones));

	s->eng.cfg = cfg;
	if (!zones)
		goto nomem;
	for (size_t i = 0; i < cfg->n_zones; i++) {
		if (old_of_new && old_of_new[i] >= 0)
			zones[i] = s->zones[old_of_new[i]];
		if (cfg->zones[i].max_idle != CONFIG_UNSET &&
		    table_zone_track_use(s->eng.table, i) < 0)
			goto nomem;
	}
	if (fs_rebuild(s) < 0)
		goto nomem;
	free(s->zones);
	s->zones = zones;
	s->gen++; /* queued jobs find their zone by name */
	return 0;
nomem:
	free(zones);
	return -ENOMEM;
}

struct sweep *sweep_create(const struct engine_parts *parts)
{
	struct sweep *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->eng = *parts;
	s->held = u64map_create();
	s->emptied = emptied_create();
	s->failed = u64map_create();
	if (!s->held || !s->emptied || !s->failed || sweep_reconfigure(s, parts->cfg, NULL) < 0) {
		sweep_destroy(s);
		return NULL;
	}
	ev_periodic_init(&s->deadline, on_deadline, 0, 0, 0);
	s->deadline.data = s;
	ev_timer_init(&s->again, on_again, 0., 0.);
	s->again.data = s;
	return s;
}

void sweep_destroy(struct sweep *s)
{
	if (!s)
		return;
	if (s->eng.loop) {
		ev_periodic_stop(s->eng.loop, &s->deadline);
		ev_timer_stop(s->eng.loop, &s->again);
	}
	u64map_destroy(s->failed);
	free(s->zones);
	free(s->dry);
	free(s->fs);
	u64map_destroy(s->held);
	emptied_destroy(s->emptied);
	for (size_t i = 0; i < s->n_arriving; i++)
		free(s->arriving[i]);
	free(s->arriving);
	free(s);
}
