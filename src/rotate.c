#include "rotate.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "counters.h"
#include "log.h"
#include "rotate_priv.h"
#include "sweep.h"
#include "table.h"
#include "units.h"
#include "watch.h"

const struct rotate_config *rotate_group_of(const struct rotate *r, uint32_t zone,
					    const struct table_file *f)
{
	const struct zone_config *zc = &r->eng.cfg->zones[zone];
	char dir[PATH_MAX], rel[PATH_MAX];

	if (rotplan_is_copy(f->name))
		return NULL;
	if (zc->rotate_by_path && (table_dir_relpath(f->dir, dir, sizeof(dir)) < 0 ||
				   rotate_join(rel, sizeof(rel), dir, f->name) < 0))
		return NULL;
	return config_rotate_group(zc, f->name, zc->rotate_by_path ? rel : f->name);
}

/* The zone's logs, collected before any is touched: rotations change the table through events, taken in later. */
static struct table_file **zone_files(struct rotate *r, uint32_t zone, size_t *n)
{
	struct table_zone *tz = table_zone(r->eng.table, zone);
	struct table_file **v = malloc((tz->age.len ? tz->age.len : 1) * sizeof(*v));

	*n = 0;
	if (!v)
		return NULL;
	for (size_t i = 0; i < tz->age.len; i++)
		if (rotate_group_of(r, zone, tz->age.v[i]))
			v[(*n)++] = tz->age.v[i];
	return v;
}

bool rotate_rotates(const struct rotate *r, size_t zone)
{
	return r->eng.cfg->zones[zone].n_rotates && watch_zone_attached(r->eng.watch, zone);
}

/*
 * Why f is due now (REASON_NONE: it is not), retries aside. Its size is
 * what it holds on disk: a log with a hole (from a writer without O_APPEND
 * cut elsewhere) looks as big as ever, and would be rotated again and again.
 */
static enum policy_reason trigger(const struct rotate_config *rc, const struct table_file *f,
				  const struct live *l, int64_t now)
{
	if (l->reported && rc->every <= 0)
		return REASON_NONE;
	if (!l->reported && rotplan_size_due(units_data_bytes(f->size, f->blocks), rc->size,
					     rc->keep_tail_lines > 0 ? l->floor : 0))
		return REASON_ROTATE_SIZE;
	if (rc->every > 0 && f->size > 0 && now >= l->last + rc->every)
		return REASON_ROTATE_EVERY;
	return REASON_NONE;
}

/*
 * Whether a due log is tried now: a failure waits RETRY_S; a blocked log is
 * looked at again then, or at once when its writer has closed it (blocked by
 * its other names: once the table sees it with one). A look at it opens it,
 * and the events of that bring a pass: a blocked log tried at every pass
 * would be tried again and again.
 */
/* Its job found it not due, and the table has seen no change since. */
static bool unchanged(const struct live *l, const struct table_file *f)
{
	return l->idle_size && f->size == l->idle_size && f->blocks == l->idle_blocks;
}

static bool may_try(const struct live *l, const struct table_file *f, int64_t now)
{
	if (unchanged(l, f))
		return false;
	return now >= l->failed_at + RETRY_S ||
	       (l->blocked && !(f->flags & (l->blocked->linked ? TF_LINKED : TF_WRITING)));
}

/* The every timer at the next file due; failures wait RETRY_S. */
void rotate_arm(struct rotate *r)
{
	int64_t now = (int64_t)time(NULL), next = INT64_MAX;

	ev_timer_stop(r->eng.loop, &r->every);
	for (uint32_t zi = 0; zi < r->eng.cfg->n_zones; zi++) {
		struct table_zone *tz;

		if (!rotate_rotates(r, zi))
			continue;
		tz = table_zone(r->eng.table, zi);
		for (size_t i = 0; i < tz->age.len; i++) {
			struct table_file *f = tz->age.v[i];
			const struct rotate_config *rc;
			struct live *l;
			int64_t at;

			if (!f->size || !(rc = rotate_group_of(r, zi, f)) || rc->every <= 0 ||
			    !(l = rotate_live_get(r, zi, f)) || rotate_pre_waits(r, zi, rc, f))
				continue; /* a prerotate's end brings a pass */
			at = l->last + rc->every;
			if (at < l->failed_at + RETRY_S)
				at = l->failed_at + RETRY_S;
			/*
			 * Due, but a job is on it: the mover says when it is free. Found
			 * not due by its job: its next change brings a pass. Neither
			 * needs the timer, which would fire every half second meanwhile.
			 */
			if (at <= now && mover_busy(r->eng.mover, f->dir->dev, f->ino)) {
				rotate_wait_for(r, zi, f, "", NULL, NULL);
				continue;
			}
			if (at <= now && unchanged(l, f))
				continue;
			if (at < next)
				next = at;
		}
	}
	if (next == INT64_MAX)
		return;
	ev_timer_set(&r->every, next > now ? (double)(next - now) : 0.5, 0.);
	ev_timer_start(r->eng.loop, &r->every);
}

