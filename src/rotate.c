#include "rotate.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "alarms.h"
#include "audit.h"
#include "daemon.h"
#include "fileio.h"
#include "lease.h"
#include "log.h"
#include "pathenc.h"
#include "mover.h"
#include "rotate_job.h"
#include "rotplan.h"
#include "sweep.h"
#include "table.h"
#include "u64map.h"
#include "vec.h"
#include "watch.h"
#include "writers.h"

extern char **environ;

/* A failed rotation is tried again automatically after this long (the command: at once). */
#define RETRY_S 60

/*
 * A log not cut in place because a writer lacks O_APPEND (or its flags
 * cannot be read): the rotate_blocked alarm, from its start to its end.
 */
struct blocked {
	int64_t since;
	bool linked; /* by its other names (hard links), not by a writer */
	int pid; /* 0: a writer sweepd cannot see */
	char comm[16];
	char *path;
	char *summary;
};

/* What is known of one live log. */
struct live {
	uint64_t ino;
	uint32_t zone;
	int64_t last;	   /* its last rotation, or when it was first seen */
	int64_t failed_at; /* its last failure */
	uint64_t floor;	   /* keep_tail_lines: its size after the last cut */
	/* Found not due by its job at this size: not queued again until it changes. */
	uint64_t idle_size, idle_blocks;
	bool reported;	   /* a dry daemon has reported it */
	struct blocked *blocked;
};

/* A copy moved aside by "rename", compressed once its writer has closed it. */
struct pending {
	uint32_t zone;
	char *dir; /* relative to the zone root */
	char *name;
	uint64_t dev, ino;
};

/*
 * A log not handed to the logs lane because a job is on it already (an
 * archive or delete in the other lane, or a cut of ours): looked at again once
 * the mover says the file is free. An automatic one makes a pass then; one
 * asked for by the rotate command (run set, held) is cut then if still there,
 * and the request answers after it.
 */
struct wait {
	uint64_t dev, ino;
	char *zone; /* by name: a reload may move it */
	char *rel;  /* beneath the zone's root */
	struct sweep_run *run;
	json_object *errors;
	struct wait *next;
};

/* A postrotate command running. */
struct kid {
	ev_child w;
	struct kid *next;
	char *what;
};

struct rotate {
	struct daemon *d;
	struct u64map *lives;
	/*
	 * state_dir/rotations.json: each log's last rotation (or first sight) by
	 * "zone:inode", so that every's clock survives a restart even for a log
	 * that keeps no copy. Saved after a pass that changed it.
	 */
	char *saved_path;
	json_object *saved;
	bool dirty;
	struct pending *pend;
	size_t n_pend, cap_pend;
	struct kid *kids;
	ev_timer every;
	bool busy;
	size_t n_blocked; /* lives with a blocked */
	size_t inflight; /* jobs with the mover */
	struct wait *waits;
	struct rotate_look *look; /* the pass under way's, once one of its cuts is queued */
};

static uint64_t live_key(uint32_t zone, uint64_t ino)
{
	return (ino << 12) ^ zone ^ 1;
}

static void blocked_free(struct blocked *b)
{
	if (!b)
		return;
	free(b->path);
	free(b->summary);
	free(b);
}

static void free_live(uint64_t key, void *val, void *ud)
{
	struct live *l = val;

	(void)key;
	(void)ud;
	blocked_free(l->blocked);
	free(l);
}

/* The rotate_blocked alarm of l ends, said once. */
static void unblock(struct rotate *r, struct live *l, const char *why)
{
	if (!l || !l->blocked)
		return;
	log_info("%s: rotation no longer blocked: %s", l->blocked->path, why);
	blocked_free(l->blocked);
	l->blocked = NULL;
	r->n_blocked--;
}

/*
 * The rotate_blocked alarm of l starts (said once, with what to do) or goes
 * on, perhaps with another writer named.
 */
static void block(struct rotate *r, struct live *l, const struct rotate_job *j)
{
	struct blocked *b = l->blocked;
	char *summary = strdup(j->err), *path = strdup(j->mj.path);

	if (!summary || !path || (!b && !(b = calloc(1, sizeof(*b))))) {
		free(summary);
		free(path);
		log_err("%s", j->err);
		return;
	}
	if (!l->blocked) {
		b->since = j->now;
		l->blocked = b;
		r->n_blocked++;
		log_warn("%s", j->err);
	}
	free(b->summary);
	free(b->path);
	b->summary = summary;
	b->path = path;
	b->linked = j->linked;
	b->pid = j->pid;
	snprintf(b->comm, sizeof(b->comm), "%s", j->comm);
}

static bool is_pending(const struct rotate *r, uint32_t zone, const char *dir, const char *name)
{
	for (size_t i = 0; i < r->n_pend; i++)
		if (r->pend[i].zone == zone && !strcmp(r->pend[i].dir, dir) &&
		    !strcmp(r->pend[i].name, name))
			return true;
	return false;
}

