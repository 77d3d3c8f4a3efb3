#include "sweep.h"

#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "counters.h"
#include "fsinfo.h"
#include "log.h"
#include "sweep_job.h"
#include "sweep_priv.h"
#include "table.h"
#include "u64map.h"
#include "units.h"
#include "vec.h"

static uint64_t held_key(uint64_t dev, uint64_t ino)
{
	return (ino * 0x9e3779b97f4a7c15ULL ^ dev) | 1;
}

/*
 * A restored file's hold, by its inode and its mtime as restored: a new file
 * that takes the inode once the restored one is deleted (or the same file
 * written again, which its new mtime makes young anyway) is not held.
 */
static uint64_t hold_key(uint64_t dev, uint64_t ino, int64_t mtime)
{
	return (held_key(dev, ino) ^ ((uint64_t)mtime * 0xc2b2ae3d27d4eb4fULL)) | 1;
}

/* Is f at a path a restore is putting a file at? */
static bool arriving(const struct sweep *s, const struct table_file *f)
{
	const struct zone_config *zc = &s->eng.cfg->zones[f->dir->zone];
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
	until = (int64_t)(uintptr_t)u64map_get(s->held, hold_key(f->dir->dev, f->ino, f->mtime));
	if (until && until <= now) {
		u64map_del(s->held, hold_key(f->dir->dev, f->ino, f->mtime));
		return false;
	}
	return until != 0;
}

int64_t sweep_held_until(struct sweep *s, const struct table_file *f, int64_t now)
{
	int64_t until;

	if (!is_held(s, f, now))
		return 0;
	/* Held while it arrives, before its inode is known: until then, at least now. */
	until = (int64_t)(uintptr_t)u64map_get(s->held, hold_key(f->dir->dev, f->ino, f->mtime));
	return until ? until : now;
}

