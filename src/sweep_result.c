#include "sweep.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "counters.h"
#include "emptied.h"
#include "log.h"
#include "pathenc.h"
#include "purge_job.h"
#include "sweep_job.h"
#include "sweep_priv.h"
#include "table.h"
#include "units.h"
#include "watch.h"

/*
 * The last job of a waited-on run whose batch was full is in: the next batch
 * joins the run (with our own events in first), so its maker's answer has it too.
 */
static void next_batch(struct sweep *s, struct sweep_run *run)
{
	if (!run || run->refs != 1 || !run->more || s->running || *s->eng.paused)
		return;
	run->more = false;
	watch_take_queued(s->eng.watch);
	sweep_all(s, run);
}

/*
 * An action of run's that failed, with why (a sentence, said of the file), to
 * its failed list when someone asked for it: a sweep's reply tells what did
 * not happen as well as what did.
 */
void sweep_run_failed(struct sweep_run *run, int64_t now, const char *action, const char *zone,
		       const char *path, uint64_t bytes, enum policy_reason why, const char *error)
{
	json_object *o;

	if (!run || !run->failed)
		return;
	o = audit_entry(now, action, zone, path, bytes, why, false, NULL);
	json_object_object_add(o, "error", pathenc_json(error));
	json_object_array_add(run->failed, o);
}

/* The archive refused run, as the sweeper says it now: kept for its reply. */
static void run_archive_full(const struct sweep *s, struct sweep_run *run)
{
	if (run && run->failed && !run->archive_full)
		run->archive_full = strdup(s->full_why);
}

static void act_done(struct mover_job *mj, bool cancelled);
static void purge_done(struct mover_job *mj, bool cancelled);

enum mover_lane sweep_lane(const struct sweep *s, uint32_t zi, uint64_t dev)
{
	/* A copy to another filesystem is long; a delete or a rename is not. */
	return s->eng.cfg->zones[zi].action == ACTION_DELETE || !s->eng.archive ||
			       dev == archive_dev(s->eng.archive)
		       ? MOVER_QUICK
		       : MOVER_ARCHIVE;
}

/*
 * Acts on one file: a job for the mover, which checks it again through its
 * directory (same inode, not open for writing, not written within min_age)
 * under a read lease, then archives or deletes it. A dry run only reports.
 */
static enum act_result act_on(struct sweep *s, struct sweep_run *run, struct table_file *f,
			      uint32_t zi, enum policy_reason why, int64_t now, const char *path,
			      const char *rel)
{
	const struct engine_parts *eng = &s->eng;
	const struct zone_config *zc = &eng->cfg->zones[zi];
	bool del = zc->action == ACTION_DELETE;
	uint64_t bytes = f->size, disk = (f->flags & TF_LINKED) ? 0 : f->blocks * 512;
	struct sweep_fs *fs;
	struct sweep_job *j;

	if (run->dry) {
		if (sweep_run_lists(run))
			sweep_report(s, run, audit_entry(now, del ? "delete" : "archive", zc->name,
						   path, bytes, why, true, NULL));
		if (run->mark)
			f->flags |= TF_REPORTED;
		run->count++;
		run->freed += disk;
		return ACT_DONE;
	}
	if (!del && !eng->archive)
		return ACT_FAILED; /* refused by the config check: no archive, no archiving */
	if (!del && !sweep_archive_may_try(s, run, now)) {
		sweep_run_failed(run, now, "archive", zc->name, path, bytes, why,
			   "not tried: the archive is full (it refused this sweep already); it "
			   "stays in its zone");
		run_archive_full(s, run);
		return ACT_FULL;
	}
	if (!del && s->zones[zi].arch_why[0] && !run->manual && now < s->zones[zi].arch_retry_at)
		return ACT_MISDIR;
	j = sweep_job_new(zc->path, zc->name, rel, path, f->dir->dev, f->ino);
	if (!j)
		return ACT_FAILED;
	j->mj.lane = sweep_lane(s, zi, f->dir->dev);
	j->mj.action = del ? "delete" : "archive";
	/* What its copy moves: the data it holds, not the holes of a sparse file. */
	j->mj.bytes = units_data_bytes(bytes, f->blocks);
	j->mj.run = sweep_job_run;
	j->mj.done = act_done;
	j->archive = del ? NULL : eng->archive;
	j->aopts.compress = (int)eng->cfg->archive_compress;
	j->aopts.level = eng->cfg->archive_level;
	j->written = table_file_last_write(eng->table, f);
	j->min_age = zc->min_age;
	j->e.reason = why;
	j->owner = s;
	j->run = run->refs ? run : NULL;
	sweep_run_hold(j->run);
	j->zone = zi;
	j->gen = s->gen;
	j->size = bytes;
	j->disk = disk;
	j->queued_at = now;
	watch_self_open(eng->watch, f, true); /* counted before the worker's open can be seen */
	s->inflight_lane[j->mj.lane]++;
	/* Its event may take it out of the table before its blocks are free: counted here. */
	if ((fs = sweep_fs_of(s, f->dir->dev)))
		fs->inflight += disk;
	mover_submit(eng->mover, &j->mj);
	return ACT_QUEUED;
}