static void add_pending(struct rotate *r, uint32_t zone, const char *dir, const char *name,
			uint64_t dev, uint64_t ino)
{
	struct pending *g, p;

	if (is_pending(r, zone, dir, name))
		return;
	g = vec_grow(r->pend, &r->cap_pend, r->n_pend + 1, sizeof(*g));
	if (g)
		r->pend = g;
	p = (struct pending){ zone, strdup(dir), strdup(name), dev, ino };
	if (!g || !p.dir || !p.name) {
		free(p.dir);
		free(p.name);
		log_err("%s: out of memory: this copy stays uncompressed", name);
		return;
	}
	r->pend[r->n_pend++] = p;
}

static int join(char *buf, size_t len, const char *a, const char *b)
{
	int n = snprintf(buf, len, "%s%s%s", a, *a && *b ? "/" : "", b);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int zone_join(char *buf, size_t len, const struct zone_config *zc, const char *rel)
{
	return join(buf, len, strcmp(zc->path, "/") ? zc->path : "", rel);
}

/*
 * f's directory and its copies' directory, relative to the zone root, into
 * dir_rel and copy_rel (PATH_MAX bytes each).
 */
static int copy_dirs(struct rotate *r, uint32_t zone, const struct table_file *f, char *dir_rel,
		     char *copy_rel)
{
	const char *old = r->d->cfg->zones[zone].rotate.olddir;

	if (table_dir_relpath(f->dir, dir_rel, PATH_MAX) < 0 ||
	    join(copy_rel, PATH_MAX, dir_rel, old ? old : "") < 0)
		return -ENAMETOOLONG;
	return 0;
}

/* The copies' directory of f, as a real descriptor, to look at; its path into copy_rel. */
static int open_copy_dir(struct rotate *r, uint32_t zone, const struct table_file *f,
			 char *copy_rel)
{
	char dir_rel[PATH_MAX];
	int e = copy_dirs(r, zone, f, dir_rel, copy_rel);

	return e < 0 ? e : watch_open_beneath(r->d->watch, zone, copy_rel, O_RDONLY);
}

/* The owner of the live log f, or (uid_t)-1. */
static uid_t live_owner(struct rotate *r, const struct table_file *f)
{
	int dfd = watch_dir_open(r->d->watch, f->dir);
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

		r->d->counters.deleted++;
		r->d->counters.bytes_freed += x->blocks * 512;
		if (join(rel, sizeof(rel), dir_rel, x->name) < 0 ||
		    zone_join(path, sizeof(path), zc, rel) < 0)
			continue;
		audit_report(r->d->audit, j->run ? j->run->actions : NULL,
			     audit_entry(now, "delete", zc->name, path, x->size,
					 x->by_age ? REASON_MAX_AGE : REASON_MAX_FILES, false, NULL));
	}
}

static void saved_key(const struct config *cfg, uint32_t zone, uint64_t ino, char *buf,
		      size_t len)
{
	snprintf(buf, len, "%s:%llu", cfg->zones[zone].name, (unsigned long long)ino);
}

/* The saved last rotation of a log, or 0. */
static int64_t saved_last(const struct rotate *r, uint32_t zone, uint64_t ino)
{
	json_object *v;
	char key[128];

	saved_key(r->d->cfg, zone, ino, key, sizeof(key));
	if (r->saved && json_object_object_get_ex(r->saved, key, &v) &&
	    json_object_is_type(v, json_type_int) && json_object_get_int64(v) > 0)
		return json_object_get_int64(v);
	return 0;
}

struct saving {
	const struct config *cfg;
	json_object *o;
};

static void save_one(uint64_t key, void *val, void *ud)
{
	struct live *l = val;
	struct saving *sv = ud;
	char name[128];

	(void)key;
	if (l->zone >= sv->cfg->n_zones)
		return;
	saved_key(sv->cfg, l->zone, l->ino, name, sizeof(name));
	json_object_object_add(sv->o, name, json_object_new_int64(l->last));
}

/*
 * Writes rotations.json when it changed: the logs known now, nothing of the
 * gone. cfg: the configuration the zone indexes of what is known refer to.
 */
static void save_lasts(struct rotate *r, const struct config *cfg)
{
	struct saving sv = { cfg, NULL };
	char tmp[PATH_MAX + 8];
	const char *text;
	json_object *o;
	int e;

	if (!r->dirty || !r->saved_path || r->d->dry_run || !(o = json_object_new_object()))
		return;
	sv.o = o;
	u64map_foreach(r->lives, save_one, &sv);
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	snprintf(tmp, sizeof(tmp), "%s.tmp", r->saved_path);
	e = file_replace(r->saved_path, tmp, text, strlen(text), false);
	if (e < 0)
		log_warn("cannot save %s: %s", r->saved_path, strerror(-e));
	json_object_put(r->saved);
	r->saved = o;
	r->dirty = false;
}

/*
 * What is known of f; made when first seen: its last rotation is the later of
 * its newest copy's and the saved one (neither: now, its first sight), and
 * its uncompressed copies wait for compression.
 */
