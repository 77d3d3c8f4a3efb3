#include "sweep.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "archive.h"
#include "audit.h"
#include "daemon.h"
#include "emptied.h"
#include "fsinfo.h"
#include "lease.h"
#include "log.h"
#include "mover.h"
#include "policy.h"
#include "purge_job.h"
#include "sweep_job.h"
#include "sweep_plan.h"
#include "table.h"
#include "u64map.h"
#include "units.h"
#include "vec.h"
#include "watch.h"

/* A blocked target is looked at again on changes, or after this long. */
#define SWEEP_RETRY_S 30
#define SWEEP_HOLD_DEFAULT_S 86400

struct sweep_fs {
	uint64_t dev;
	const char *probe; /* a zone path on it */
	bool pressure;
	uint64_t changes; /* of its zones, when last found blocked */
	int64_t retry_at;
	struct sweep_episode ep;
	uint64_t inflight; /* disk bytes of its files with the mover: freed once they are in */
};

struct sweep_zone {
	uint64_t changes;
	int64_t retry_at;
	struct sweep_episode ep;
	/* The zone's directory in the archive is not sweepd's own: why, and when to try again. */
	char arch_why[PATH_MAX + 400];
	int64_t arch_retry_at;
};

struct sweep {
	struct daemon *d;
	ev_periodic deadline;
	struct sweep_zone *zones;
	struct sweep_fs *fs;
	size_t n_fs;
	uint64_t roots_gen; /* the watcher's, when fs was made */
	struct u64map *held; /* (dev, ino) of restored files -> until when */
	struct emptied *emptied; /* the directories sweepd emptied, and their users' mtimes */
	struct sweep_episode archive_full;
	int64_t archive_retry_at;
	char full_why[PATH_MAX + 300]; /* what blocks files, while the archive is full */
	char full_self[PATH_MAX + 300]; /* the archive's own episode */
	char misdir_why[PATH_MAX + 400]; /* the last zone whose archive directory is not ours */
	bool running;
	int64_t next; /* the earliest deadline seen by the pass under way */
	int64_t last_run; /* when the last (real) pass ended */
	int64_t purge_retry_at; /* a purge failed: automatic ones wait until then */
	uint64_t purging; /* stored bytes of the archive's files on their way out */
	char **arriving; /* where restores are putting files: held before their inodes are known */
	size_t n_arriving, cap_arriving;
	struct table_file **dry; /* picked by the dry run under way */
	size_t n_dry, cap_dry;
	uint64_t gen;	    /* bumped by each reload: a job's zone index is looked up again */
	size_t inflight;    /* jobs queued and not done: passes judge episodes once they are */
	struct u64map *failed; /* (dev, ino) of files whose move failed -> when to try again */
	ev_timer again; /* a pass once the last job is in */
};

/*
 * Done, or why not: a writer, a recent write, a full archive, an archive
 * directory that is not sweepd's, gone, an error, a path too long to archive.
 */
enum act_result { ACT_DONE, ACT_QUEUED, ACT_WRITING, ACT_YOUNG, ACT_FULL, ACT_MISDIR, ACT_GONE,
		  ACT_FAILED, ACT_TOO_DEEP, ACT_CANCELLED };

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

static void note_next(struct sweep *s, int64_t when)
{
	if (when < s->next)
		s->next = when;
}

static uint64_t held_key(uint64_t dev, uint64_t ino)
{
	return (ino * 0x9e3779b97f4a7c15ULL ^ dev) | 1;
}

/* Is f at a path a restore is putting a file at? */
static bool arriving(const struct sweep *s, const struct table_file *f)
{
	const struct zone_config *zc = &s->d->cfg->zones[f->dir->zone];
	char *rel = table_file_relpath_dup(f), *path = NULL;
	bool yes = false;

	if (rel && asprintf(&path, "%s/%s", strcmp(zc->path, "/") ? zc->path : "", rel) >= 0)
		for (size_t i = 0; i < s->n_arriving && !yes; i++)
			yes = !strcmp(s->arriving[i], path);
	free(rel);
	free(path);
	return yes;
}

static bool is_held(struct sweep *s, const struct table_file *f, int64_t now)
{
	int64_t until;

	if (s->n_arriving && arriving(s, f))
		return true;
	if (!u64map_len(s->held))
		return false;
	until = (int64_t)(uintptr_t)u64map_get(s->held, held_key(f->dir->dev, f->ino));
	if (until && until <= now) {
		u64map_del(s->held, held_key(f->dir->dev, f->ino));
		return false;
	}
	return until != 0;
}

void sweep_hold(struct sweep *s, uint64_t dev, uint64_t ino)
{
	int64_t keep = s->d->cfg->archive_keep;
	int64_t until = now_s() + (keep == CONFIG_UNSET ? SWEEP_HOLD_DEFAULT_S : keep);

	u64map_put(s->held, held_key(dev, ino), (void *)(uintptr_t)until);
}