/* The automatic pass: every file of every rotating zone, by size and by every. */
static void pass(struct rotate *r, struct sweep_run *run)
{
	int64_t now = (int64_t)time(NULL);

	for (uint32_t zi = 0; zi < r->eng.cfg->n_zones; zi++) {
		struct table_file **v;
		size_t n;

		if (!rotate_rotates(r, zi) || !(v = zone_files(r, zi, &n)))
			continue;
		for (size_t i = 0; i < n; i++) {
			const struct rotate_config *rc = rotate_group_of(r, zi, v[i]);
			struct live *l = rotate_live_get(r, zi, v[i]);
			enum policy_reason why = l && rc ? trigger(rc, v[i], l, now) : REASON_NONE;

			if (rc && rotate_pre_waits(r, zi, rc, v[i]))
				continue;
			if (why == REASON_NONE) {
				rotate_unblock(r, l, "no longer due");
				/* Emptied, say: its prerotate's failure no longer stands, nor its wait. */
				if (l && l->pre_failed)
					l->failed_at = 0;
				rotate_pre_clear(r, l);
			}
			else if (may_try(l, v[i], now))
				rotate_act(r, zi, v[i], why, run, NULL);
		}
		free(v);
	}
}

/* A pass is over: its look at /proc is for that pass's cuts only. */
static void pass_done(struct rotate *r)
{
	rotate_look_release(r->look);
	r->look = NULL;
	r->busy = false;
}

/*
 * Moves each time the watch sees a file closed after writing, or loses events
 * (an overflow may hide a close): a held copy's writer may have let go.
 */
uint64_t rotate_closes_seen(const struct rotate *r)
{
	return r->eng.counters->write_closes + r->eng.counters->overflows;
}

/*
 * Copies moved aside by "rename": a compression job each, which asks the
 * lease whether the writer still has the copy, and compresses it only when
 * not. A copy its writer keeps (no signal, no postrotate) is held
 * (compress_done) and queued again only once a file was closed after
 * writing since its last job was queued: not on every event (its own job's
 * opens are events too), which would make job after job.
 */
static void compress_pending(struct rotate *r)
{
	for (size_t i = 0; i < r->n_pend; i++) {
		struct pending *p = &r->pend[i];
		const struct zone_config *zc =
			p->zone < r->eng.cfg->n_zones ? &r->eng.cfg->zones[p->zone] : NULL;
		char path[PATH_MAX * 2 + 8], rel[PATH_MAX];
		struct rotate_job *j;

		if (!zc || p->group >= zc->n_rotates || mover_busy(r->eng.mover, p->dev, p->ino) ||
		    (p->held && p->closes == rotate_closes_seen(r)))
			continue;
		if (rotate_join(rel, sizeof(rel), p->dir, p->name) < 0 ||
		    rotate_zone_join(path, sizeof(path), zc, rel) < 0)
			continue;
		j = rotate_job_new(ROTATE_JOB_COMPRESS, zc->path, path, p->dir, p->name, p->dir,
				   zc->name, &zc->rotates[p->group]);
		if (!j)
			continue;
		j->mj.action = "compress";
		j->mj.dev = p->dev;
		j->mj.ino = p->ino;
		j->mj.bytes = p->size; /* until the job's own look (rotate_job.c) */
		j->mj.run = rotate_job_run;
		j->mj.done = rotate_result_in;
		j->owner = r;
		j->now = (int64_t)time(NULL);
		p->closes = rotate_closes_seen(r); /* a close from now on is news */
		rotate_submit(r, j, NULL, NULL);
	}
}

/*
 * Held copies asked about again at the next compress_pending, events or not:
 * at housekeeping (a copy's directory may have no watch, and its writer's
 * close no event) and at the rotate command.
 */
static void unhold_pending(struct rotate *r)
{
	for (size_t i = 0; i < r->n_pend; i++)
		r->pend[i].held = false;
}

static void on_every(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	rotate_due(t->data);
}