static struct live *live_get(struct rotate *r, uint32_t zone, struct table_file *f)
{
	uint64_t key = live_key(zone, f->ino);
	struct live *l = u64map_get(r->lives, key);
	char copy_rel[PATH_MAX];
	struct rotplan_copy *v;
	size_t n;
	int fd;

	if (l && l->ino == f->ino && l->zone == zone)
		return l;
	if (!l && (!(l = calloc(1, sizeof(*l))) || u64map_put(r->lives, key, l) < 0)) {
		free(l);
		return NULL;
	}
	unblock(r, l, "another file now has its place"); /* a key shared with another inode */
	*l = (struct live){ .ino = f->ino, .zone = zone, .last = saved_last(r, zone, f->ino) };
	r->dirty = true;
	fd = open_copy_dir(r, zone, f, copy_rel);
	if (fd >= 0 && rotate_list_copies(fd, f->name, live_owner(r, f), &v, &n) == 0) {
		int64_t soon = (int64_t)time(NULL) + 60;

		for (size_t i = 0; i < n; i++) {
			struct stat st;

			/* A name dated in the future is no rotation of ours: it would stop every. */
			if (v[i].when > l->last && v[i].when <= soon)
				l->last = v[i].when;
			if (!v[i].zst && r->d->cfg->zones[zone].rotate.compress == COMPRESS_ZSTD &&
			    fstatat(fd, v[i].name, &st, AT_SYMLINK_NOFOLLOW) == 0)
				add_pending(r, zone, copy_rel, v[i].name, st.st_dev, st.st_ino);
		}
		rotate_free_copies(v, n);
	}
	if (fd >= 0)
		close(fd);
	if (!l->last)
		l->last = (int64_t)time(NULL);
	return l;
}

static void on_kid(struct ev_loop *loop, ev_child *w, int revents)
{
	struct kid *k = (struct kid *)w, **p;
	struct rotate *r = w->data;

	(void)revents;
	ev_child_stop(loop, w);
	if (!WIFEXITED(w->rstatus) || WEXITSTATUS(w->rstatus)) {
		r->d->counters.errors++;
		log_err("%s: postrotate failed (%s %d)", k->what,
			WIFEXITED(w->rstatus) ? "exit status" : "signal",
			WIFEXITED(w->rstatus) ? WEXITSTATUS(w->rstatus) : WTERMSIG(w->rstatus));
	}
	for (p = &r->kids; *p != k; p = &(*p)->next)
		;
	*p = k->next;
	free(k->what);
	free(k);
}

/* postrotate through /bin/sh, with the live log as $1 and its copy as $2; not waited for. */
static void run_postrotate(struct rotate *r, const char *cmd, const char *path, const char *copy)
{
	char *argv[] = { "sh", "-c", (char *)cmd, "sweepd-postrotate", (char *)path, (char *)copy,
			 NULL };
	struct kid *k = calloc(1, sizeof(*k));
	pid_t pid;
	int e;

	if (!k || !(k->what = strdup(path))) {
		free(k);
		log_err("%s: out of memory: postrotate not run", path);
		return;
	}
	e = posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ);
	if (e) {
		r->d->counters.errors++;
		log_err("%s: cannot run postrotate: %s", path, strerror(e));
		free(k->what);
		free(k);
		return;
	}
	ev_child_init(&k->w, on_kid, pid, 0);
	k->w.data = r;
	ev_child_start(r->d->loop, &k->w);
	k->next = r->kids;
	r->kids = k;
}

/* signal to the pid in pidfile: the writer reopens its log. */
static int signal_writer(const struct rotate_config *rc, char *err, size_t len)
{
	FILE *f = fopen(rc->pidfile, "re");
	long pid = 0;
	bool read_ok = f && fscanf(f, "%ld", &pid) == 1 && pid > 1;

	if (f)
		fclose(f);
	if (!read_ok) {
		snprintf(err, len, "cannot read a pid from pidfile %s%s%s", rc->pidfile,
			 f ? "" : ": ", f ? "" : strerror(errno));
		return -1;
	}
	if (kill((pid_t)pid, rc->signal) < 0) {
		snprintf(err, len, "cannot send SIG%s to pid %ld (from %s): %s",
			 sigabbrev_np(rc->signal), pid, rc->pidfile, strerror(errno));
		return -1;
	}
	return 0;
}

/* Tells the writer of a file moved aside to reopen its log. */
static void reopen_writer(struct rotate *r, const struct rotate_config *rc, const char *path,
			  const char *copy_path)
{
	char err[PATH_MAX + 256];

	if (rc->pidfile && rc->signal && signal_writer(rc, err, sizeof(err)) < 0) {
		r->d->counters.errors++;
		log_err("%s: rotated, but %s: its writer goes on in %s", path, err, copy_path);
	}
	if (rc->postrotate)
		run_postrotate(r, rc->postrotate, path, copy_path);
}