/* The job's zone now: its index, looked up by name after a reload; -1 when it went. */
static int job_zone(const struct sweep *s, const struct sweep_job *j)
{
	return j->gen == s->gen ? (int)j->zone : config_zone_index(s->eng.cfg, j->e.zone);
}

/* The mover's answer, taken in: what the table, counters, episodes and audit learn. */
static enum act_result act_result(struct sweep *s, struct sweep_job *j, int zi,
				  struct table_file *f, int64_t now)
{
	const struct engine_parts *eng = &s->eng;
	bool del = !j->archive;
	struct archive_entry *ae = NULL;
	struct table_dir *dir;
	const char *path = j->mj.path, *action = del ? "delete" : "archive";
	char why[300];
	int r = j->r;

	if (r == SWEEP_JOB_WRITING || r == -EBUSY) {
		if (f)
			table_file_set_writing(eng->table, f, true);
		return ACT_WRITING;
	}
	if (r == SWEEP_JOB_YOUNG) {
		if (f)
			table_file_note_write(eng->table, f, f->mtime > now ? f->mtime : now);
		return ACT_YOUNG;
	}
	if (r == -ECANCELED)
		return ACT_CANCELLED;
	if (r == -ENOSPC || r == -EDQUOT) {
		if (j->run)
			j->run->archive_refused = true;
		sweep_archive_room(s, r, now);
		sweep_run_failed(j->run, now, action, j->e.zone, path, j->size, j->e.reason,
			   r == -EDQUOT ? "the archive is over its owner's disk quota: it stays in "
					  "its zone"
					: "the archive is full: it stays in its zone");
		run_archive_full(s, j->run);
		return ACT_FULL;
	}
	if (r == -ENOENT || r == -ESTALE)
		return ACT_GONE;
	if (!del && zi >= 0 && (r == -EACCES || r == -ENOTDIR || r == -ELOOP)) {
		sweep_archive_misdir(s, (uint32_t)zi, r, now);
		sweep_run_failed(j->run, now, action, j->e.zone, path, j->size, j->e.reason,
			   s->zones[zi].arch_why);
		return ACT_MISDIR;
	}
	if (r == -ENAMETOOLONG && !del) {
		eng->counters->errors++;
		if (sweep_fail_log(s, sweep_fail_for_now(s, &j->mj, true, now), now))
			log_err("%s: cannot archive it: its path in the archive %s/%s would be longer "
				"than PATH_MAX (%d bytes); it stays in its zone, counted; move it higher "
				"up or give the zone action = \"delete\"",
				path, archive_path(eng->archive), j->e.zone, PATH_MAX);
		sweep_run_failed(j->run, now, action, j->e.zone, path, j->size, j->e.reason,
			   "its path in the archive would be longer than PATH_MAX: it stays in its "
			   "zone; move it higher up or give the zone action = \"delete\"");
		return ACT_TOO_DEEP;
	}
	if (r < 0) {
		eng->counters->errors++;
		if (sweep_fail_log(s, sweep_fail_for_now(s, &j->mj, false, now), now))
			log_err("%s: cannot %s it: %s; it stays where it is and is tried again later "
				"(in %d s, then twice as long after each failure in a row): set that "
				"right in the zone%s%s",
				path, del ? "delete" : "archive", strerror(-r), SWEEP_RETRY_S,
				del ? "" : " or in the archive ", del ? "" : archive_path(eng->archive));
		snprintf(why, sizeof(why), "%s: it stays where it is, tried again later (the log "
			 "says more)", strerror(-r));
		sweep_run_failed(j->run, now, action, j->e.zone, path, j->size, j->e.reason, why);
		return ACT_FAILED;
	}
	if (j->writer_at_delete)
		log_warn("%s: a writer opened it as it was deleted", path);
	sweep_fail_forget(s, &j->mj);
	if (!del) {
		sweep_archive_room(s, 0, now);
		if (zi >= 0)
			sweep_archive_misdir(s, (uint32_t)zi, 0, now);
		ae = archive_commit(eng->archive, &j->e);
		if (!ae) {
			eng->counters->errors++;
			log_err("%s: archived as %s, but out of memory for its index entry: it is "
				"indexed again at the next start", path, j->e.apath);
		}
	}
	dir = f ? f->dir : zi >= 0 ? table_dir_find(eng->table, (size_t)zi, j->dir_rel) : NULL;
	if (dir && j->dir_known)
		emptied_removed_in(s->emptied, dir,
				   emptied_user_mtime(s->emptied, dir, &j->dir_before), &j->dir_after,
				   now);
	if (f)
		table_file_remove(eng->table, f);
	if (del)
		eng->counters->deleted++;
	else
		eng->counters->archived++;
	eng->counters->bytes_freed += j->disk;
	if (j->run) {
		j->run->count++;
		j->run->freed += j->disk;
	}
	sweep_report(s, j->run, audit_entry(now, del ? "delete" : "archive", j->e.zone, path, j->size,
				      j->e.reason, false, j->e.apath));
	if (dir && zi >= 0 && eng->cfg->zones[zi].prune_empty_dirs)
		emptied_prune(s->emptied, eng->watch, &eng->cfg->zones[zi], dir, now);
	/* Archived under disk pressure onto the filesystem that is short: gone at once. */
	if (ae && j->e.reason == REASON_DISK_HIGH && archive_dev(eng->archive) == j->mj.dev)
		sweep_purge_entry(s, j->run, ae, REASON_DISK_HIGH, now);
	return ACT_DONE;
}