void sweep_hold(struct sweep *s, uint64_t dev, uint64_t ino, int64_t mtime)
{
	int64_t keep = s->eng.cfg->archive_keep;
	/* At least a day: an archive that hands its files on at once (keep 0s) holds none. */
	int64_t until = sweep_now() + (keep == CONFIG_UNSET || keep < SWEEP_HOLD_DEFAULT_S
					       ? SWEEP_HOLD_DEFAULT_S
					       : keep);

	u64map_put(s->held, hold_key(dev, ino, mtime), (void *)(uintptr_t)until);
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

void sweep_say_episode(struct sweep_episode *ep, const char *what, bool blocked, const char *why,
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

void sweep_report(struct sweep *s, struct sweep_run *run, json_object *entry)
{
	if (!run)
		audit_report(s->eng.audit, NULL, entry);
	else if (run->unaudited && entry && run->actions)
		json_object_array_add(run->actions, entry);
	else
		audit_report(s->eng.audit, run->actions, entry);
}

/*
 * The archive full (err: -ENOSPC or -EDQUOT), or, with err 0, taking files
 * again. The sentences name the archive, its filesystem and its free room as
 * found now, and what an operator can do: the zones' and disks' episodes
 * blocked by it say the same.
 */
void sweep_archive_room(struct sweep *s, int err, int64_t now)
{
	const char *path = s->eng.cfg->archive_path, *todo;
	char where[PATH_MAX + 64], sz[32];
	struct fsinfo fi;
	int r;

	if (!err && !s->archive_full.active)
		return;
	if (err) {
		s->archive_retry_at = now + SWEEP_RETRY_S;
		s->eng.counters->errors++;
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
	r = episode_set(&s->archive_full, err != 0, s->full_self, 0, s->eng.counters);
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
bool sweep_archive_may_try(const struct sweep *s, const struct sweep_run *run, int64_t now)
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
void sweep_archive_misdir(struct sweep *s, uint32_t zi, int err, int64_t now)
{
	struct sweep_zone *sz = &s->zones[zi];
	const char *zone = s->eng.cfg->zones[zi].name, *apath = s->eng.cfg->archive_path;

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
	s->eng.counters->blocked++;
	log_warn("%s", sz->arch_why);
}

const char *sweep_archive_blocked(const struct sweep *s, size_t zone)
{
	return zone < s->eng.cfg->n_zones && s->zones[zone].arch_why[0] ? s->zones[zone].arch_why
									   : NULL;
}

static uint64_t file_key(uint64_t dev, uint64_t ino)
{
	return held_key(dev, ino);
}

/*
 * A file whose move failed lately: left alone until its retry time, kept in
 * s->failed as until << 8 | tries << 1 | too_deep. POLICY_FREE once that has
 * passed; the entry stays (its tries make the next wait longer) until the file
 * is moved, or until long after (SWEEP_FAIL_FORGET_S).
 */
#define SWEEP_FAIL_FORGET_S (4 * 3600) /* tries forgotten this long after the last wait */
#define FAIL_MAP_TIDY 65536		/* past this many entries, the forgotten ones go */

static int64_t fail_until(uintptr_t v)
{
	return sweep_fail_decode(v).until;
}

static enum policy_block failing(struct sweep *s, const struct table_file *f, int64_t now)
{
	uintptr_t v;

	if (!u64map_len(s->failed))
		return POLICY_FREE;
	v = (uintptr_t)u64map_get(s->failed, file_key(f->dir->dev, f->ino));
	if (!v || fail_until(v) <= now)
		return POLICY_FREE;
	return v & 1 ? POLICY_TOO_DEEP : POLICY_FAILING;
}

static bool forgotten(uint64_t key, void *val, void *ud)
{
	(void)key;
	return fail_until((uintptr_t)val) + SWEEP_FAIL_FORGET_S <= *(const int64_t *)ud;
}

unsigned sweep_fail_for_now(struct sweep *s, const struct mover_job *mj, bool deep, int64_t now)
{
	uint64_t key = file_key(mj->dev, mj->ino);
	uintptr_t v = (uintptr_t)u64map_get(s->failed, key);

	if (!v && u64map_len(s->failed) >= FAIL_MAP_TIDY)
		u64map_drop_if(s->failed, forgotten, NULL, &now);
	v = sweep_fail_again(v, deep, now, SWEEP_RETRY_S, SWEEP_FAIL_FORGET_S);
	u64map_put(s->failed, key, (void *)v);
	return sweep_fail_decode(v).tries;
}

void sweep_fail_forget(struct sweep *s, const struct mover_job *mj)
{
	if (u64map_len(s->failed))
		u64map_del(s->failed, file_key(mj->dev, mj->ino));
}

bool sweep_fail_log(struct sweep *s, unsigned tries, int64_t now)
{
	sweep_fail_log_flush(s, now);
	if (tries > 1 || s->fail_logged >= SWEEP_FAIL_LOG_MAX) {
		s->fail_quiet++;
		return false;
	}
	s->fail_logged++;
	return true;
}

void sweep_fail_log_flush(struct sweep *s, int64_t now)
{
	if (now - s->fail_log_at < 60)
		return;
	if (s->fail_quiet)
		log_err("%llu more failure(s) to archive, delete or upload a file in the last minute, not "
			"logged one by one (a file that fails again, or more than %d a minute): "
			"counters.errors counts them, sweepctl sweep lists each with its error",
			(unsigned long long)s->fail_quiet, SWEEP_FAIL_LOG_MAX);
	s->fail_log_at = now;
	s->fail_logged = 0;
	s->fail_quiet = 0;
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

	return mover_busy(s->eng.mover, f->dir->dev, f->ino);
}

/* The planner's view of the table at now, for run (NULL: any). */
struct sweep_view sweep_view_at(struct sweep *s, const struct sweep_run *run, int64_t now)
{
	return (struct sweep_view){ .table = s->eng.table, .cfg = s->eng.cfg, .now = now,
				    .skip = run && run->mark ? TF_PICKED | TF_REPORTED : TF_PICKED,
				    .held = held_cb, .failing = failing_cb, .busy = busy_cb,
				    .ud = s, .next = POLICY_NEVER };
}

const struct sweep_episode *sweep_zone_episode(const struct sweep *s, size_t zone)
{
	return zone < s->eng.cfg->n_zones ? &s->zones[zone].ep : NULL;
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