int sweep_hold_path(struct sweep *s, const char *path)
{
	char **v = vec_grow(s->arriving, &s->cap_arriving, s->n_arriving + 1, sizeof(*v));
	char *p = strdup(path);

	if (!v || !p) {
		free(p);
		return -ENOMEM;
	}
	s->arriving = v;
	s->arriving[s->n_arriving++] = p;
	return 0;
}

void sweep_unhold_path(struct sweep *s, const char *path)
{
	for (size_t i = 0; i < s->n_arriving; i++)
		if (!strcmp(s->arriving[i], path)) {
			free(s->arriving[i]);
			s->arriving[i] = s->arriving[--s->n_arriving];
			return;
		}
}

/* Sets an episode; 1 when one starts (or its cause changes), -1 when it ends, else 0. */
static int episode_set(struct sweep_episode *ep, bool blocked, const char *why, uint64_t bytes,
		       struct counters *c)
{
	int r = 0;

	if (blocked && (!ep->active || ep->why != why)) {
		c->blocked++;
		r = 1;
	} else if (!blocked && ep->active) {
		r = -1;
	}
	ep->active = blocked;
	ep->why = blocked ? why : NULL;
	ep->bytes = blocked ? bytes : 0;
	return r;
}

static void episode(struct sweep_episode *ep, const char *what, bool blocked, const char *why,
		    uint64_t bytes, struct counters *c)
{
	char sz[32];
	int r = episode_set(ep, blocked, why, bytes, c);

	if (r > 0)
		log_warn("%s: cannot reach its target, %s out of reach: %s", what,
			 units_format_size(bytes, sz, sizeof(sz)), why);
	else if (r < 0)
		log_info("%s: back within its limits", what);
}

static void report(struct sweep *s, struct sweep_run *run, json_object *entry)
{
	if (!run)
		audit_report(s->d->audit, NULL, entry);
	else if (run->unaudited && entry && run->actions)
		json_object_array_add(run->actions, entry);
	else
		audit_report(s->d->audit, run->actions, entry);
}

int sweep_file_path(const struct zone_config *zc, const struct table_file *f, char *buf,
		    size_t len, char *rel, size_t rlen)
{
	if (table_file_relpath(f, rel, rlen) < 0 ||
	    snprintf(buf, len, "%s/%s", strcmp(zc->path, "/") ? zc->path : "", rel) >= (int)len)
		return -ENAMETOOLONG;
	return 0;
}

/*
 * The archive full (err: -ENOSPC or -EDQUOT), or, with err 0, taking files
 * again. The sentences name the archive, its filesystem and its free room as
 * found now, and what an operator can do: the zones' and disks' episodes
 * blocked by it say the same.
 */
static void archive_room(struct sweep *s, int err, int64_t now)
{
	const char *path = s->d->cfg->archive_path, *todo;
	char where[PATH_MAX + 64], sz[32];
	struct fsinfo fi;
	int r;

	if (!err && !s->archive_full.active)
		return;
	if (err) {
		s->archive_retry_at = now + SWEEP_RETRY_S;
		s->d->counters.errors++;
		if (fsinfo_get(path, &fi) == 0)
			snprintf(where, sizeof(where), "its filesystem %s has %s free", fi.mount,
				 units_format_size(fi.free, sz, sizeof(sz)));
		else
			snprintf(where, sizeof(where), "its filesystem cannot be looked at");
		todo = err == -EDQUOT
			       ? "raise the quota, purge old entries (sweepctl purge --older-than 1d) "
				 "or set a lower archive.max_size"
			       : "free room there, purge old entries (sweepctl purge --older-than 1d) "
				 "or set a lower archive.max_size";
		snprintf(s->full_why, sizeof(s->full_why), "the archive %s is %s (%s): %s", path,
			 err == -EDQUOT ? "over its owner's disk quota" : "full", where, todo);
		snprintf(s->full_self, sizeof(s->full_self),
			 "is %s (%s): files stay in their zones; %s",
			 err == -EDQUOT ? "over its owner's disk quota" : "full", where, todo);
	}
	r = episode_set(&s->archive_full, err != 0, s->full_self, 0, &s->d->counters);
	if (r > 0)
		log_warn("archive %s %s", path, s->full_self);
	else if (r < 0)
		log_info("archive %s: taking files again", path);
}

/*
 * May this run try the archive? After it said it was full, automatic passes
 * wait SWEEP_RETRY_S so that a full archive does not spin; an explicit sweep
 * or reserve tries at once (the operator may just have freed room), until the
 * archive refuses it once: then it waits too (a reservation waiting for room
 * included).
 */
static bool archive_may_try(const struct sweep *s, const struct sweep_run *run, int64_t now)
{
	if (!s->archive_full.active || (run->manual && !run->archive_refused))
		return true;
	return now >= s->archive_retry_at;
}