/*
 * A job of the sweeper's is in (its result applied). The last one in: what the
 * results leave due (a next batch, a target still missed, files that could not
 * go) is looked at now, with our own events in.
 */
void sweep_job_in(struct sweep *s, struct sweep_run *run, enum mover_lane lane)
{
	next_batch(s, run);
	sweep_run_release(run);
	s->inflight_lane[lane]--;
	/* A lane drained: what waited for room in it goes now, whatever the others hold. */
	if (!s->inflight_lane[lane] && !*s->eng.paused &&
	    !ev_is_active(&s->again)) {
		ev_timer_set(&s->again, 0., 0.);
		ev_timer_start(s->eng.loop, &s->again);
	}
}

static void act_done(struct mover_job *mj, bool cancelled)
{
	struct sweep_job *j = (struct sweep_job *)mj;
	struct sweep *s = j->owner;
	int64_t now = sweep_now();
	int zi = job_zone(s, j);
	struct table_file *f = zi >= 0 ? table_file_find(s->eng.table, (size_t)zi, j->rel, mj->ino)
				       : NULL;
	struct sweep_fs *fs = sweep_fs_of(s, mj->dev);
	enum act_result r = ACT_CANCELLED;

	if (fs)
		fs->inflight -= fs->inflight < j->disk ? fs->inflight : j->disk;
	if (f && (cancelled || !j->opened))
		watch_self_open(s->eng.watch, f, false); /* no event of ours will come */
	if (!cancelled)
		r = act_result(s, j, zi, f, now);
	(void)r;
	sweep_job_in(s, j->run, j->mj.lane);
	sweep_job_free(j);
}

/* act_on() with the file's paths on the heap: a tree may be deeper than PATH_MAX. */
enum act_result sweep_act(struct sweep *s, struct sweep_run *run, struct table_file *f,
			   uint32_t zi, enum policy_reason why, int64_t now)
{
	const struct zone_config *zc = &s->eng.cfg->zones[zi];
	char *rel = table_file_relpath_dup(f), *path = NULL;
	enum act_result r = ACT_FAILED;

	if (rel && asprintf(&path, "%s/%s", strcmp(zc->path, "/") ? zc->path : "", rel) >= 0) {
		r = act_on(s, run, f, zi, why, now, path, rel);
		free(path);
	}
	free(rel);
	return r;
}