static void job_done(struct mover_job *mj, bool cancelled);
static void arm(struct rotate *r);

/* A job for f's zone, with f's directories; NULL (said) when it cannot be made. */
static struct rotate_job *job_for(struct rotate *r, enum rotate_job_kind kind, uint32_t zone,
				  const struct table_file *f, const char *path,
				  const char *name)
{
	const struct zone_config *zc = &r->d->cfg->zones[zone];
	char dir_rel[PATH_MAX], copy_rel[PATH_MAX];
	struct rotate_job *j;
	int root;

	if (copy_dirs(r, zone, f, dir_rel, copy_rel) < 0)
		return NULL;
	root = watch_open_beneath(r->d->watch, zone, "", O_PATH);
	if (root < 0)
		return NULL; /* the zone's root moved or went: its events follow */
	j = rotate_job_new(kind, root, path, dir_rel, name ? name : f->name, copy_rel, zc);
	if (!j) {
		log_err("%s: out of memory: its rotation work is put off", path);
		return NULL;
	}
	j->mj.action = kind == ROTATE_JOB_COMPRESS ? "compress"
		       : kind == ROTATE_JOB_EXPIRE ? "expire"
		       : zc->rotate.keep_tail_lines > 0 ? "truncate"
						       : "rotate";
	j->mj.dev = f->dir->dev;
	j->mj.ino = f->ino;
	j->mj.bytes = f->size;
	j->mj.run = rotate_job_run;
	j->mj.done = job_done;
	j->owner = r;
	j->now = (int64_t)time(NULL);
	if (kind == ROTATE_JOB_CUT) {
		if (!r->look)
			r->look = rotate_look_new(); /* NULL: each cut asks /proc afresh */
		j->look = rotate_look_hold(r->look);
	}
	return j;
}

static void wait_free(struct wait *w)
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
static int wait_for(struct rotate *r, uint32_t zone, const struct table_file *f, const char *rel,
		    struct sweep_run *run, json_object *errors)
{
	struct wait *w;

	if (!run || !run->refs) {
		run = NULL;
		for (w = r->waits; w; w = w->next)
			if (!w->run && w->dev == f->dir->dev && w->ino == f->ino)
				return 0; /* one pass for it is enough */
	}
	w = calloc(1, sizeof(*w));
	if (!w || !(w->zone = strdup(r->d->cfg->zones[zone].name)) || !(w->rel = strdup(rel))) {
		if (w)
			wait_free(w);
		if (!run)
			return 0; /* the next trigger looks at it again (housekeeping: 30 s) */
		log_err("%s/%s: out of memory: not rotated", r->d->cfg->zones[zone].path, rel);
		return -ENOMEM;
	}
	w->dev = f->dir->dev;
	w->ino = f->ino;
	w->run = run;
	sweep_run_hold(run);
	w->errors = run && errors ? json_object_get(errors) : NULL;
	w->next = r->waits;
	r->waits = w;
	return 0;
}

static void submit(struct rotate *r, struct rotate_job *j, struct sweep_run *run,
		   json_object *errors)
{
	j->run = run && run->refs ? run : NULL;
	sweep_run_hold(j->run);
	j->errors = j->run && errors ? json_object_get(errors) : NULL;
	r->inflight++;
	mover_submit(r->d->mover, &j->mj);
}

/*
 * One file, chosen: a job for the logs lane, or, for a dry run, reported.
 * Returns 0, or -errno when no job could be made.
 */
static int act(struct rotate *r, uint32_t zone, struct table_file *f, enum policy_reason why,
	       struct sweep_run *run, json_object *errors)
{
	const struct zone_config *zc = &r->d->cfg->zones[zone];
	bool tail = zc->rotate.keep_tail_lines > 0;
	char path[PATH_MAX + 256], rel[PATH_MAX];
	struct live *l = live_get(r, zone, f);
	struct rotate_job *j;

