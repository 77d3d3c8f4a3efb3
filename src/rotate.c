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
#include "logcut.h"
#include "notify.h"
#include "pathenc.h"
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
	bool reported;	   /* a dry daemon has reported it */
	struct blocked *blocked;
};

/* A copy moved aside by "rename", compressed once its writer has closed it. */
struct pending {
	uint32_t zone;
	char *dir; /* relative to the zone root */
	char *name;
	uint64_t ino;
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
	struct writers_snap *snap; /* the writers seen in /proc, for the pass under way */
};

/* One file's rotation, from choice to audit. */
struct job {
	struct rotate *r;
	uint32_t zone;
	const struct zone_config *zc;
	struct table_file *f;
	enum policy_reason why;
	struct sweep_run *run;
	int64_t now;
	char path[PATH_MAX + 256], rel[PATH_MAX];
	char copy_rel[PATH_MAX]; /* the copies' directory, relative to the zone root */
	char err[PATH_MAX + 1024];
	bool blocked; /* not cut in place: a writer without O_APPEND (err says who) */
	bool linked;  /* not cut in place: other names (hard links) */
	int pid;      /* that writer (0: one sweepd cannot see) */
	char comm[16];
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
static void block(struct rotate *r, struct live *l, const struct job *j)
{
	struct blocked *b = l->blocked;
	char *summary = strdup(j->err), *path = strdup(j->path);

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
	b->pid = j->pid;
	snprintf(b->comm, sizeof(b->comm), "%s", j->comm);
}

static bool keep_alive(void *ud)
{
	(void)ud;
	notify_watchdog_kick();
	return true;
}

static int64_t now_us(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

/* The owner of name in dirfd, or (uid_t)-1 when it is not there. */
static uid_t owner_at(int dirfd, const char *name)
{
	struct stat st;

	return dirfd >= 0 && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 ? st.st_uid
										   : (uid_t)-1;
}

/*
 * Is this copy one of ours? Anyone who can write in the directory can make a
 * file with a copy's name; counting it would make keep delete real copies (and
 * a name dated in the future would stop every). A copy is a regular file with
 * one name, owned by us or by the log's owner (owner; (uid_t)-1 when unknown),
 * who can only fool sweepd about their own log.
 */
static bool own_copy(int dirfd, const char *name, uid_t owner)
{
	struct stat st;

	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
	       st.st_nlink == 1 && (st.st_uid == geteuid() || st.st_uid == owner);
}

/* Copies of base in dirfd (a real descriptor) that are sweepd's own (own_copy). */
static int list_copies(int dirfd, const char *base, uid_t owner, struct rotplan_copy **out,
		       size_t *n)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct rotplan_copy *v = NULL;
	size_t cap = 0;
	struct dirent *e;
	DIR *dir;

	*out = NULL;
	*n = 0;
	if (fd < 0 || !(dir = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	while ((e = readdir(dir))) {
		struct rotplan_copy c = { 0 };
		struct rotplan_copy *g;

		if (!rotplan_parse(e->d_name, base, &c.when, &c.zst) ||
		    !own_copy(fd, e->d_name, owner))
			continue;
		g = vec_grow(v, &cap, *n + 1, sizeof(*v));
		if (g)
			v = g;
		if (!g || !(c.name = strdup(e->d_name)))
			break;
		v[(*n)++] = c;
	}
	closedir(dir);
	*out = v;
	return 0;
}

static void free_copies(struct rotplan_copy *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
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
			uint64_t ino)
{
	struct pending *g, p;

	if (is_pending(r, zone, dir, name))
		return;
	g = vec_grow(r->pend, &r->cap_pend, r->n_pend + 1, sizeof(*g));
	if (g)
		r->pend = g;
	p = (struct pending){ zone, strdup(dir), strdup(name), ino };
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
 * The copies' directory of f, as a real descriptor, and its path relative to
 * the zone root into copy_rel (PATH_MAX bytes); with make, olddir is made
 * when missing (its parent must be there).
 */
static int open_copy_dir(struct rotate *r, uint32_t zone, const struct table_file *f,
			 char *copy_rel, bool make)
{
	const char *old = r->d->cfg->zones[zone].rotate.olddir;
	char dir_rel[PATH_MAX];
	int fd;

	if (table_dir_relpath(f->dir, dir_rel, sizeof(dir_rel)) < 0 ||
	    join(copy_rel, PATH_MAX, dir_rel, old ? old : "") < 0)
		return -ENAMETOOLONG;
	fd = watch_open_beneath(r->d->watch, zone, copy_rel, O_RDONLY);
	if (fd == -ENOENT && old && make) {
		int pfd = watch_open_beneath(r->d->watch, zone, dir_rel, O_PATH);
		if (pfd < 0)
			return pfd;
		fd = mkdirat(pfd, old, 0750) < 0 && errno != EEXIST ? -errno : 0;
		close(pfd);
		if (fd == 0)
			fd = watch_open_beneath(r->d->watch, zone, copy_rel, O_RDONLY);
	}
	return fd;
}

/* The owner of the live log f, or (uid_t)-1. */
static uid_t live_owner(struct rotate *r, const struct table_file *f)
{
	int dfd = watch_dir_open(r->d->watch, f->dir);
	uid_t owner = owner_at(dfd, f->name);

	if (dfd >= 0)
		close(dfd);
	return owner;
}

/* Drops the copies of base past keep and max_age; a copy still open for writing stays. */
static void expire(struct rotate *r, uint32_t zone, int dirfd, const char *dir_rel,
		   const char *base, uid_t owner, struct sweep_run *run)
{
	const struct zone_config *zc = &r->d->cfg->zones[zone];
	struct rotplan_copy *v;
	int64_t now = (int64_t)time(NULL);
	size_t n;

	if ((zc->rotate.keep < 0 && zc->rotate.max_age < 0) ||
	    list_copies(dirfd, base, owner, &v, &n) < 0)
		return;
	rotplan_expire(v, n, zc->rotate.keep, zc->rotate.max_age, now);
	for (size_t i = 0; i < n; i++) {
		char path[PATH_MAX + 256], rel[PATH_MAX];
		struct stat st;

		if (!v[i].drop || fstatat(dirfd, v[i].name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode) || join(rel, sizeof(rel), dir_rel, v[i].name) < 0 ||
		    zone_join(path, sizeof(path), zc, rel) < 0)
			continue;
		if (!run->dry) {
			if (lease_writing_at(dirfd, v[i].name, st.st_ino) != 0 ||
			    unlinkat(dirfd, v[i].name, 0) < 0)
				continue;
			r->d->counters.deleted++;
			r->d->counters.bytes_freed += (uint64_t)st.st_blocks * 512;
		}
		audit_report(r->d->audit, run->actions,
			     audit_entry(now, "delete", zc->name, path, (uint64_t)st.st_size,
					 v[i].by_age ? REASON_MAX_AGE : REASON_MAX_FILES, run->dry,
					 NULL));
	}
	free_copies(v, n);
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
	fd = open_copy_dir(r, zone, f, copy_rel, false);
	if (fd >= 0 && list_copies(fd, f->name, live_owner(r, f), &v, &n) == 0) {
		int64_t soon = (int64_t)time(NULL) + 60;

		for (size_t i = 0; i < n; i++) {
			struct stat st;

			/* A name dated in the future is no rotation of ours: it would stop every. */
			if (v[i].when > l->last && v[i].when <= soon)
				l->last = v[i].when;
			if (!v[i].zst && r->d->cfg->zones[zone].rotate.compress == COMPRESS_ZSTD &&
			    fstatat(fd, v[i].name, &st, AT_SYMLINK_NOFOLLOW) == 0)
				add_pending(r, zone, copy_rel, v[i].name, st.st_ino);
		}
		free_copies(v, n);
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

/* The live file opened for writing, still the file the table knows. */
static int open_live(struct job *j, int dfd)
{
	struct stat st;
	int fd;

	watch_self_open(j->r->d->watch, j->f, true);
	fd = openat(dfd, j->f->name, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		watch_self_open(j->r->d->watch, j->f, false);
		return -errno;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_ino != j->f->ino) {
		close(fd);
		return -ESTALE;
	}
	/*
	 * Another name of the same file may lie outside every zone (ln
	 * /etc/app.conf logs/x.log): a cut in place would cut that file too.
	 */
	if (st.st_nlink > 1) {
		close(fd);
		j->blocked = j->linked = true;
		j->pid = 0;
		snprintf(j->comm, sizeof(j->comm), "-");
		snprintf(j->err, sizeof(j->err),
			 "%s: not cut in place: it has %ju names (hard links), and cutting it "
			 "would cut the file under every other name too, perhaps outside the "
			 "zone; remove the other names, or use method = \"rename\"",
			 j->path, (uintmax_t)st.st_nlink);
		return -EBUSY;
	}
	return fd;
}

/*
 * Before an in-place cut under a writer: every writer must append
 * (O_APPEND). One that writes at its own offset would go on past the new end
 * of a collapsed or truncated log and leave a hole of NUL bytes, and the log
 * would look as big as before. Returns 0 (safe to cut) or -EBUSY, blocked,
 * with j->err saying who and what to do. rename needs no such check.
 */
static int check_writers(struct job *j, int dfd)
{
	static const char todo[] = "open it for appending (>> in a shell, O_APPEND, \"a\" in "
				   "Python), or use method = \"rename\" with signal or postrotate";
	const char *what = j->zc->rotate.keep_tail_lines > 0 ? "cut down" : "rotated";
	const struct writers_fd *bad;
	struct writers_fd *v, one;
	size_t n, hidden;
	struct stat st;
	int r;

	if (fstatat(dfd, j->f->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	/*
	 * One walk of /proc serves the whole pass for the logs it shows a bad
	 * writer of; a log it shows none for is asked about afresh, so that a
	 * writer opened since the walk is never missed before a cut.
	 */
	if (!j->r->snap)
		j->r->snap = writers_snap_take();
	if (j->r->snap && writers_snap_unsafe(j->r->snap, st.st_dev, st.st_ino, &one)) {
		v = NULL;
		n = hidden = 0;
		bad = &one;
		r = 0;
	} else {
		r = writers_of(st.st_dev, st.st_ino, &v, &n, &hidden);
		bad = r == 0 ? writers_unsafe(v, n) : NULL;
	}
	if (r == 0 && !bad && (n > 0 || hidden == 0)) {
		free(v); /* each appends, or the writer has gone meanwhile */
		return 0;
	}
	j->blocked = true;
	j->pid = bad ? bad->pid : 0;
	snprintf(j->comm, sizeof(j->comm), "%s", bad ? bad->comm : "?");
	if (r < 0)
		snprintf(j->err, sizeof(j->err),
			 "%s: not %s: it is open for writing and sweepd cannot read /proc to "
			 "tell whether its writers append (%s); %s",
			 j->path, what, strerror(-r), todo);
	else if (!bad)
		snprintf(j->err, sizeof(j->err),
			 "%s: not %s: it is open for writing by a process whose /proc entries "
			 "sweepd (uid %u) cannot read, so it cannot tell whether it appends: "
			 "a cut in place could leave a hole; run sweepd as root, or %s",
			 j->path, what, (unsigned)geteuid(), todo);
	else if (bad->flags < 0)
		snprintf(j->err, sizeof(j->err),
			 "%s: not %s: pid %d (%s) holds it open for writing and its open flags "
			 "cannot be read (/proc/%d/fdinfo/%d: %s), so a cut in place could leave "
			 "a hole; run sweepd as root, or %s",
			 j->path, what, bad->pid, bad->comm, bad->pid, bad->fd,
			 strerror(-bad->flags), todo);
	else
		snprintf(j->err, sizeof(j->err),
			 "%s: not %s: pid %d (%s) writes it without O_APPEND, at its own offset: "
			 "a cut in place would leave a hole of NUL bytes that it goes on writing "
			 "after; %s",
			 j->path, what, bad->pid, bad->comm, todo);
	free(v);
	return -EBUSY;
}

/* keep_tail_lines: the live file cut down to its last lines. */
static int tail_cut(struct job *j, int dfd, uint64_t *cut)
{
	struct stat st;
	int writing, fd, r;

	writing = watch_writing_at(j->r->d->watch, j->f, dfd);
	if (writing == 1 && (r = check_writers(j, dfd)) < 0)
		return r;
	fd = writing < 0 ? writing : open_live(j, dfd);
	if (fd < 0)
		return fd;
	r = logcut_tail(fd, j->zc->rotate.keep_tail_lines, writing == 1, cut);
	if (r == 0 && fstat(fd, &st) == 0) {
		struct live *l = live_get(j->r, j->zone, j->f);
		if (l)
			l->floor = (uint64_t)st.st_size;
	}
	close(fd);
	if (r == -EOPNOTSUPP)
		snprintf(j->err, sizeof(j->err),
			 "%s: keep_tail_lines needs a filesystem that collapses (ext4, xfs) while "
			 "a writer holds the file; here it waits until the writer closes it",
			 j->path);
	return r;
}

/*
 * Into a copy named for now: collapse under a writer (copytruncate where the
 * method or the filesystem says so); a log nobody writes to is taken whole,
 * which loses nothing either way.
 */
static int cut_copy(struct job *j, int dfd, int cdir, char *copy, size_t len, uint64_t *cut)
{
	const struct rotate_config *rc = &j->zc->rotate;
	int64_t us = now_us();
	struct stat st;
	int writing, fd, r;
	bool collapse;

	writing = watch_writing_at(j->r->d->watch, j->f, dfd);
	if (writing < 0)
		return writing;
	if (writing == 1 && (r = check_writers(j, dfd)) < 0)
		return r;
	fd = open_live(j, dfd);
	if (fd < 0)
		return fd;
	collapse = writing && rc->method != ROTATE_COPYTRUNCATE &&
		   (rc->method == ROTATE_COLLAPSE || logcut_can_collapse(fd));
	if (writing && rc->method == ROTATE_COLLAPSE && !logcut_can_collapse(fd)) {
		snprintf(j->err, sizeof(j->err),
			 "%s: method \"collapse\" needs ext4 or xfs; this filesystem cannot cut "
			 "a file's head in place: use method \"auto\" or \"copytruncate\"",
			 j->path);
		close(fd);
		return -EOPNOTSUPP;
	}
	r = fstat(fd, &st) < 0 ? -errno
	    : rotplan_name(copy, len, j->f->name, us / 1000000, (long)(us % 1000000),
			   rc->compress == COMPRESS_ZSTD);
	if (r == 0) {
		struct logcut_copy c = { cdir, copy, rc->compress == COMPRESS_ZSTD ? rc->level : 0,
					 &st, keep_alive, NULL };
		r = collapse ? logcut_collapse(fd, &c, cut)
			     : logcut_copytruncate(fd, &c, writing == 1, cut);
	}
	close(fd);
	return r;
}

/* rename: the live file moved aside; its writer told to reopen it. */
static int move_aside(struct job *j, int dfd, int cdir, char *copy, size_t len, uint64_t *cut)
{
	const struct rotate_config *rc = &j->zc->rotate;
	int64_t us = now_us();
	struct stat st;
	int r;

	if (fstatat(dfd, j->f->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (st.st_ino != j->f->ino || !S_ISREG(st.st_mode))
		return -ESTALE;
	r = rotplan_name(copy, len, j->f->name, us / 1000000, (long)(us % 1000000), false);
	if (r < 0)
		return r;
	if (renameat2(dfd, j->f->name, cdir, copy, RENAME_NOREPLACE) < 0) {
		r = -errno;
		if (r == -EXDEV)
			snprintf(j->err, sizeof(j->err),
				 "%s: method \"rename\" needs olddir on the log's own filesystem",
				 j->path);
		return r;
	}
	fsync(cdir);
	*cut = (uint64_t)st.st_size;
	if (rc->compress == COMPRESS_ZSTD)
		add_pending(j->r, j->zone, j->copy_rel, copy, st.st_ino);
	return 0;
}

/* Tells the writer of a file moved aside to reopen its log. */
static void reopen_writer(struct job *j, const char *copy_path)
{
	const struct rotate_config *rc = &j->zc->rotate;
	char err[PATH_MAX + 256];

	if (rc->pidfile && rc->signal && signal_writer(rc, err, sizeof(err)) < 0) {
		j->r->d->counters.errors++;
		log_err("%s: rotated, but %s: its writer goes on in %s", j->path, err, copy_path);
	}
	if (rc->postrotate)
		run_postrotate(j->r, rc->postrotate, j->path, copy_path);
}

static uint64_t live_floor(struct job *j)
{
	struct live *l = live_get(j->r, j->zone, j->f);

	return l ? l->floor : 0;
}

/* One file, now. Returns 1 (done), 0 (nothing to do), or -errno with j->err said. */
static int rotate_one(struct job *j)
{
	const struct rotate_config *rc = &j->zc->rotate;
	struct daemon *d = j->r->d;
	bool tail = rc->keep_tail_lines > 0;
	char copy[NAME_MAX + 1] = "", copy_rel[PATH_MAX], copy_path[PATH_MAX + 256] = "";
	uint64_t cut = 0;
	struct stat st;
	int dfd, cdir = -1, r;

	j->err[0] = '\0';
	if (sweep_file_path(j->zc, j->f, j->path, sizeof(j->path), j->rel, sizeof(j->rel)) < 0)
		return -ENAMETOOLONG;
	if (j->run->dry) {
		audit_report(d->audit, j->run->actions,
			     audit_entry(j->now, tail ? "truncate" : "rotate", j->zc->name, j->path,
					 j->f->size, j->why, true, NULL));
		j->run->count++;
		return 1;
	}
	dfd = watch_dir_open(d->watch, j->f->dir);
	if (dfd < 0)
		return dfd;
	/* Checked again right before it is touched: still there, still due. */
	if (fstatat(dfd, j->f->name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_ino != j->f->ino ||
	    st.st_size == 0 ||
	    (j->why == REASON_ROTATE_SIZE &&
	     !rotplan_size_due(rotplan_data_bytes((uint64_t)st.st_size, (uint64_t)st.st_blocks),
			       rc->size, tail ? live_floor(j) : 0))) {
		close(dfd);
		return 0;
	}
	if (tail) {
		r = tail_cut(j, dfd, &cut);
	} else if ((cdir = open_copy_dir(j->r, j->zone, j->f, j->copy_rel, true)) < 0) {
		r = cdir;
		if (r == -ELOOP && rc->olddir)
			snprintf(j->err, sizeof(j->err),
				 "%s: not rotated: olddir %s is a symbolic link (or one is on its "
				 "way): sweepd never follows one; make it a directory",
				 j->path, rc->olddir);
		else
			snprintf(j->err, sizeof(j->err),
				 "%s: cannot open the copies' directory %s: %s", j->path,
				 rc->olddir ? rc->olddir : ".", strerror(-r));
	} else if (rc->method == ROTATE_RENAME) {
		r = move_aside(j, dfd, cdir, copy, sizeof(copy), &cut);
	} else {
		r = cut_copy(j, dfd, cdir, copy, sizeof(copy), &cut);
	}
	if (r == 0 && *copy && (join(copy_rel, sizeof(copy_rel), j->copy_rel, copy) < 0 ||
				zone_join(copy_path, sizeof(copy_path), j->zc, copy_rel) < 0))
		copy_path[0] = '\0';
	if (r == 0 && cut && rc->method == ROTATE_RENAME && !tail)
		reopen_writer(j, copy_path);
	if (r == 0 && cut) {
		struct live *l = live_get(j->r, j->zone, j->f);
		if (l)
			l->last = j->now;
		j->r->dirty = true;
		d->counters.rotated++;
		j->run->count++;
		audit_report(d->audit, j->run->actions,
			     audit_entry(j->now, tail ? "truncate" : "rotate", j->zc->name, j->path,
					 cut, j->why, false, *copy_path ? copy_path : NULL));
	}
	if (r == 0 && cdir >= 0)
		expire(j->r, j->zone, cdir, j->copy_rel, j->f->name, owner_at(dfd, j->f->name),
		       j->run);
	if (cdir >= 0)
		close(cdir);
	close(dfd);
	if (r < 0 && !j->err[0])
		snprintf(j->err, sizeof(j->err), "%s: cannot %s it: %s", j->path,
			 tail ? "cut down" : "rotate", strerror(-r));
	return r < 0 ? r : cut > 0;
}

/* One file, chosen: rotated, or its failure said (once per retry, in errors when asked). */
static int act(struct rotate *r, uint32_t zone, struct table_file *f, enum policy_reason why,
	       struct sweep_run *run, json_object *errors)
{
	struct job *j = calloc(1, sizeof(*j));
	struct live *l = live_get(r, zone, f);
	int res;

	if (!j) {
		log_err("out of memory: rotation put off");
		return -ENOMEM;
	}
	*j = (struct job){ .r = r, .zone = zone, .zc = &r->d->cfg->zones[zone], .f = f,
			   .why = why, .run = run, .now = (int64_t)time(NULL) };
	res = rotate_one(j);
	if (res < 0 && j->blocked) {
		/* An alarm rather than an error: said at its start and its end. */
		if (l) {
			l->failed_at = j->now;
			block(r, l, j);
		}
		/* Its writer's close, seen by the watch, is what makes it worth a look again. */
		if (!j->linked)
			table_file_set_writing(r->d->table, f, true);
		if (errors)
			json_object_array_add(errors, pathenc_json(j->err));
	} else if (res < 0 && res != -ENOENT && res != -ESTALE) {
		r->d->counters.errors++;
		if (l)
			l->failed_at = j->now;
		log_err("%s", j->err);
		if (errors)
			json_object_array_add(errors, pathenc_json(j->err));
	}
	if (!j->blocked)
		unblock(r, l, res > 0 ? "rotated" : res == 0 ? "no longer due" : "it changed");
	if (run->dry && l) {
		/* A dry daemon reports a file once, and counts it as rotated. */
		l->reported = true;
		l->last = j->now;
	}
	free(j);
	return res;
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
 * looked at again then, or at once when its writer has closed it.
 */
static bool may_try(const struct live *l, const struct table_file *f, int64_t now)
{
	return now >= l->failed_at + RETRY_S || (l->blocked && !(f->flags & TF_WRITING));
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

/* A pass is over: its look at /proc is for that pass only. */
static void pass_done(struct rotate *r)
{
	writers_snap_free(r->snap);
	r->snap = NULL;
	r->busy = false;
}

/* Copies moved aside by "rename" whose writer has closed them: compressed now. */
static void compress_pending(struct rotate *r)
{
	struct sweep_run run = { .dry = false };

	for (size_t i = r->n_pend; i-- > 0;) {
		struct pending p = r->pend[i];
		const struct zone_config *zc =
			p.zone < r->d->cfg->n_zones ? &r->d->cfg->zones[p.zone] : NULL;
		int dfd = zc ? watch_open_beneath(r->d->watch, p.zone, p.dir, O_RDONLY) : -ENOENT;
		/* Held, not opened again by name: a fifo or another file swapped in is never read. */
		struct lease_held h = { .fd = -1 };
		int w = dfd < 0 ? dfd : lease_hold(dfd, p.name, p.ino, &h);
		char zname[NAME_MAX + 1], base[NAME_MAX + 1];

		if (w == 1) {
			close(dfd);
			continue; /* lines still arrive in it */
		}
		if (w == 0 && snprintf(zname, sizeof(zname), "%s.zst", p.name) < (int)sizeof(zname)) {
			struct logcut_copy c = { dfd, zname, zc->rotate.level, &h.st, keep_alive, NULL };
			int e = logcut_compress(h.fd, p.name, &c);

			if (e < 0) {
				r->d->counters.errors++;
				log_err("%s/%s: cannot compress it: %s", zc->path, p.name, strerror(-e));
			} else {
				snprintf(base, sizeof(base), "%.*s",
					 (int)(strlen(p.name) - ROTPLAN_STAMP_LEN), p.name);
				expire(r, p.zone, dfd, p.dir, base, h.st.st_uid, &run);
			}
		}
		if (w == 0)
			lease_release(&h);
		if (dfd >= 0)
			close(dfd);
		free(p.dir);
		free(p.name);
		r->pend[i] = r->pend[--r->n_pend];
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
	struct sweep_run run = { .dry = false };

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
			char copy_rel[PATH_MAX];
			int fd;

			live_get(r, zi, v[i]); /* its last rotation, before its copies go */
			fd = open_copy_dir(r, zi, v[i], copy_rel, false);
			if (fd < 0)
				continue;
			expire(r, zi, fd, copy_rel, v[i]->name, live_owner(r, v[i]), &run);
			close(fd);
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
	u64map_foreach(r->lives, free_live, NULL);
	u64map_destroy(r->lives);
	drop_pending(r);
	free(r->pend);
	json_object_put(r->saved);
	free(r->saved_path);
	free(r);
}