/*
 * The zone's directory in the archive (or one below it) is not sweepd's own:
 * a symbolic link, another owner's, or writable by others (anyone may make
 * one in a shared archive). Nothing is written through it; the zone's files
 * stay where they are, which is the zone's blocked cause and the
 * archive_blocked alarm, said once at its start. err 0: taking files again.
 */
static void archive_misdir(struct sweep *s, uint32_t zi, int err, int64_t now)
{
	struct sweep_zone *sz = &s->zones[zi];
	const char *zone = s->d->cfg->zones[zi].name, *apath = s->d->cfg->archive_path;

	if (!err) {
		if (sz->arch_why[0])
			log_info("zone \"%s\": the archive takes its files again", zone);
		sz->arch_why[0] = '\0';
		return;
	}
	sz->arch_retry_at = now + SWEEP_RETRY_S;
	if (sz->arch_why[0])
		return;
	snprintf(sz->arch_why, sizeof(sz->arch_why),
		 "the archive's directory %s/%s is not sweepd's own (%s, there or below it): "
		 "sweepd keeps files only in directories it made, owned by it and closed to "
		 "others, so zone \"%s\"'s files stay where they are; move it away and sweepd "
		 "makes its own",
		 apath, zone,
		 err == -EACCES ? "another owner, or others may write in it"
				: "a symbolic link, or not a directory",
		 zone);
	snprintf(s->misdir_why, sizeof(s->misdir_why), "%s", sz->arch_why);
	s->d->counters.blocked++;
	log_warn("%s", sz->arch_why);
}

const char *sweep_archive_blocked(const struct sweep *s, size_t zone)
{
	return zone < s->d->cfg->n_zones && s->zones[zone].arch_why[0] ? s->zones[zone].arch_why
									   : NULL;
}

static uint64_t file_key(uint64_t dev, uint64_t ino)
{
	return held_key(dev, ino);
}

/*
 * A file whose move failed lately: left alone until its retry time, kept in
 * s->failed as until << 1 | too_deep. POLICY_FREE once that has passed.
 */
static enum policy_block failing(struct sweep *s, const struct table_file *f, int64_t now)
{
	uintptr_t v;

	if (!u64map_len(s->failed))
		return POLICY_FREE;
	v = (uintptr_t)u64map_get(s->failed, file_key(f->dir->dev, f->ino));
	if (!v)
		return POLICY_FREE;
	if ((int64_t)(v >> 1) <= now) {
		u64map_del(s->failed, file_key(f->dir->dev, f->ino));
		return POLICY_FREE;
	}
	return v & 1 ? POLICY_TOO_DEEP : POLICY_FAILING;
}

static void fail_for_now(struct sweep *s, const struct mover_job *mj, bool deep, int64_t now)
{
	u64map_put(s->failed, file_key(mj->dev, mj->ino),
		   (void *)(((uintptr_t)(now + SWEEP_RETRY_S) << 1) | deep));
}

static bool held_cb(void *ud, const struct table_file *f, int64_t now)
{
	return is_held(ud, f, now);
}

static enum policy_block failing_cb(void *ud, const struct table_file *f, int64_t now)
{
	return failing(ud, f, now);
}

static bool busy_cb(void *ud, const struct table_file *f)
{
	struct sweep *s = ud;

	return mover_busy(s->d->mover, f->dir->dev, f->ino);
}

/* The planner's view of the table at now, for run (NULL: any). */
static struct sweep_view view(struct sweep *s, const struct sweep_run *run, int64_t now)
{
	return (struct sweep_view){ .table = s->d->table, .cfg = s->d->cfg, .now = now,
				    .skip = run && run->mark ? TF_PICKED | TF_REPORTED : TF_PICKED,
				    .held = held_cb, .failing = failing_cb, .busy = busy_cb,
				    .ud = s, .next = POLICY_NEVER };
}

/*
 * The last job of a waited-on run whose batch was full is in: the next batch
 * joins the run (with our own events in first), so its maker's answer has it too.
 */
static void next_batch(struct sweep *s, struct sweep_run *run)
{
	if (!run || run->refs != 1 || !run->more || s->running || s->d->paused)
		return;
	run->more = false;
	watch_drain(s->d->watch);
	sweep_all(s, run);
}

static void act_done(struct mover_job *mj, bool cancelled);
static struct sweep_fs *fs_of(struct sweep *s, uint64_t dev);
static bool purge_entry(struct sweep *s, struct sweep_run *run, struct archive_entry *e,
			enum policy_reason why, int64_t now);
static void purge_done(struct mover_job *mj, bool cancelled);
static void job_in(struct sweep *s, struct sweep_run *run);

/*
 * Acts on one file: a job for the mover, which checks it again through its
 * directory (same inode, not open for writing, not written within min_age)
 * under a read lease, then archives or deletes it. A dry run only reports.
 */