	if (sweep_file_path(zc, f, path, sizeof(path), rel, sizeof(rel)) < 0)
		return -ENAMETOOLONG;
	/*
	 * Never two jobs on one file. An archive or delete on its way (the
	 * other lane) puts the cut off until its result is in. A job of ours is
	 * in this lane, which runs in order: asked for by hand, the cut goes
	 * after it; otherwise the log is looked at again once that job is in.
	 */
	if (mover_busy(r->d->mover, f->dir->dev, f->ino) &&
	    (why != REASON_MANUAL || mover_busy_in(r->d->mover, MOVER_ARCHIVE, f->dir->dev, f->ino)))
		return wait_for(r, zone, f, rel, why == REASON_MANUAL ? run : NULL, errors);
	if (run->dry) {
		audit_report(r->d->audit, run->actions,
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
	j = job_for(r, ROTATE_JOB_CUT, zone, f, path, NULL);
	if (!j)
		return -ENOMEM;
	j->why = why;
	j->floor = l ? l->floor : 0;
	/* Its opens of the live log, counted as ours before the worker's can be seen. */
	if (tail || zc->rotate.method != ROTATE_RENAME)
		for (int k = 0; k < ROTATE_JOB_OPENS; k++)
			watch_self_open(r->d->watch, f, true);
	else
		j->opens = ROTATE_JOB_OPENS;
	submit(r, j, run, errors);
	return 0;
}

/* The live log a job was for, as the table and the rotator know it now; NULL when gone. */
static struct table_file *job_file(struct rotate *r, const struct rotate_job *j, int zi)
{
	char rel[PATH_MAX];

	if (zi < 0 || join(rel, sizeof(rel), j->dir_rel, j->name) < 0)
		return NULL;
	return table_file_find(r->d->table, (size_t)zi, rel, j->mj.ino);
}

/* A cut's result: the log's state, counters, audit, alarms, its writer told. */
static void cut_done(struct rotate *r, struct rotate_job *j, int zi, struct table_file *f)
{
	const struct zone_config *zc = &r->d->cfg->zones[zi];
	bool tail = zc->rotate.keep_tail_lines > 0;
	struct live *l = u64map_get(r->lives, live_key((uint32_t)zi, j->mj.ino));
	char copy_rel[PATH_MAX], copy_path[PATH_MAX + 256] = "";

	if (j->r > 0) {
		if (*j->copy && (join(copy_rel, sizeof(copy_rel), j->copy_rel, j->copy) < 0 ||
				 zone_join(copy_path, sizeof(copy_path), zc, copy_rel) < 0))
			copy_path[0] = '\0';
		if (zc->rotate.method == ROTATE_RENAME && !tail) {
			reopen_writer(r, &zc->rotate, j->mj.path, copy_path);
			if (zc->rotate.compress == COMPRESS_ZSTD && *j->copy)
				add_pending(r, (uint32_t)zi, j->copy_rel, j->copy, j->mj.dev, j->copy_ino);
		}
		if (l) {
			l->last = j->now;
			if (j->floor_set)
				l->floor = j->new_floor;
		}
		r->dirty = true;
		r->d->counters.rotated++;
		if (j->run)
			j->run->count++;
		audit_report(r->d->audit, j->run ? j->run->actions : NULL,
			     audit_entry(j->now, tail ? "truncate" : "rotate", zc->name, j->mj.path,
					 j->cut, j->why, false, *copy_path ? copy_path : NULL));
	}
	expired_in(r, j, zc, j->copy_rel);
	if (l && (l->ino != j->mj.ino || l->zone != (uint32_t)zi))
		l = NULL; /* another log's now */
	if (l)
		l->idle_size = l->idle_blocks = 0;
	if (j->r == 0 && l && f) {
		/* Not due on disk: looked at again once the table sees it change. */
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
			block(r, l, j);
		}
		/* Its writer's close, seen by the watch, is what makes it worth a look again. */
		if (!j->linked && f)
			table_file_set_writing(r->d->table, f, true);
		if (j->errors)
			json_object_array_add(j->errors, pathenc_json(j->err));
	} else if (j->r < 0 && j->r != -ENOENT && j->r != -ESTALE) {
		r->d->counters.errors++;
		if (l)
			l->failed_at = j->now;
		log_err("%s", j->err);
		if (j->errors)
			json_object_array_add(j->errors, pathenc_json(j->err));
	}
	if (!j->blocked)
		unblock(r, l, j->r > 0 ? "rotated" : j->r == 0 ? "no longer due" : "it changed");
}

/* A pending copy's compression: done, failed, or not yet (its writer still has it). */
static void compress_done(struct rotate *r, struct rotate_job *j, int zi)
{
	if (j->r < 0 && j->r != -ENOENT) {
		r->d->counters.errors++;
		log_err("%s: cannot compress it: %s", j->mj.path, strerror(-j->r));
	}
	if (zi >= 0)
		expired_in(r, j, &r->d->cfg->zones[zi], j->copy_rel);
	for (size_t i = 0; zi >= 0 && !j->still_written && i < r->n_pend; i++) {
		struct pending *p = &r->pend[i];

		if (p->zone == (uint32_t)zi && p->ino == j->mj.ino && !strcmp(p->dir, j->copy_rel) &&
		    !strcmp(p->name, j->name)) {
			free(p->dir);
			free(p->name);
			*p = r->pend[--r->n_pend];
			break;
		}
	}
}

/* On the loop: a job's result applied. */
static void job_done(struct mover_job *mj, bool cancelled)
{
	struct rotate_job *j = (struct rotate_job *)mj;
	struct rotate *r = j->owner;
	int zi = config_zone_index(r->d->cfg, j->zone);
	struct table_file *f = j->kind == ROTATE_JOB_CUT ? job_file(r, j, zi) : NULL;

	/* Our opens that did not happen: no event of ours will come for them. */
	for (int k = j->opens; f && k < ROTATE_JOB_OPENS; k++)
		watch_self_open(r->d->watch, f, false);
	if (!cancelled && zi >= 0) {
		if (j->kind == ROTATE_JOB_CUT)
			cut_done(r, j, zi, f);
		else if (j->kind == ROTATE_JOB_COMPRESS)
			compress_done(r, j, zi);
		else
			expired_in(r, j, &r->d->cfg->zones[zi], j->copy_rel);
	}
	json_object_put(j->errors);
	sweep_run_release(j->run);
	rotate_job_free(j);
	r->inflight--;
	if (!cancelled) {
		arm(r);
		save_lasts(r, r->d->cfg);
	}
}

/* The zone's files, collected before any is touched: rotations change the table through events, taken in later. */
static struct table_file **zone_files(struct rotate *r, uint32_t zone, size_t *n)
{
	struct table_zone *tz = table_zone(r->d->table, zone);
	struct table_file **v = malloc((tz->age.len ? tz->age.len : 1) * sizeof(*v));

