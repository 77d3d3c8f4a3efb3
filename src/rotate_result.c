#include "rotate.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "counters.h"
#include "log.h"
#include "pathenc.h"
#include "rotate_priv.h"
#include "sweep.h"
#include "table.h"
#include "units.h"
#include "watch.h"

int rotate_join(char *buf, size_t len, const char *a, const char *b)
{
	int n = snprintf(buf, len, "%s%s%s", a, *a && *b ? "/" : "", b);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int rotate_zone_join(char *buf, size_t len, const struct zone_config *zc, const char *rel)
{
	return rotate_join(buf, len, strcmp(zc->path, "/") ? zc->path : "", rel);
}

/*
 * f's directory and its copies' directory, relative to the zone root, into
 * dir_rel and copy_rel (PATH_MAX bytes each).
 */
static int copy_dirs(const struct rotate_config *rc, const struct table_file *f, char *dir_rel,
		     char *copy_rel)
{
	const char *old = rc->olddir;

	if (table_dir_relpath(f->dir, dir_rel, PATH_MAX) < 0 ||
	    rotate_join(copy_rel, PATH_MAX, dir_rel, old ? old : "") < 0)
		return -ENAMETOOLONG;
	return 0;
}

/* The copies' directory of f, as a real descriptor, to look at; its path into copy_rel. */
int rotate_open_copy_dir(struct rotate *r, uint32_t zone, const struct rotate_config *rc,
			 const struct table_file *f, char *copy_rel)
{
	char dir_rel[PATH_MAX];
	int e = copy_dirs(rc, f, dir_rel, copy_rel);

	return e < 0 ? e : watch_open_beneath(r->eng.watch, zone, copy_rel, O_RDONLY);
}

/* The owner of the live log f, or (uid_t)-1. */
uid_t rotate_live_owner(struct rotate *r, const struct table_file *f)
{
	int dfd = watch_dir_open(r->eng.watch, f->dir);
	uid_t owner = rotate_owner_at(dfd, f->name);

	if (dfd >= 0)
		close(dfd);
	return owner;
}

/* The copies a job dropped for keep and max_age: counted and audited. */
static void expired_in(struct rotate *r, const struct rotate_job *j, const struct zone_config *zc,
		       const char *dir_rel)
{
	int64_t now = (int64_t)time(NULL);

	for (size_t i = 0; i < j->n_expired; i++) {
		const struct rotate_expired *x = &j->expired[i];
		char path[PATH_MAX + 256], rel[PATH_MAX];

		r->eng.counters->deleted++;
		r->eng.counters->bytes_freed += x->blocks * 512;
		if (rotate_join(rel, sizeof(rel), dir_rel, x->name) < 0 ||
		    rotate_zone_join(path, sizeof(path), zc, rel) < 0)
			continue;
		audit_report(r->eng.audit, j->run ? j->run->actions : NULL,
			     audit_entry(now, "delete", zc->name, path, x->size,
					 x->by_age ? REASON_MAX_AGE : REASON_MAX_FILES, false, NULL));
	}
}

/* A job for f's zone, with f's directories; NULL (said) when it cannot be made. */
struct rotate_job *rotate_new_job(struct rotate *r, enum rotate_job_kind kind, uint32_t zone,
				  const struct rotate_config *rc, const struct table_file *f,
				  const char *path, const char *name)
{
	const struct zone_config *zc = &r->eng.cfg->zones[zone];
	char dir_rel[PATH_MAX], copy_rel[PATH_MAX];
	struct rotate_job *j;

	if (copy_dirs(rc, f, dir_rel, copy_rel) < 0)
		return NULL;
	j = rotate_job_new(kind, zc->path, path, dir_rel, name ? name : f->name, copy_rel, zc->name,
			   rc);
	if (!j) {
		log_err("%s: out of memory: its rotation work is put off", path);
		return NULL;
	}
	j->mj.action = kind == ROTATE_JOB_COMPRESS ? "compress"
		       : kind == ROTATE_JOB_EXPIRE ? "expire"
		       : rc->keep_tail_lines > 0 ? "truncate"
						       : "rotate";
	j->mj.dev = f->dir->dev;
	j->mj.ino = f->ino;
	j->mj.bytes = units_data_bytes(f->size, f->blocks); /* what a cut reads: not its holes */
	j->mj.run = rotate_job_run;
	j->mj.done = rotate_result_in;
	j->owner = r;
	j->now = (int64_t)time(NULL);
	if (kind == ROTATE_JOB_CUT) {
		if (!r->look)
			r->look = rotate_look_new(); /* NULL: each cut asks /proc afresh */
		j->look = rotate_look_hold(r->look);
	}
	return j;
}

void rotate_wait_free(struct wait *w)
{
	json_object_put(w->errors);
	free(w->zone);
	free(w->rel);
	free(w);
}

/*
 * f is put off until no job is on it (mover_on_free). run: the rotate
 * command's, which then waits for it too; NULL: a pass looks at it again.
 * 0, or -ENOMEM (said) for a command's.
 */
int rotate_wait_for(struct rotate *r, uint32_t zone, const struct table_file *f, const char *rel,
		    struct sweep_run *run, json_object *errors)
{
	struct wait *w;

	if (!run || !run->refs) {
		run = NULL;
		/* One pass for it is enough (or for another file that shares its key: it looks too). */
		if (u64map_get(r->auto_waits, rotate_wait_key(f->dir->dev, f->ino)))
			return 0;
	}
	w = calloc(1, sizeof(*w));
	if (!w || !(w->zone = strdup(r->eng.cfg->zones[zone].name)) || !(w->rel = strdup(rel))) {
		if (w)
			rotate_wait_free(w);
		if (!run)
			return 0; /* the next trigger looks at it again (housekeeping: 30 s) */
		log_err("%s/%s: out of memory: not rotated", r->eng.cfg->zones[zone].path, rel);
		return -ENOMEM;
	}
	w->dev = f->dir->dev;
	w->ino = f->ino;
	w->run = run;
	sweep_run_hold(run);
	w->errors = run && errors ? json_object_get(errors) : NULL;
	w->next = r->waits;
	r->waits = w;
	if (!run) /* without its key (no memory), a later pass adds a second wait: harmless */
		(void)u64map_put(r->auto_waits, rotate_wait_key(w->dev, w->ino), w);
	return 0;
}

void rotate_submit(struct rotate *r, struct rotate_job *j, struct sweep_run *run,
		   json_object *errors)
{
	j->run = run && run->refs ? run : NULL;
	sweep_run_hold(j->run);
	j->errors = j->run && errors ? json_object_get(errors) : NULL;
	r->inflight++;
	mover_submit(r->eng.mover, &j->mj);
}

/*
 * One file, chosen: a job for the logs lane (after its prerotate, when it
 * has one), or, for a dry run, reported. Returns 0, or -errno when nothing
 * could be started.
 */
int rotate_act(struct rotate *r, uint32_t zone, struct table_file *f, enum policy_reason why,
	       struct sweep_run *run, json_object *errors)
{
	const struct zone_config *zc = &r->eng.cfg->zones[zone];
	const struct rotate_config *rc = rotate_group_of(r, zone, f);
	char path[PATH_MAX + 256], rel[PATH_MAX];

	if (!rc)
		return 0; /* no log (its name changed, or the config did) */
	if (sweep_file_path(zc, f, path, sizeof(path), rel, sizeof(rel)) < 0)
		return -ENAMETOOLONG;
	if (!run->dry && rotate_pre_waits(r, zone, rc, f)) {
		if (run->refs && why == REASON_MANUAL && !rotate_pre_running(r, zone, f->ino))
			return rotate_pre_queue(r, zone, f, rel, why, run, errors);
		if (errors) {
			char err[PATH_MAX + 512];

			snprintf(err, sizeof(err),
				 "%s: its prerotate is still running: not rotated now", path);
			json_object_array_add(errors, pathenc_json(err));
		}
		return 0;
	}
	if (!rc->prerotate || run->dry ||
	    (mover_busy(r->eng.mover, f->dir->dev, f->ino) &&
	     (why != REASON_MANUAL ||
	      mover_busy_beside(r->eng.mover, MOVER_LOGS, f->dir->dev, f->ino))))
		return rotate_act_cut(r, zone, f, why, run, errors);
	return rotate_pre_start(r, zone, f, path, rel, rc, why, run, errors);
}

int rotate_act_cut(struct rotate *r, uint32_t zone, struct table_file *f, enum policy_reason why,
		   struct sweep_run *run, json_object *errors)
{
	const struct zone_config *zc = &r->eng.cfg->zones[zone];
	const struct rotate_config *rc = rotate_group_of(r, zone, f);
	bool tail = rc && rc->keep_tail_lines > 0;
	char path[PATH_MAX + 256], rel[PATH_MAX];
	struct live *l = rotate_live_get(r, zone, f);
	struct rotate_job *j;

	if (!rc)
		return 0;
	if (sweep_file_path(zc, f, path, sizeof(path), rel, sizeof(rel)) < 0)
		return -ENAMETOOLONG;
	/*
	 * Never two jobs on one file. An archive or delete on its way (another
	 * lane) puts the cut off until its result is in. A job of ours is
	 * in this lane, which runs in order: asked for by hand, the cut goes
	 * after it; otherwise the log is looked at again once that job is in.
	 */
	if (mover_busy(r->eng.mover, f->dir->dev, f->ino) &&
	    (why != REASON_MANUAL ||
	     mover_busy_beside(r->eng.mover, MOVER_LOGS, f->dir->dev, f->ino)))
		return rotate_wait_for(r, zone, f, rel, why == REASON_MANUAL ? run : NULL, errors);
	if (run->dry) {
		audit_report(r->eng.audit, run->actions,
			     audit_entry((int64_t)time(NULL), tail ? "truncate" : "rotate", zc->name,
					 path, f->size, why, true, NULL));
		run->count++;
		if (l) {
			/* A dry daemon reports a file once, and counts it as rotated. */
			l->reported = true;
			l->last = (int64_t)time(NULL);
		}
		return 0;
	}
	j = rotate_new_job(r, ROTATE_JOB_CUT, zone, rc, f, path, NULL);
	if (!j)
		return -ENOMEM;
	j->why = why;
	j->floor = l ? l->floor : 0;
	/* Its opens of the live log, counted as ours before the worker's can be seen. */
	if (tail || rc->method != ROTATE_RENAME)
		for (int k = 0; k < ROTATE_JOB_OPENS; k++)
			watch_self_open(r->eng.watch, f, true);
	else
		j->opens = ROTATE_JOB_OPENS;
	rotate_submit(r, j, run, errors);
	return 0;
}

/* The live log a job was for, as the table and the rotator know it now; NULL when gone. */
static struct table_file *job_file(struct rotate *r, const struct rotate_job *j, int zi)
{
	char rel[PATH_MAX];

	if (zi < 0 || rotate_join(rel, sizeof(rel), j->dir_rel, j->name) < 0)
		return NULL;
	return table_file_find(r->eng.table, (size_t)zi, rel, j->mj.ino);
}

/*
 * The group a job's log follows now, for its strings (pidfile, postrotate):
 * the job has the numbers only. NULL when the configuration no longer
 * rotates it.
 */
static const struct rotate_config *job_group(const struct zone_config *zc,
					     const struct rotate_job *j)
{
	char rel[PATH_MAX];

	if (rotate_join(rel, sizeof(rel), j->dir_rel, j->name) < 0)
		return NULL;
	return config_rotate_group(zc, j->name, rel);
}

/* create's outcome, said when the new live log could not be made. */
static void created_in(struct rotate *r, const struct rotate_job *j)
{
	if (j->created >= 0)
		return;
	if (j->created == -EEXIST) {
		log_info("%s: rotated; a new %s was there already (its writer's?): left as it is",
			 j->mj.path, j->name);
		return;
	}
	r->eng.counters->errors++;
	log_err("%s: rotated, but the new live log could not be made as 'create' says (%s): "
		"none was left in its place%s", j->mj.path, strerror(-j->created),
		j->created == -EPERM ? "; only root may give it another owner" : "");
}

/* A cut's result: the log's state, counters, audit, alarms, its writer told. */
static void cut_done(struct rotate *r, struct rotate_job *j, int zi, struct table_file *f)
{
	const struct zone_config *zc = &r->eng.cfg->zones[zi];
	bool tail = j->rc.keep_tail_lines > 0;
	struct live *l = u64map_get(r->lives, rotate_live_key((uint32_t)zi, j->mj.ino));
	char copy_rel[PATH_MAX], copy_path[PATH_MAX + 256] = "";

	if (j->r > 0) {
		if (*j->copy && (rotate_join(copy_rel, sizeof(copy_rel), j->copy_rel, j->copy) < 0 ||
				 rotate_zone_join(copy_path, sizeof(copy_path), zc, copy_rel) < 0))
			copy_path[0] = '\0';
		if (j->rc.method == ROTATE_RENAME && !tail) {
			const struct rotate_config *rc = job_group(zc, j);

			created_in(r, j);
			if (rc)
				rotate_reopen_writer(r, rc, j->mj.path, copy_path);
			else
				log_err("%s: rotated, but its zone no longer rotates it: its writer is "
					"not told, and goes on in %s", j->mj.path, copy_path);
			if (rc && j->rc.compress == COMPRESS_ZSTD && *j->copy)
				rotate_add_pending(r, (uint32_t)zi, (uint32_t)(rc - zc->rotates),
						   j->copy_rel, j->copy, j->mj.dev, j->copy_ino,
						   j->cut);
		}
		if (l) {
			l->last = j->now;
			if (j->floor_set)
				l->floor = j->new_floor;
		}
		r->dirty = true;
		r->eng.counters->rotated++;
		if (j->run)
			j->run->count++;
		audit_report(r->eng.audit, j->run ? j->run->actions : NULL,
			     audit_entry(j->now, tail ? "truncate" : "rotate", zc->name, j->mj.path,
					 j->cut, j->why, false, *copy_path ? copy_path : NULL));
	}
	expired_in(r, j, zc, j->copy_rel);
	if (l && (l->ino != j->mj.ino || l->zone != (uint32_t)zi))
		l = NULL; /* another log's now */
	if (l)
		l->idle_size = l->idle_blocks = 0;
	if (j->r >= 0 && l && f) {
		/*
		 * Not due on disk, or just cut: looked at again once the table sees it
		 * change (the size it has may be from before the cut; its prerotate
		 * would run for nothing).
		 */
		l->idle_size = f->size;
		l->idle_blocks = f->blocks;
	}
	if (j->r < 0 && !j->err[0])
		snprintf(j->err, sizeof(j->err), "%s: cannot %s it: %s", j->mj.path,
			 tail ? "cut down" : "rotate", strerror(-j->r));
	if (j->r < 0 && j->blocked) {
		/* An alarm rather than an error: said at its start and its end. */
		if (l) {
			l->failed_at = j->now;
			rotate_block(r, l, j);
		}
		/* Its writer's close, seen by the watch, is what makes it worth a look again. */
		if (!j->linked && f)
			table_file_set_writing(r->eng.table, f, true);
		if (j->errors)
			json_object_array_add(j->errors, pathenc_json(j->err));
	} else if (j->r < 0 && j->r != -ENOENT && j->r != -ESTALE) {
		r->eng.counters->errors++;
		if (l)
			l->failed_at = j->now;
		log_err("%s", j->err);
		if (j->errors)
			json_object_array_add(j->errors, pathenc_json(j->err));
	}
	if (!j->blocked)
		rotate_unblock(r, l, j->r > 0 ? "rotated" : j->r == 0 ? "no longer due" : "it changed");
}

/*
 * A pending copy's compression: done, failed, or not yet (its writer still
 * has it: held, until a close after writing, compress_pending). True when a
 * close came while the job was out, its pass perhaps already over: a look now.
 */
static bool compress_done(struct rotate *r, struct rotate_job *j, int zi)
{
	struct pending *p = NULL;

	if (j->r < 0 && j->r != -ENOENT) {
		r->eng.counters->errors++;
		log_err("%s: cannot compress it: %s", j->mj.path, strerror(-j->r));
	}
	if (zi >= 0)
		expired_in(r, j, &r->eng.cfg->zones[zi], j->copy_rel);
	for (size_t i = 0; zi >= 0 && !p && i < r->n_pend; i++)
		if (r->pend[i].zone == (uint32_t)zi && r->pend[i].ino == j->mj.ino &&
		    !strcmp(r->pend[i].dir, j->copy_rel) && !strcmp(r->pend[i].name, j->name))
			p = &r->pend[i];
	if (p && j->still_written) {
		p->held = true;
		return p->closes != rotate_closes_seen(r);
	}
	if (p) {
		free(p->dir);
		free(p->name);
		*p = r->pend[--r->n_pend];
	}
	return false;
}

/* On the loop: a job's result applied. */
void rotate_result_in(struct mover_job *mj, bool cancelled)
{
	struct rotate_job *j = (struct rotate_job *)mj;
	struct rotate *r = j->owner;
	int zi = config_zone_index(r->eng.cfg, j->zone);
	struct table_file *f = j->kind == ROTATE_JOB_CUT ? job_file(r, j, zi) : NULL;
	bool again = false;

	/* Our opens that did not happen: no event of ours will come for them. */
	for (int k = j->opens; f && k < ROTATE_JOB_OPENS; k++)
		watch_self_open(r->eng.watch, f, false);
	if (!cancelled && zi >= 0) {
		if (j->kind == ROTATE_JOB_CUT)
			cut_done(r, j, zi, f);
		else if (j->kind == ROTATE_JOB_COMPRESS)
			again = compress_done(r, j, zi);
		else
			expired_in(r, j, &r->eng.cfg->zones[zi], j->copy_rel);
	}
	json_object_put(j->errors);
	sweep_run_release(j->run);
	rotate_job_free(j);
	r->inflight--;
	if (!cancelled) {
		rotate_tidy_soon(r); /* a batch of results: one arm, one save */
	}
	if (again)
		rotate_due(r);
}