static enum act_result act_on(struct sweep *s, struct sweep_run *run, struct table_file *f,
			      uint32_t zi, enum policy_reason why, int64_t now, const char *path,
			      const char *rel)
{
	struct daemon *d = s->d;
	const struct zone_config *zc = &d->cfg->zones[zi];
	bool del = zc->action == ACTION_DELETE;
	uint64_t bytes = f->size, disk = (f->flags & TF_LINKED) ? 0 : f->blocks * 512;
	struct sweep_fs *fs;
	struct sweep_job *j;
	int root;

	if (run->dry) {
		report(s, run, audit_entry(now, del ? "delete" : "archive", zc->name, path, bytes,
					   why, true, NULL));
		if (run->mark)
			f->flags |= TF_REPORTED;
		run->count++;
		run->freed += disk;
		return ACT_DONE;
	}
	if (!del && !d->archive)
		return ACT_FAILED; /* refused by the config check: no archive, no archiving */
	if (!del && !archive_may_try(s, run, now))
		return ACT_FULL;
	if (!del && s->zones[zi].arch_why[0] && !run->manual && now < s->zones[zi].arch_retry_at)
		return ACT_MISDIR;
	root = watch_open_beneath(d->watch, zi, "", O_PATH);
	if (root < 0)
		return ACT_GONE; /* the zone's root moved or went: its events follow */
	j = sweep_job_new(root, zc->name, rel, path, f->dir->dev, f->ino);
	if (!j)
		return ACT_FAILED;
	j->mj.lane = MOVER_ARCHIVE;
	j->mj.action = del ? "delete" : "archive";
	j->mj.bytes = bytes;
	j->mj.run = sweep_job_run;
	j->mj.done = act_done;
	j->archive = del ? NULL : d->archive;
	j->aopts.compress = (int)d->cfg->archive_compress;
	j->aopts.level = d->cfg->archive_level;
	j->written = table_file_last_write(d->table, f);
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
	watch_self_open(d->watch, f, true); /* counted before the worker's open can be seen */
	s->inflight++;
	/* Its event may take it out of the table before its blocks are free: counted here. */
	if ((fs = fs_of(s, f->dir->dev)))
		fs->inflight += disk;
	mover_submit(d->mover, &j->mj);
	return ACT_QUEUED;
}

/* The job's zone now: its index, looked up by name after a reload; -1 when it went. */
static int job_zone(const struct sweep *s, const struct sweep_job *j)
{
	return j->gen == s->gen ? (int)j->zone : config_zone_index(s->d->cfg, j->e.zone);
}

/* The mover's answer, taken in: what the table, counters, episodes and audit learn. */
static enum act_result act_result(struct sweep *s, struct sweep_job *j, int zi,
				  struct table_file *f, int64_t now)
{
	struct daemon *d = s->d;
	bool del = !j->archive;
	struct archive_entry *ae = NULL;
	struct table_dir *dir;
	const char *path = j->mj.path;
	int r = j->r;

	if (r == SWEEP_JOB_WRITING || r == -EBUSY) {
		if (f)
			table_file_set_writing(d->table, f, true);
		return ACT_WRITING;
	}
	if (r == SWEEP_JOB_YOUNG) {
		if (f)
			table_file_note_write(d->table, f, f->mtime > now ? f->mtime : now);
		return ACT_YOUNG;
	}
	if (r == -ECANCELED)
		return ACT_CANCELLED;
	if (r == -ENOSPC || r == -EDQUOT) {
		if (j->run)
			j->run->archive_refused = true;
		archive_room(s, r, now);
		return ACT_FULL;
	}
	if (r == -ENOENT || r == -ESTALE)
		return ACT_GONE;
	if (!del && zi >= 0 && (r == -EACCES || r == -ENOTDIR || r == -ELOOP)) {
		archive_misdir(s, (uint32_t)zi, r, now);
		return ACT_MISDIR;
	}
	if (r == -ENAMETOOLONG && !del) {
		d->counters.errors++;
		log_err("%s: cannot archive it: its path in the archive %s/%s would be longer than "
			"PATH_MAX (%d bytes); it stays in its zone, counted; move it higher up or give "
			"the zone action = \"delete\"",
			path, archive_path(d->archive), j->e.zone, PATH_MAX);
		fail_for_now(s, &j->mj, true, now);
		return ACT_TOO_DEEP;
	}
	if (r < 0) {
		d->counters.errors++;
		log_err("%s: cannot %s it: %s; it stays where it is and is tried again in %d s: set "
			"that right in the zone%s%s",
			path, del ? "delete" : "archive", strerror(-r), SWEEP_RETRY_S,
			del ? "" : " or in the archive ", del ? "" : archive_path(d->archive));
		fail_for_now(s, &j->mj, false, now);
		return ACT_FAILED;
	}
	if (j->writer_at_delete)
		log_warn("%s: a writer opened it as it was deleted", path);
	if (!del) {
		archive_room(s, 0, now);
		if (zi >= 0)
			archive_misdir(s, (uint32_t)zi, 0, now);
		ae = archive_commit(d->archive, &j->e);
		if (!ae) {
			d->counters.errors++;
			log_err("%s: archived as %s, but out of memory for its index entry: it is "
				"indexed again at the next start", path, j->e.apath);
		}
	}
	dir = f ? f->dir : zi >= 0 ? table_dir_find(d->table, (size_t)zi, j->dir_rel) : NULL;
	if (dir && j->dir_known)
		emptied_removed_in(s->emptied, dir,
				   emptied_user_mtime(s->emptied, dir, &j->dir_before), &j->dir_after,
				   now);
	if (f)
		table_file_remove(d->table, f);
	if (del)
		d->counters.deleted++;
	else
		d->counters.archived++;
	d->counters.bytes_freed += j->disk;
	if (j->run) {
		j->run->count++;
		j->run->freed += j->disk;
	}
	report(s, j->run, audit_entry(now, del ? "delete" : "archive", j->e.zone, path, j->size,
				      j->e.reason, false, j->e.apath));
	if (dir && zi >= 0 && d->cfg->zones[zi].prune_empty_dirs)
		emptied_prune(s->emptied, s->d->watch, &d->cfg->zones[zi], dir, now);
	/* Archived under disk pressure onto the filesystem that is short: gone at once. */
	if (ae && j->e.reason == REASON_DISK_HIGH && archive_dev(d->archive) == j->mj.dev)
		purge_entry(s, j->run, ae, REASON_DISK_HIGH, now);
	return ACT_DONE;
}

