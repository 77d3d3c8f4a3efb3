#include "watch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include "beneath.h"
#include "config.h"
#include "counters.h"
#include "glob.h"
#include "lease.h"
#include "log.h"
#include "scan.h"
#include "table.h"
#include "u64map.h"
#include "watch_impl.h"

/*
 * The walks: scan_tree() lists directories on its threads and reports here,
 * where include and exclude decide what the table takes. Rescans (a subtree
 * moved in, one with no watch, every zone after an overflow) walk again and
 * drop what they did not see.
 */

/* Opens the directory d beneath its zone root, following no link. */
int watch_open_dir(struct watch *w, struct watch_zone *z, struct table_dir *d, int flags)
{
	char *rel = table_dir_relpath_dup(d);
	int fd;

	(void)w;
	if (!rel)
		return -ENOMEM;
	/* A piece under PATH_MAX at a time: a tree may go deeper than one path can say. */
	fd = z->root_fd < 0 ? -ENOENT : beneath_open_dir(z->root_fd, rel, flags);
	free(rel);
	return fd;
}

/* Adds the inotify watch for the directory open as dfd: the wd or -errno. Thread-safe. */
static int watch_add_syscall(struct watch *w, struct watch_zone *z, int dfd)
{
	char path[64];
	int wd;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", dfd);
	wd = inotify_add_watch(w->fd, path, z->mask);
	return wd < 0 ? -errno : wd;
}

/* Records the outcome of watch_add_syscall() for d (a wd, or -errno). */
static void watch_note_wd(struct watch *w, struct table_dir *d, int wd)
{
	if (wd < 0) {
		if (!(d->flags & TD_UNWATCHED))
			w->unwatched++;
		d->flags |= TD_UNWATCHED;
		if (wd == -ENOSPC)
			w->limit_hit = true;
		if (wd == -ENOSPC && !w->limit_warned) {
			FILE *f = fopen("/proc/sys/fs/inotify/max_user_watches", "re");
			long lim = -1;
			if (f) {
				if (fscanf(f, "%ld", &lim) != 1)
					lim = -1;
				fclose(f);
			}
			log_warn("inotify watch limit reached (fs.inotify.max_user_watches = %ld): "
				 "directories past it are rescanned every 30s and on settle instead; "
				 "raise the limit with sysctl",
				 lim);
			w->limit_warned = true;
		}
		return;
	}
	if (d->flags & TD_UNWATCHED)
		w->unwatched--;
	if (!w->unwatched)
		w->limit_hit = false;
	d->flags &= ~TD_UNWATCHED;
	/* A directory that replaced another keeps the wd the kernel gives its inode. */
	table_dir_set_wd(w->table, d, wd);
}

/* The path of name in d relative to the zone root, on the heap (of any length). */
static char *rel_join(struct table_dir *d, const char *name)
{
	char *dir = table_dir_relpath_dup(d), *rel = NULL;

	if (dir && asprintf(&rel, "%s%s%s", dir, dir[0] ? "/" : "", name) < 0)
		rel = NULL;
	free(dir);
	return rel;
}

static bool zone_file_wanted(struct watch_zone *z, struct table_dir *d, const char *name)
{
	char *rel = NULL;
	bool wanted;

	if (!z->cfg->include.n && !z->cfg->exclude.n)
		return true;
	if (z->slash_patterns && !(rel = rel_join(d, name)))
		return false;
	wanted = (!z->cfg->include.n || glob_match_any(&z->cfg->include, name, rel ? rel : name)) &&
		 !glob_match_any(&z->cfg->exclude, name, rel ? rel : name);
	free(rel);
	return wanted;
}

bool watch_wants_dir(struct watch *w, struct watch_zone *z, struct table_dir *parent,
		     const char *name)
{
	char *rel;
	bool wanted;

	(void)w;
	if (!z->cfg->exclude.n)
		return true;
	rel = rel_join(parent, name);
	if (!rel)
		return false;
	wanted = !glob_match_any(&z->cfg->exclude, name, rel);
	free(rel);
	return wanted;
}

static void stat_to_table(const struct stat *st, struct table_stat *ts)
{
	ts->size = (uint64_t)st->st_size;
	ts->blocks = (uint64_t)st->st_blocks;
	ts->ino = st->st_ino;
	ts->nlink = st->st_nlink;
	ts->mtime = st->st_mtim.tv_sec;
	ts->atime = st->st_atim.tv_sec;
}

/*
 * Records a regular file found on disk and returns it; NULL when include or
 * exclude refuse it (it is dropped) or memory runs out.
 */
struct table_file *watch_file_found(struct watch *w, struct watch_zone *z,
				    struct table_dir *d, const char *name,
				    const struct stat *st, bool rescan)
{
	struct table_file *f;
	struct table_stat ts;

	if (!zone_file_wanted(z, d, name)) {
		f = table_file_get(w->table, d, name);
		if (f)
			watch_forget_file(w, f);
		return NULL;
	}
	stat_to_table(st, &ts);
	f = table_file_put(w->table, d, name, &ts);
	if (!f)
		return NULL;
	if (rescan && (d->flags & TD_RESCAN))
		f->flags |= TF_SEEN;
	if (w->writers)
		table_file_set_writing(w->table, f, lease_writers_has(w->writers, st->st_dev,
								      st->st_ino));
	else
		watch_check_queue(w, f);
	return f;
}