void rotate_due(struct rotate *r)
{
	struct sweep_run run = { .dry = r->eng.dry_run };

	if (r->busy || *r->eng.paused)
		return;
	r->busy = true;
	pass(r, &run);
	if (!r->eng.dry_run)
		compress_pending(r);
	rotate_arm(r);
	rotate_save_lasts(r, r->eng.cfg);
	pass_done(r);
}

void rotate_housekeeping(struct rotate *r)
{
	if (r->busy || *r->eng.paused)
		return;
	r->busy = true;
	/* Copies past max_age go even when their log is quiet (a dry run reports at rotations). */
	for (uint32_t zi = 0; zi < r->eng.cfg->n_zones; zi++) {
		struct table_file **v;
		size_t n;

		if (r->eng.dry_run || !rotate_rotates(r, zi) || !(v = zone_files(r, zi, &n)))
			continue;
		for (size_t i = 0; i < n; i++) {
			const struct rotate_config *rc = rotate_group_of(r, zi, v[i]);
			char path[PATH_MAX + 256], rel[PATH_MAX];
			struct rotate_job *j;

			if (!rc || rc->max_age < 0)
				continue;
			rotate_live_get(r, zi, v[i]); /* its last rotation, before its copies go */
			if (mover_busy(r->eng.mover, v[i]->dir->dev, v[i]->ino) ||
			    sweep_file_path(&r->eng.cfg->zones[zi], v[i], path, sizeof(path), rel,
					    sizeof(rel)) < 0 ||
			    !(j = rotate_new_job(r, ROTATE_JOB_EXPIRE, zi, rc, v[i], path, NULL)))
				continue;
			j->mj.bytes = 0;
			rotate_submit(r, j, NULL, NULL);
		}
		free(v);
	}
	rotate_prune_lives(r);
	unhold_pending(r);
	pass_done(r);
	rotate_due(r);
}

size_t rotate_now(struct rotate *r, int zone, struct sweep_run *run, json_object *errors)
{
	size_t failed = 0;

	r->busy = true;
	for (uint32_t zi = 0; zi < r->eng.cfg->n_zones; zi++) {
		struct table_file **v;
		size_t n;

		if ((zone >= 0 && zi != (uint32_t)zone) || !rotate_rotates(r, zi) ||
		    !(v = zone_files(r, zi, &n)))
			continue;
		for (size_t i = 0; i < n; i++)
			if (v[i]->size > 0)
				failed += rotate_act(r, zi, v[i], REASON_MANUAL, run, errors) < 0;
		free(v);
	}
	if (!run->dry) {
		unhold_pending(r);
		compress_pending(r);
	}
	rotate_arm(r);
	rotate_save_lasts(r, r->eng.cfg);
	pass_done(r);
	return failed;
}

void rotate_act_alone(struct rotate *r, int zi, struct table_file *f, enum policy_reason why,
		      struct sweep_run *run, json_object *errors, bool cut)
{
	/* Archived or deleted meanwhile: nothing left to rotate. */
	if (!f || !f->size || !rotate_rotates(r, (size_t)zi) || *r->eng.paused || r->busy)
		return;
	r->busy = true;
	if (cut)
		rotate_act_cut(r, (uint32_t)zi, f, why, run, errors);
	else
		rotate_act(r, (uint32_t)zi, f, why, run, errors);
	rotate_arm(r);
	pass_done(r);
}

/* The rotate command's log, put off while a job was on it: cut now if still there. */
static void manual_again(struct rotate *r, const struct wait *w)
{
	int zi = config_zone_index(r->eng.cfg, w->zone);

	if (zi >= 0)
		rotate_act_alone(r, zi, table_file_find(r->eng.table, (size_t)zi, w->rel, w->ino),
				 REASON_MANUAL, w->run, w->errors, false);
}

uint64_t rotate_wait_key(uint64_t dev, uint64_t ino)
{
	return (ino * 0x9e3779b97f4a7c15ULL) ^ dev;
}

void rotate_pass_soon(struct rotate *r)
{
	if (!ev_is_active(&r->soon)) {
		ev_timer_set(&r->soon, 0., 0.);
		ev_timer_start(r->eng.loop, &r->soon);
	}
}

static void on_tidy(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct rotate *r = t->data;

	(void)loop;
	(void)revents;
	rotate_arm(r);
	rotate_save_lasts(r, r->eng.cfg);
}

void rotate_tidy_soon(struct rotate *r)
{
	if (!ev_is_active(&r->tidy)) {
		ev_timer_set(&r->tidy, 0., 0.);
		ev_timer_start(r->eng.loop, &r->tidy);
	}
}