/*
 * A job of the sweeper's is in (its result applied). The last one in: what the
 * results leave due (a next batch, a target still missed, files that could not
 * go) is looked at now, with our own events in.
 */
static void job_in(struct sweep *s, struct sweep_run *run)
{
	next_batch(s, run);
	sweep_run_release(run);
	s->inflight--;
	if (!s->inflight && !s->d->paused && !ev_is_active(&s->again)) {
		ev_timer_set(&s->again, 0., 0.);
		ev_timer_start(s->d->loop, &s->again);
	}
}

static void act_done(struct mover_job *mj, bool cancelled)
{
	struct sweep_job *j = (struct sweep_job *)mj;
	struct sweep *s = j->owner;
	int64_t now = now_s();
	int zi = job_zone(s, j);
	struct table_file *f = zi >= 0 ? table_file_find(s->d->table, (size_t)zi, j->rel, mj->ino)
				       : NULL;
	struct sweep_fs *fs = fs_of(s, mj->dev);
	enum act_result r = ACT_CANCELLED;

	if (fs)
		fs->inflight -= fs->inflight < j->disk ? fs->inflight : j->disk;
	if (f && (cancelled || !j->opened))
		watch_self_open(s->d->watch, f, false); /* no event of ours will come */
	if (!cancelled)
		r = act_result(s, j, zi, f, now);
	(void)r;
	job_in(s, j->run);
	sweep_job_free(j);
}