/* ---- the walks: scan_tree() reports to the watcher through these ---- */

struct walk {
	struct watch *w;
	struct watch_zone *z;
};

static int walk_open_dir(void *ud, struct table_dir *d, int flags)
{
	struct walk *k = ud;

	return watch_open_dir(k->w, k->z, d, flags);
}

static int walk_add_watch(void *ud, int dfd)
{
	struct walk *k = ud;

	return watch_add_syscall(k->w, k->z, dfd);
}

static void walk_note_wd(void *ud, struct table_dir *d, int wd)
{
	struct walk *k = ud;

	watch_note_wd(k->w, d, wd);
}

static bool walk_wants_dir(void *ud, struct table_dir *parent, const char *name)
{
	struct walk *k = ud;

	return watch_wants_dir(k->w, k->z, parent, name);
}

static void walk_file_found(void *ud, struct table_dir *d, const char *name, const struct stat *st,
			    bool rescan)
{
	struct walk *k = ud;

	watch_file_found(k->w, k->z, d, name, st, rescan);
}

static const struct scan_ops walk_ops = {
	.open_dir = walk_open_dir,
	.add_watch = walk_add_watch,
	.note_wd = walk_note_wd,
	.wants_dir = walk_wants_dir,
	.file_found = walk_file_found,
};

/* Walks d (open as fd, taken) of zone z into the table: scan_tree() on the zone's terms. */
void watch_walk(struct watch *w, struct watch_zone *z, struct table_dir *d, int fd, bool rescan,
		int threads, const struct scan_pump *pump)
{
	struct walk k = {w, z};
	struct scan_zone sz = {
		.table = w->table,
		.idx = z->idx,
		.dev = z->dev,
		.recursive = z->cfg->recursive,
		.ops = &walk_ops,
		.ud = &k,
	};

	scan_tree(&sz, d, fd, rescan, threads, pump);
}

void watch_on_dir_dropped(struct table_dir *d, void *ud)
{
	struct watch *w = ud;

	if (w->cached_dir == d)
		watch_cache_drop(w);
	if (d->flags & TD_UNWATCHED)
		w->unwatched--;
	if (!w->unwatched)
		w->limit_hit = false;
	if (d->wd >= 0)
		inotify_rm_watch(w->fd, d->wd);
}

void watch_dir_remove(struct watch *w, struct table_dir *d)
{
	watch_checks_flush(w);
	table_dir_remove(w->table, d, watch_on_dir_dropped, w);
}

/* Walks a subtree again and drops what is no longer there. */
void watch_rescan_subtree(struct watch *w, struct watch_zone *z, struct table_dir *d,
			  bool full)
{
	int fd;

	watch_checks_flush(w);
	watch_cache_drop(w);
	fd = watch_open_dir(w, z, d, O_RDONLY);
	if (fd < 0) {
		if (d->parent)
			watch_dir_remove(w, d);
		return;
	}
	if (full)
		w->writers = lease_writers_snapshot();
	table_rescan_begin(w->table, d);
	watch_walk(w, z, d, fd, true, full ? w->threads : 1, full ? &w->pump : NULL);
	table_rescan_end(w->table, d, watch_on_dir_dropped, w);
	if (full)
		watch_backlog_replay(w);
	if (w->writers) {
		u64map_destroy(w->writers);
		w->writers = NULL;
	}
}

void watch_full_rescan(struct watch *w)
{
	ev_tstamp t0 = ev_time();

	log_warn("inotify queue overflowed %llu time(s): rescanning every zone",
		 (unsigned long long)w->overflows_pending);
	w->need_rescan = false;
	w->overflows_pending = 0;
	ev_timer_stop(w->loop, &w->rescan_timer);
	w->counters->rescans++;
	for (size_t i = 0; i < w->n_zones; i++) {
		struct watch_zone *z = &w->zones[i];
		struct table_zone *tz = table_zone(w->table, i);

		/* Events were lost: the root itself may have been replaced. */
		if (watch_zone_refresh(w, z) || z->root_fd < 0)
			continue;
		watch_rescan_subtree(w, z, tz->root, true);
	}
	w->rescan_not_before = ev_time() + 3 * (ev_time() - t0);
}

static void find_unwatched(struct watch *w, struct watch_zone *z, struct table_dir *d)
{
	struct table_dir *c = d->first_child;

	if (d->flags & TD_UNWATCHED) {
		watch_rescan_subtree(w, z, d, false);
		return;
	}
	while (c) {
		struct table_dir *next = c->next_sibling;
		find_unwatched(w, z, c);
		c = next;
	}
}

void watch_poll_unwatched(struct watch *w)
{
	for (size_t i = 0; i < w->n_zones; i++) {
		struct watch_zone *z = &w->zones[i];
		struct table_zone *tz = table_zone(w->table, i);

		if (!watch_zone_refresh(w, z) && z->root_fd >= 0 && w->unwatched && tz->root)
			find_unwatched(w, z, tz->root);
	}
}