/* An automatic wait is over: its key may be taken again (by it, or by a wait sharing it). */
static void auto_wait_done(struct rotate *r, const struct wait *w)
{
	uint64_t key = rotate_wait_key(w->dev, w->ino);

	if (!w->run && u64map_get(r->auto_waits, key) == w)
		u64map_del(r->auto_waits, key);
}

void rotate_file_free(void *rotate, uint64_t dev, uint64_t ino)
{
	struct rotate *r = rotate;
	struct wait *mine = NULL, **p = &r->waits, *w;
	bool again = false;

	(void)dev;
	(void)ino;
	/* Every wait whose file is free (two files may share a key in the busy set). */
	while ((w = *p)) {
		if (!mover_busy(r->eng.mover, w->dev, w->ino)) {
			*p = w->next;
			w->next = mine;
			mine = w;
		} else {
			p = &w->next;
		}
	}
	while ((w = mine)) {
		mine = w->next;
		auto_wait_done(r, w);
		if (w->run)
			manual_again(r, w);
		else
			again = true;
		sweep_run_release(w->run); /* the command answers once the last of its jobs is in */
		rotate_wait_free(w);
	}
	if (again)
		rotate_pass_soon(r); /* a batch of freed files: one pass, not one each */
}

void rotate_reconfigure(struct rotate *r, const struct config *cfg)
{
	const struct config *old = r->eng.cfg;
	struct u64map *fresh = u64map_create();
	struct carrying c = { r, old, fresh };

	r->eng.cfg = cfg;
	rotate_save_lasts(r, old); /* what is known now, under the old zone indexes */
	rotate_drop_pending(r);
	ev_timer_stop(r->eng.loop, &r->every);
	if (!fresh)
		return; /* the old entries stay: each names its zone and inode, and is checked */
	u64map_foreach(r->lives, rotate_carry_blocked, &c);
	u64map_foreach(r->lives, rotate_free_live, NULL);
	u64map_destroy(r->lives);
	r->lives = fresh;
}

struct rotate *rotate_create(const struct engine_parts *parts)
{
	struct rotate *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->eng = *parts;
	r->lives = u64map_create();
	if (!r->lives) {
		free(r);
		return NULL;
	}
	ev_timer_init(&r->every, on_every, 0., 0.);
	r->every.data = r;
	ev_timer_init(&r->soon, on_every, 0., 0.);
	r->soon.data = r;
	ev_timer_init(&r->tidy, on_tidy, 0., 0.);
	r->tidy.data = r;
	r->auto_waits = u64map_create();
	if (!r->auto_waits) {
		u64map_destroy(r->lives);
		free(r);
		return NULL;
	}
	if (asprintf(&r->saved_path, "%s/rotations.json", parts->cfg->state_dir) < 0)
		r->saved_path = NULL;
	else if (access(r->saved_path, F_OK) == 0 &&
		 !json_object_is_type(r->saved = json_object_from_file(r->saved_path),
				      json_type_object)) {
		json_object_put(r->saved);
		r->saved = NULL;
		log_warn("%s is not a file sweepd can read: each log's every counts from now",
			 r->saved_path);
	}
	return r;
}

void rotate_stopping(struct rotate *r)
{
	if (r)
		rotate_pre_stop_all(r);
}

void rotate_destroy(struct rotate *r)
{
	if (!r)
		return;
	ev_timer_stop(r->eng.loop, &r->every);
	ev_timer_stop(r->eng.loop, &r->soon);
	ev_timer_stop(r->eng.loop, &r->tidy);
	rotate_save_lasts(r, r->eng.cfg);
	while (r->kids) {
		struct kid *k = r->kids;
		ev_child_stop(r->eng.loop, &k->w);
		r->kids = k->next;
		free(k->what);
		free(k);
	}
	/*
	 * The mover stopped first and told of every file it freed, which ended
	 * every wait; one left would hold a request whose client is gone: its
	 * run is left, never answered.
	 */
	while (r->waits) {
		struct wait *w = r->waits;

		r->waits = w->next;
		rotate_wait_free(w);
	}
	u64map_destroy(r->auto_waits);
	rotate_pre_stop_all(r);
	rotate_look_release(r->look);
	u64map_foreach(r->lives, rotate_free_live, NULL);
	u64map_destroy(r->lives);
	rotate_drop_pending(r);
	free(r->pend);
	json_object_put(r->saved);
	free(r->saved_path);
	free(r);
}