/* act_on() with the file's paths on the heap: a tree may be deeper than PATH_MAX. */
static enum act_result act(struct sweep *s, struct sweep_run *run, struct table_file *f,
			   uint32_t zi, enum policy_reason why, int64_t now)
{
	const struct zone_config *zc = &s->d->cfg->zones[zi];
	char *rel = table_file_relpath_dup(f), *path = NULL;
	enum act_result r = ACT_FAILED;

	if (rel && asprintf(&path, "%s/%s", strcmp(zc->path, "/") ? zc->path : "", rel) >= 0) {
		r = act_on(s, run, f, zi, why, now, path, rel);
		free(path);
	}
	free(rel);
	return r;
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
		enum act_result r = act(s, run, c->f, c->zone, c->why, now);

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

/* Our own renames and deletes come back as events: take them in between batches. */
static void drain_own(struct sweep *s)
{
	watch_drain(s->d->watch);
}

static bool zone_wanted(const struct sweep_run *run, size_t zi)
{
	return run->zone < 0 || (size_t)run->zone == zi;
}

/* Files due by max_age and max_idle. */
static void pass_due(struct sweep *s, struct sweep_run *run, struct sweep_plan *p, size_t zi,
		     int64_t now)
{
	struct sweep_view v = view(s, run, now);

	sweep_plan_due(&v, zi, p);
	note_next(s, v.next);
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
	const struct zone_config *zc = &s->d->cfg->zones[zi];
	struct table_zone *tz = table_zone(s->d->table, zi);
	struct sweep_zone *sz = &s->zones[zi];
	struct policy_excess ex = want ? policy_zone_excess(zc, tz->bytes + *want, tz->files + 1)
				       : policy_zone_excess(zc, tz->bytes, tz->files);
	struct sweep_view v = view(s, run, now);
	struct sweep_tally t = { 0 };
	uint64_t bytes;
	char what[128];

	snprintf(what, sizeof(what), "zone \"%s\"", zc->name);
	if (!ex.bytes && !ex.files && !want) {
		episode(&sz->ep, what, false, NULL, 0, &s->d->counters);
		return;
	}
	if (!want && sz->ep.active && !run->manual && sz->changes == tz->changes &&
	    now < sz->retry_at)
		return;
	bytes = sweep_plan_quota(&v, zi, ex, p, &t);
	note_next(s, v.next);
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
	if (!run->dry && s->inflight)
		return;
	/* What is left over the limits after this pass is out of reach, for now. */
	ex = policy_zone_excess(zc, tz->bytes, tz->files);
	if (run->dry)
		ex.bytes = ex.bytes > bytes ? ex.bytes - bytes : 0;
	/* Out of reach: the bytes over max_size, or what the files over max_files hold. */
	episode(&sz->ep, what, ex.bytes || (ex.files && !run->dry), tally_why(s, &t),
		ex.bytes ? ex.bytes : t.writing + t.young + t.held, &s->d->counters);
	sz->changes = tz->changes;
	sz->retry_at = now + SWEEP_RETRY_S;
}

static uint64_t fs_changes(struct sweep *s, const struct sweep_fs *fs)
{
	uint64_t c = 0;

	for (size_t i = 0; i < s->d->cfg->n_zones; i++)
		if (sweep_plan_zone_on(s->d->table, i, fs->dev))
			c += table_zone(s->d->table, i)->changes;
	return c;
}

/*
 * An entry's file to be removed for good: a job of the mover (or, dry,
 * reported). false when it cannot go now (being restored or purged already, or
 * out of memory): a pass skips it. Its bytes count as freed while it is out.
 */
static bool purge_entry(struct sweep *s, struct sweep_run *run, struct archive_entry *e,
			enum policy_reason why, int64_t now)
{
	struct purge_job *j;

	if (run && run->dry) {
		report(s, run, audit_entry(now, "purge", e->zone, e->path, e->bytes, why, true,
					   e->apath));
		run->count++;
		return true;
	}
	if (e->busy || !(j = purge_job_new(s->d->archive, e->id, e->apath, e->zone, e->path)))
		return false;
	j->mj.bytes = e->stored;
	j->mj.done = purge_done;
	j->bytes = e->bytes;
	j->stored = e->stored;
	j->why = why;
	j->owner = s;
	j->run = run && run->refs ? run : NULL;
	sweep_run_hold(j->run);
	e->busy = true;
	s->purging += e->stored;
	s->inflight++;
	mover_submit(s->d->mover, &j->mj);
	return true;
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
	struct archive_entry *e = archive_index_get(archive_entries(s->d->archive), j->id);
	int64_t now = now_s();

	if (e)
		e->busy = false;
	s->purging -= s->purging < j->stored ? s->purging : j->stored;
	if (!cancelled && j->r < 0) {
		s->d->counters.errors++;
		if (now >= s->purge_retry_at) /* once for the batch that failed */
			log_err("archive: cannot purge %s: %s; it stays in the archive, and purges "
				"are tried again in %d s",
				mj->path, strerror(-j->r), SWEEP_RETRY_S);
		s->purge_retry_at = now + SWEEP_RETRY_S;
	} else if (!cancelled) {
		archive_forget(s->d->archive, j->id);
		s->d->counters.purged++;
		s->d->counters.bytes_freed += j->stored;
		if (j->run) {
			j->run->count++;
			j->run->freed += j->stored;
		}
		report(s, j->run, audit_entry(now, "purge", j->zone, j->origin, j->bytes, j->why,
					      false, mj->path));
		archive_room(s, 0, now);
	}
	job_in(s, j->run);
	purge_job_free(j);
}

/* Automatic purges wait a while after one failed; an operator's go at once. */
static bool purges_wait(struct sweep *s, const struct sweep_run *run, int64_t now)
{
	if (run->manual || run->dry || now >= s->purge_retry_at)
		return false;
	note_next(s, s->purge_retry_at);
	return true;
}

/*
 * Frees need bytes on a filesystem, in the disk pass's order: a same-fs
 * archive's own files first, then the zones' files by priority and age.
 */
static void free_on_fs(struct sweep *s, struct sweep_run *run, struct sweep_plan *p,
		       struct sweep_fs *fs, uint64_t need, int64_t now, struct sweep_tally *t)
{
	struct archive *a = s->d->archive;
	bool same = a && archive_dev(a) == fs->dev;
	uint64_t freed = same ? s->purging : 0, planned = 0;
	struct archive_index *ix = a ? archive_entries(a) : NULL;
	struct sweep_view v;

	for (struct archive_entry *e = same && !run->dry && !purges_wait(s, run, now)
					       ? archive_index_next(ix, NULL)
					       : NULL;
	     e && freed < need; e = archive_index_next(ix, e))
		if (purge_entry(s, run, e, REASON_DISK_HIGH, now))
			freed += e->stored;
	if (freed >= need)
		return;
	planned = run->dry ? 0 : fs->inflight;
	v = view(s, run, now);
	sweep_plan_disk(&v, fs->dev, need - freed, p, &planned, t);
	note_next(s, v.next);
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
	const struct config *cfg = s->d->cfg;

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
			episode(&fs->ep, what, false, NULL, 0, &s->d->counters);
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
		if (p->more || (!run->dry && s->inflight))
			continue; /* judged once the files on their way are in */
		if (fsinfo_get(fs->probe, &fi) == 0 &&
		    policy_disk_pressure(cfg->disk_high, cfg->disk_low, fi.used + fi.free, fi.used,
					 true, &need) &&
		    !run->dry) {
			episode(&fs->ep, what, true, tally_why(s, &t), need, &s->d->counters);
			fs->changes = fs_changes(s, fs);
			fs->retry_at = now + SWEEP_RETRY_S;
		} else if (!run->dry) {
			episode(&fs->ep, what, false, NULL, 0, &s->d->counters);
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

static struct sweep_fs *fs_of(struct sweep *s, uint64_t dev)
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
	const struct config *cfg = s->d->cfg;
	struct sweep_fs *fs = calloc(cfg->n_zones + 1, sizeof(*fs));
	size_t n_fs = 0;

	if (!fs)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->n_zones; i++) {
		struct table_zone *tz = table_zone(s->d->table, i);
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
	s->roots_gen = watch_roots_gen(s->d->watch);
	return 0;
}

/* Before a pass: the filesystems as the zone roots are now. */
static void fs_current(struct sweep *s)
{
	if (s->roots_gen != watch_roots_gen(s->d->watch) && fs_rebuild(s) < 0)
		log_err("out of memory: the disks of zones that appeared are not watched yet");
}

/*
 * What is still missing for the reservation: over the zone's limits, over
 * the high mark. A dry run moves nothing: gone and freed say what it would.
 */
static void reserve_missing(struct sweep *s, struct sweep_reserve *r, uint64_t gone_bytes,
			    uint64_t gone_files, uint64_t freed)
{
	const struct zone_config *zc = &s->d->cfg->zones[r->zone];
	struct table_zone *tz = table_zone(s->d->table, r->zone);
	struct sweep_fs *fs = tz->root ? fs_of(s, tz->root->dev) : NULL;
	struct policy_excess ex = policy_zone_excess(zc, tz->bytes + r->bytes, tz->files + 1);
	struct fsinfo fi;

	r->zone_missing = ex.bytes > gone_bytes ? ex.bytes - gone_bytes : 0;
	r->files_missing = ex.files > gone_files ? ex.files - gone_files : 0;
	r->disk_missing = 0;
	if (fs && fsinfo_get(fs->probe, &fi) == 0 && fi.dev == fs->dev) {
		uint64_t need = policy_disk_room(s->d->cfg->disk_high, fi.used + fi.free, fi.used,
						 r->bytes);
		r->disk_missing = need > freed ? need - freed : 0;
	}
}

void sweep_reserve(struct sweep *s, struct sweep_run *run, struct sweep_reserve *r)
{
	struct table_zone *tz = table_zone(s->d->table, r->zone);
	struct sweep_fs *fs;
	uint64_t start = run->freed, gone = 0;
	struct sweep_plan p = { 0 };
	struct sweep_tally t = { 0 };
	int64_t now = now_s();
	size_t picked;

	if (s->running)
		return;
	s->running = true;
	fs_current(s);
	fs = tz->root ? fs_of(s, tz->root->dev) : NULL;
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
	const struct config *cfg = s->d->cfg;
	struct archive_index *ix;
	struct archive_entry *e;
	uint64_t over;

	if (!s->d->archive || run->zone >= 0)
		return;
	ix = archive_entries(s->d->archive);
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
			purge_entry(s, run, e, keep ? REASON_ARCHIVE_KEEP : REASON_ARCHIVE_MAX_SIZE, now);
			e->reported = run->mark;
			over = over > e->stored ? over - e->stored : 0;
		}
		return;
	}
	if (purges_wait(s, run, now))
		return;
	/* Oldest first; what is on its way out counts as gone (its result brings a pass). */
	for (e = archive_index_next(ix, NULL);
	     e && policy_archive_due(cfg->archive_keep, e->archived_at) <= now;
	     e = archive_index_next(ix, e))
		purge_entry(s, run, e, REASON_ARCHIVE_KEEP, now);
	for (e = archive_index_next(ix, NULL);
	     e && cfg->archive_max_size != CONFIG_UNSET &&
	     ix->stored - s->purging > (uint64_t)cfg->archive_max_size;
	     e = archive_index_next(ix, e))
		purge_entry(s, run, e, REASON_ARCHIVE_MAX_SIZE, now);
	for (e = archive_index_next(ix, NULL); e && e->busy; e = archive_index_next(ix, e))
		;
	if (e)
		note_next(s, policy_archive_due(cfg->archive_keep, e->archived_at));
}