void sweep_dry_entry(struct sweep *s, struct sweep_run *run, const char *action,
		     const struct archive_entry *e, enum policy_reason why, int64_t now)
{
	if (sweep_run_lists(run))
		sweep_report(s, run, audit_entry(now, action, e->zone, e->path, e->bytes, why, true,
					   e->apath));
	run->count++;
}

/*
 * An entry's file to be removed for good: a job of the mover (or, dry,
 * reported). false when it cannot go now (being restored or purged already, or
 * out of memory): a pass skips it. Its bytes count as freed while it is out.
 */
bool sweep_purge_entry(struct sweep *s, struct sweep_run *run, struct archive_entry *e,
			enum policy_reason why, int64_t now)
{
	struct purge_job *j;

	if (s->eng.cfg->remote && !e->remote && why != REASON_MANUAL)
		return sweep_upload_entry(s, run, e, why, now); /* it goes to the bucket instead */
	if (run && run->dry) {
		sweep_dry_entry(s, run, "purge", e, why, now);
		return true;
	}
	if (e->busy || !(j = purge_job_new(s->eng.archive, e->id, e->apath, e->zone, e->path)))
		return false;
	j->mj.bytes = e->stored;
	j->mj.done = purge_done;
	j->bytes = e->bytes;
	j->stored = e->stored;
	j->why = why;
	j->owner = s;
	j->run = sweep_entry_job_out(s, run, e, &j->mj, true);
	return true;
}

struct sweep_run *sweep_entry_job_out(struct sweep *s, struct sweep_run *run,
				      struct archive_entry *e, struct mover_job *mj, bool frees)
{
	run = run && run->refs ? run : NULL;
	sweep_run_hold(run);
	e->busy = true;
	if (frees)
		s->purging += e->stored;
	s->inflight_lane[mj->lane]++;
	mover_submit(s->eng.mover, mj);
	return run;
}

/*
 * A purge's result: the entry out of the index, counted and audited; a failure
 * (a read-only or broken archive) leaves it indexed, and automatic purges wait
 * SWEEP_RETRY_S, so that passes do not try the same entry again and again.
 */
static void purge_done(struct mover_job *mj, bool cancelled)
{
	struct purge_job *j = (struct purge_job *)mj;
	struct sweep *s = j->owner;
	struct archive_entry *e = archive_index_get(archive_entries(s->eng.archive), j->id);
	int64_t now = sweep_now();
	char why[300];

	if (e)
		e->busy = false;
	s->purging -= s->purging < j->stored ? s->purging : j->stored;
	if (!cancelled && j->r < 0) {
		s->eng.counters->errors++;
		if (now >= s->purge_retry_at) /* once for the batch that failed */
			log_err("archive: cannot purge %s: %s; it stays in the archive, and purges "
				"are tried again in %d s",
				mj->path, strerror(-j->r), SWEEP_RETRY_S);
		s->purge_retry_at = now + SWEEP_RETRY_S;
		snprintf(why, sizeof(why), "%s: it stays in the archive", strerror(-j->r));
		sweep_run_failed(j->run, now, "purge", j->zone, j->origin, j->bytes, j->why, why);
	} else if (!cancelled) {
		archive_forget(s->eng.archive, j->id);
		s->eng.counters->purged++;
		s->eng.counters->bytes_freed += j->stored;
		if (j->run) {
			j->run->count++;
			j->run->freed += j->stored;
		}
		sweep_report(s, j->run, audit_entry(now, "purge", j->zone, j->origin, j->bytes, j->why,
					      false, mj->path));
		sweep_archive_room(s, 0, now);
	}
	sweep_job_in(s, j->run, j->mj.lane);
	purge_job_free(j);
}

/* Automatic purges wait a while after one failed; an operator's go at once. */
bool sweep_purges_wait(struct sweep *s, const struct sweep_run *run, int64_t now)
{
	if (run->manual || run->dry || now >= s->purge_retry_at)
		return false;
	sweep_note_next(s, s->purge_retry_at);
	return true;
}