	*n = 0;
	if (!v)
		return NULL;
	for (size_t i = 0; i < tz->age.len; i++)
		if (!rotplan_is_copy(tz->age.v[i]->name))
			v[(*n)++] = tz->age.v[i];
	return v;
}

static bool rotates(const struct rotate *r, size_t zone)
{
	return r->d->cfg->zones[zone].rotate.enabled && watch_zone_attached(r->d->watch, zone);
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
	if (!l->reported && rotplan_size_due(rotplan_data_bytes(f->size, f->blocks), rc->size,
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
static void arm(struct rotate *r)
{
	int64_t now = (int64_t)time(NULL), next = INT64_MAX;

	ev_timer_stop(r->d->loop, &r->every);
	for (uint32_t zi = 0; zi < r->d->cfg->n_zones; zi++) {
		const struct rotate_config *rc = &r->d->cfg->zones[zi].rotate;
		struct table_zone *tz;

		if (!rotates(r, zi) || rc->every <= 0)
			continue;
		tz = table_zone(r->d->table, zi);
		for (size_t i = 0; i < tz->age.len; i++) {
			struct table_file *f = tz->age.v[i];
			struct live *l;
			int64_t at;

			if (!f->size || rotplan_is_copy(f->name) || !(l = live_get(r, zi, f)))
				continue;
			at = l->last + rc->every;
			if (at < l->failed_at + RETRY_S)
				at = l->failed_at + RETRY_S;
			/*
			 * Due, but a job is on it: the mover says when it is free. Found
			 * not due by its job: its next change brings a pass. Neither
			 * needs the timer, which would fire every half second meanwhile.
			 */
			if (at <= now && mover_busy(r->d->mover, f->dir->dev, f->ino)) {
				wait_for(r, zi, f, "", NULL, NULL);
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
	ev_timer_start(r->d->loop, &r->every);
}

/* The automatic pass: every file of every rotating zone, by size and by every. */
static void pass(struct rotate *r, struct sweep_run *run)
{
	int64_t now = (int64_t)time(NULL);

	for (uint32_t zi = 0; zi < r->d->cfg->n_zones; zi++) {
		const struct rotate_config *rc = &r->d->cfg->zones[zi].rotate;
		struct table_file **v;
		size_t n;

		if (!rotates(r, zi) || !(v = zone_files(r, zi, &n)))
			continue;
		for (size_t i = 0; i < n; i++) {
			struct live *l = live_get(r, zi, v[i]);
			enum policy_reason why = l ? trigger(rc, v[i], l, now) : REASON_NONE;

			if (why == REASON_NONE)
				unblock(r, l, "no longer due");
			else if (may_try(l, v[i], now))
				act(r, zi, v[i], why, run, NULL);
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
 * Copies moved aside by "rename" whose writer has closed them: compressed by
 * a job each. Whether a writer still has one is asked here, so that a copy
 * its writer keeps (no signal, no postrotate) is not queued again and again.
 */
static void compress_pending(struct rotate *r)
{
	for (size_t i = 0; i < r->n_pend; i++) {
		struct pending *p = &r->pend[i];
		const struct zone_config *zc =
			p->zone < r->d->cfg->n_zones ? &r->d->cfg->zones[p->zone] : NULL;
		char path[PATH_MAX * 2 + 8], rel[PATH_MAX];
		struct rotate_job *j;
		struct stat st = { 0 };
		int dfd, w, root;

		if (!zc || mover_busy(r->d->mover, p->dev, p->ino))
			continue;
		dfd = watch_open_beneath(r->d->watch, p->zone, p->dir, O_RDONLY);
		w = dfd < 0 ? dfd : lease_writing_at(dfd, p->name, p->ino);
		if (w == 0 && fstatat(dfd, p->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			st.st_size = 0;
		if (dfd >= 0)
			close(dfd);
		if (w == 1)
			continue; /* lines still arrive in it */
		if (join(rel, sizeof(rel), p->dir, p->name) < 0 ||
		    zone_join(path, sizeof(path), zc, rel) < 0 ||
		    (root = watch_open_beneath(r->d->watch, p->zone, "", O_PATH)) < 0)
			continue;
		j = rotate_job_new(ROTATE_JOB_COMPRESS, root, path, p->dir, p->name, p->dir, zc);
		if (!j)
			continue;
		j->mj.action = "compress";
		j->mj.dev = p->dev;
		j->mj.ino = p->ino;
		j->mj.bytes = st.st_size > 0 ? (uint64_t)st.st_size : 0; /* what status shows progress of */
		j->mj.run = rotate_job_run;
		j->mj.done = job_done;
		j->owner = r;
		j->now = (int64_t)time(NULL);
		submit(r, j, NULL, NULL);
	}
}

static void on_every(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	rotate_due(t->data);
}

void rotate_due(struct rotate *r)
{
	struct sweep_run run = { .dry = r->d->dry_run };

	if (r->busy || r->d->paused)
		return;
	r->busy = true;
	pass(r, &run);
	if (!r->d->dry_run)
		compress_pending(r);
	arm(r);
	save_lasts(r, r->d->cfg);
	pass_done(r);
}

struct prune {
	struct u64map *present;
	uint64_t *gone;
	size_t n, cap;
};

static void note_gone(uint64_t key, void *val, void *ud)
{
	struct prune *p = ud;
	uint64_t *g;

	(void)val;
	if (u64map_get(p->present, key) || !(g = vec_grow(p->gone, &p->cap, p->n + 1, sizeof(*g))))
		return;
	p->gone = g;
	p->gone[p->n++] = key;
}

/* Forgets the files no longer in any rotating zone. */
static void prune_lives(struct rotate *r)
{
	struct prune p = { .present = u64map_create() };

	for (uint32_t zi = 0; p.present && zi < r->d->cfg->n_zones; zi++) {
		struct table_zone *tz = table_zone(r->d->table, zi);

		for (size_t i = 0; r->d->cfg->zones[zi].rotate.enabled && i < tz->age.len; i++)
			if (u64map_put(p.present, live_key(zi, tz->age.v[i]->ino), r) < 0)
				goto out;
	}
	if (p.present)
		u64map_foreach(r->lives, note_gone, &p);
	for (size_t i = 0; i < p.n; i++) {
		struct live *l = u64map_get(r->lives, p.gone[i]);

		unblock(r, l, "it is gone, or its zone no longer rotates");
		free(l);
		u64map_del(r->lives, p.gone[i]);
		r->dirty = true;
	}
out:
	u64map_destroy(p.present);
	free(p.gone);
}

void rotate_housekeeping(struct rotate *r)
{
	if (r->busy || r->d->paused)
		return;
	r->busy = true;
	/* Copies past max_age go even when their log is quiet (a dry run reports at rotations). */
	for (uint32_t zi = 0; zi < r->d->cfg->n_zones; zi++) {
		struct table_file **v;
		size_t n;

		if (r->d->dry_run || !rotates(r, zi) || r->d->cfg->zones[zi].rotate.max_age < 0 ||
		    !(v = zone_files(r, zi, &n)))
			continue;
		for (size_t i = 0; i < n; i++) {
			char path[PATH_MAX + 256], rel[PATH_MAX];
			struct rotate_job *j;

			live_get(r, zi, v[i]); /* its last rotation, before its copies go */
			if (mover_busy(r->d->mover, v[i]->dir->dev, v[i]->ino) ||
			    sweep_file_path(&r->d->cfg->zones[zi], v[i], path, sizeof(path), rel,
					    sizeof(rel)) < 0 ||
			    !(j = job_for(r, ROTATE_JOB_EXPIRE, zi, v[i], path, NULL)))
				continue;
			j->mj.bytes = 0;
			submit(r, j, NULL, NULL);
		}
		free(v);
	}
	prune_lives(r);
	pass_done(r);
	rotate_due(r);
}

size_t rotate_now(struct rotate *r, int zone, struct sweep_run *run, json_object *errors)
{
	size_t failed = 0;

	r->busy = true;
	for (uint32_t zi = 0; zi < r->d->cfg->n_zones; zi++) {
		struct table_file **v;
		size_t n;

		if ((zone >= 0 && zi != (uint32_t)zone) || !rotates(r, zi) ||
		    !(v = zone_files(r, zi, &n)))
			continue;
		for (size_t i = 0; i < n; i++)
			if (v[i]->size > 0)
				failed += act(r, zi, v[i], REASON_MANUAL, run, errors) < 0;
		free(v);
	}
	if (!run->dry)
		compress_pending(r);
	arm(r);
	save_lasts(r, r->d->cfg);
	pass_done(r);
	return failed;
}

/* The rotate command's log, put off while a job was on it: cut now if still there. */
static void manual_again(struct rotate *r, const struct wait *w)
{
	int zi = config_zone_index(r->d->cfg, w->zone);
	struct table_file *f =
		zi >= 0 ? table_file_find(r->d->table, (size_t)zi, w->rel, w->ino) : NULL;

	/* Archived or deleted meanwhile: nothing left to rotate. */
	if (!f || !f->size || !rotates(r, (size_t)zi) || r->d->paused || r->busy)
		return;
	r->busy = true;
	act(r, (uint32_t)zi, f, REASON_MANUAL, w->run, w->errors);
	arm(r);
	pass_done(r);
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
		if (!mover_busy(r->d->mover, w->dev, w->ino)) {
			*p = w->next;
			w->next = mine;
			mine = w;
		} else {
			p = &w->next;
		}
	}
	while ((w = mine)) {
		mine = w->next;
		if (w->run)
			manual_again(r, w);
		else
			again = true;
		sweep_run_release(w->run); /* the command answers once the last of its jobs is in */
		wait_free(w);
	}
	if (again)
		rotate_due(r);
}

static void drop_pending(struct rotate *r)
{
	for (size_t i = 0; i < r->n_pend; i++) {
		free(r->pend[i].dir);
		free(r->pend[i].name);
	}
	r->n_pend = 0;
}

struct carrying {
	struct rotate *r;
	const struct config *old;
	struct u64map *fresh;
};

/*
 * A blocked log whose zone still cuts in place keeps its alarm (and its
 * start) across a reload, looked at again at the next pass; any other ends.
 */
static void carry_blocked(uint64_t key, void *val, void *ud)
{
	struct carrying *c = ud;
	const struct config *cfg = c->r->d->cfg;
	struct live *l = val, *n = NULL;
	uint32_t zi = 0;

	(void)key;
	if (!l->blocked)
		return;
	while (l->zone < c->old->n_zones && zi < cfg->n_zones &&
	       strcmp(cfg->zones[zi].name, c->old->zones[l->zone].name))
		zi++;
	if (l->zone >= c->old->n_zones || zi == cfg->n_zones || !cfg->zones[zi].rotate.enabled ||
	    (cfg->zones[zi].rotate.method == ROTATE_RENAME &&
	     cfg->zones[zi].rotate.keep_tail_lines <= 0) ||
	    !(n = calloc(1, sizeof(*n))) || u64map_put(c->fresh, live_key(zi, l->ino), n) < 0) {
		free(n);
		unblock(c->r, l, "its zone's configuration changed");
		return;
	}
	*n = (struct live){ .ino = l->ino, .zone = zi, .last = l->last, .floor = l->floor,
			    .blocked = l->blocked };
	l->blocked = NULL;
}

void rotate_reconfigure(struct rotate *r, const struct config *old)
{
	struct u64map *fresh = u64map_create();
	struct carrying c = { r, old, fresh };

	save_lasts(r, old); /* what is known now, under the old zone indexes */
	drop_pending(r);
	ev_timer_stop(r->d->loop, &r->every);
	if (!fresh)
		return; /* the old entries stay: each names its zone and inode, and is checked */
	u64map_foreach(r->lives, carry_blocked, &c);
	u64map_foreach(r->lives, free_live, NULL);
	u64map_destroy(r->lives);
	r->lives = fresh;
}

struct alarming {
	struct rotate *r;
	struct alarms *a;
	int64_t now;
};

static void alarm_one(uint64_t key, void *val, void *ud)
{
	struct alarming *al = ud;
	const struct config *cfg = al->r->d->cfg;
	struct live *l = val;
	char pid[24];

	(void)key;
	if (!l->blocked || l->zone >= cfg->n_zones)
		return;
	snprintf(pid, sizeof(pid), "%d", l->blocked->pid);
	alarms_hold(al->a, "rotate_blocked",
		    (const char *const[]){ "zone", cfg->zones[l->zone].name, "path", l->blocked->path,
					   "pid", l->blocked->pid ? pid : "?", "comm",
					   l->blocked->comm, NULL },
		    l->blocked->summary, l->blocked->since, al->now);
}

void rotate_alarms(struct rotate *r, struct alarms *a, int64_t now)
{
	struct alarming al = { r, a, now };

	if (r->n_blocked)
		u64map_foreach(r->lives, alarm_one, &al);
}

struct rotate *rotate_create(struct daemon *d)
{
	struct rotate *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->d = d;
	r->lives = u64map_create();
	if (!r->lives) {
		free(r);
		return NULL;
	}
	ev_timer_init(&r->every, on_every, 0., 0.);
	r->every.data = r;
	if (asprintf(&r->saved_path, "%s/rotations.json", d->cfg->state_dir) < 0)
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

void rotate_destroy(struct rotate *r)
{
	if (!r)
		return;
	ev_timer_stop(r->d->loop, &r->every);
	save_lasts(r, r->d->cfg);
	while (r->kids) {
		struct kid *k = r->kids;
		ev_child_stop(r->d->loop, &k->w);
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
		wait_free(w);
	}
	rotate_look_release(r->look);
	u64map_foreach(r->lives, free_live, NULL);
	u64map_destroy(r->lives);
	drop_pending(r);
	free(r->pend);
	json_object_put(r->saved);
	free(r->saved_path);
	free(r);
}