static void arm(struct sweep *s, int64_t now)
{
	ev_periodic_stop(s->d->loop, &s->deadline);
	if (s->next == POLICY_NEVER)
		return;
	ev_periodic_set(&s->deadline, (ev_tstamp)(s->next > now ? s->next : now + 1), 0, 0);
	ev_periodic_start(s->d->loop, &s->deadline);
}

void sweep_all(struct sweep *s, struct sweep_run *run)
{
	struct sweep_plan p = { 0 };
	int64_t now = now_s();
	bool more;

	if (s->running)
		return;
	s->running = true;
	if (!run->dry)
		emptied_prune_young(s->emptied, s->d->watch, s->d->table, s->d->cfg, now);
	fs_current(s);
	do {
		uint64_t done = run->count;

		s->next = POLICY_NEVER;
		p.more = false;
		for (size_t i = 0; i < s->d->cfg->n_zones; i++)
			if (zone_wanted(run, i))
				pass_due(s, run, &p, i, now);
		more = p.more;
		p.more = false;
		for (size_t i = 0; i < s->d->cfg->n_zones && !p.more; i++)
			if (zone_wanted(run, i))
				pass_quota(s, run, &p, i, now, NULL, NULL);
		more |= p.more;
		p.more = false;
		pass_disk(s, run, &p, now);
		more |= p.more;
		pass_archive(s, run, now);
		if (!run->dry)
			drain_own(s);
		now = now_s();
		if (more && !run->dry && s->inflight) {
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
	struct sweep_run run = { .dry = s->d->dry_run, .mark = s->d->dry_run, .zone = -1 };

	if (s->d->paused)
		return;
	sweep_all(s, &run);
}

/* The last job is in: our own events taken in, then what is due now. */
static void on_again(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sweep *s = w->data;

	(void)loop;
	(void)revents;
	watch_drain(s->d->watch);
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
	int64_t writes = 0, reads = 0, now = now_s();

	for (size_t i = 0; i < s->d->cfg->n_zones; i++) {
		if (s->d->cfg->zones[i].min_age > writes)
			writes = s->d->cfg->zones[i].min_age;
		if (s->d->cfg->zones[i].max_idle > reads)
			reads = s->d->cfg->zones[i].max_idle;
	}
	table_prune_seen(s->d->table, now - writes - 1, now - reads - 1);
	sweep_due(s);
}

void sweep_purge(struct sweep *s, int64_t older_than, struct sweep_run *run)
{
	int64_t now = now_s();
	struct archive_index *ix;
	struct archive_entry *e;

	if (!s->d->archive)
		return;
	ix = archive_entries(s->d->archive);
	if (older_than >= 0) {
		for (e = archive_index_next(ix, NULL); e && e->archived_at <= now - older_than;
		     e = archive_index_next(ix, e))
			purge_entry(s, run, e, REASON_MANUAL, now);
	}
	pass_archive(s, run, now);
	if (!run->dry)
		arm(s, now);
}

const struct sweep_episode *sweep_zone_episode(const struct sweep *s, size_t zone)
{
	return zone < s->d->cfg->n_zones ? &s->zones[zone].ep : NULL;
}

const struct sweep_episode *sweep_fs_episode(const struct sweep *s, uint64_t dev, bool *pressure)
{
	for (size_t i = 0; i < s->n_fs; i++)
		if (s->fs[i].dev == dev) {
			*pressure = s->fs[i].pressure;
			return &s->fs[i].ep;
		}
	*pressure = false;
	return NULL;
}

size_t sweep_fs_count(const struct sweep *s)
{
	return s->n_fs;
}

const struct sweep_episode *sweep_fs_at(const struct sweep *s, size_t k, const char **probe)
{
	*probe = s->fs[k].probe;
	return &s->fs[k].ep;
}

const struct sweep_episode *sweep_archive_episode(const struct sweep *s)
{
	return &s->archive_full;
}

/*
 * Per-zone and per-filesystem state for the daemon's zones: zone j keeps
 * the state of old zone old_of_new[j] (none when -1, or no old state).
 */
int sweep_reconfigure(struct sweep *s, const int *old_of_new)
{
	const struct config *cfg = s->d->cfg;
	struct sweep_zone *zones = calloc(cfg->n_zones + 1, sizeof(*zones));

	if (!zones)
		goto nomem;
	for (size_t i = 0; i < cfg->n_zones; i++) {
		if (old_of_new && old_of_new[i] >= 0)
			zones[i] = s->zones[old_of_new[i]];
		if (cfg->zones[i].max_idle != CONFIG_UNSET && table_zone_track_use(s->d->table, i) < 0)
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

struct sweep *sweep_create(struct daemon *d)
{
	struct sweep *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->d = d;
	s->held = u64map_create();
	s->emptied = emptied_create();
	s->failed = u64map_create();
	if (!s->held || !s->emptied || !s->failed || sweep_reconfigure(s, NULL) < 0) {
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
	if (s->d->loop) {
		ev_periodic_stop(s->d->loop, &s->deadline);
		ev_timer_stop(s->d->loop, &s->again);
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
