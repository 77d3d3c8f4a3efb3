#include "watch.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "counters.h"
#include "glob.h"
#include "lease.h"
#include "log.h"
#include "notify.h"
#include "scan.h"
#include "table.h"
#include "u64map.h"
#include "vec.h"

#define WATCH_BUF (64 * 1024)
/* Why a zone root is missing, each said once until it is there (whoever can write above it may toggle it). */
#define WATCH_SAID_ENOENT 1u
#define WATCH_SAID_LINK 2u
#define WATCH_SAID_OTHER 4u
/* After an overflow, rescan once no new overflow has come for this long. */
#define WATCH_RESCAN_QUIET_S 0.5
/* What a big walk may hold back of the event queue; past it, as an overflow. */
#define WATCH_BACKLOG_MAX (256u * 1024 * 1024)

static const uint32_t watch_mask_base =
	IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_MODIFY | IN_CLOSE_WRITE |
	IN_ATTRIB | IN_OPEN | IN_DELETE_SELF | IN_MOVE_SELF | IN_EXCL_UNLINK | IN_ONLYDIR;

struct watch_zone {
	const struct zone_config *cfg;
	uint32_t idx;
	int root_fd; /* the zone root, O_PATH; -1 while it is missing */
	uint64_t dev;
	/*
	 * On the nearest directory above the root that is there (the root's
	 * parent while the root is), to see the root, or its way down, appear.
	 */
	int anc_wd;
	size_t anc_len; /* that directory: the first anc_len bytes of cfg->path ("/" at 0) */
	uint8_t said;	/* why the root is missing, as logged since it was last there (WATCH_SAID_*) */
	bool seen;	/* the root was attached once */
	bool slash_patterns; /* include/exclude need the relative path */
	uint32_t mask;
};

struct watch {
	struct ev_loop *loop;
	ev_io io;
	ev_timer rescan_timer;
	uint64_t overflows_pending;
	int fd;
	const struct config *cfg;
	struct table *table;
	struct counters *counters;
	struct watch_zone *zones;
	size_t n_zones;
	struct u64map *writers; /* during a full scan: who holds what open for writing */
	struct table_file **checks; /* to ask the kernel about at the end of the batch */
	size_t n_checks, cap_checks;
	struct table_dir *cached_dir; /* one open directory, for a batch's events */
	int cached_fd;
	bool need_rescan;
	bool limit_warned;
	uint64_t unwatched;
	int threads; /* for the big walks */
	uint64_t roots_gen; /* zone roots attached and detached */
	struct scan_pump pump;
	char *backlog; /* events read during a big walk, to apply after it */
	size_t backlog_len, backlog_cap;
	bool backlog_lost;
	void (*batch_hook)(void *ud);
	void *batch_ud;
};

static void watch_on_readable(struct ev_loop *loop, ev_io *io, int revents);
static void watch_on_rescan_timer(struct ev_loop *loop, ev_timer *t, int revents);

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

static void cache_drop(struct watch *w)
{
	if (w->cached_fd >= 0)
		close(w->cached_fd);
	w->cached_fd = -1;
	w->cached_dir = NULL;
}

/* A directory opened with openat2's resolve flags, through no symbolic link; fd or -errno. */
static int open_dir_nolinks(int dirfd, const char *path, int flags, uint64_t resolve)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_DIRECTORY | O_CLOEXEC),
		.resolve = resolve | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));

	return fd < 0 ? -errno : fd;
}

static int open_beneath(const struct watch_zone *z, const char *rel, int flags)
{
	if (z->root_fd < 0)
		return -ENOENT;
	return open_dir_nolinks(z->root_fd, rel[0] ? rel : ".", flags,
				RESOLVE_BENEATH | RESOLVE_NO_XDEV);
}

/*
 * rel opened beneath z's root, a piece of fewer than PATH_MAX bytes at a time
 * (cut at slashes) from the directory the last piece opened: a tree may go
 * deeper than any one path can say, and what is below must still be seen.
 */
static int open_beneath_long(const struct watch_zone *z, char *rel, int flags)
{
	int fd = -1;

	if (z->root_fd < 0)
		return -ENOENT;
	for (char *piece = rel; fd < 0 || *piece;) {
		size_t n = strlen(piece);
		char *end = piece + n;
		int next;

		if (n >= PATH_MAX) {
			end = piece + PATH_MAX - 1;
			while (end > piece && *end != '/')
				end--;
			if (end == piece) {
				if (fd >= 0)
					close(fd);
				return -ENAMETOOLONG; /* no name is that long */
			}
			*end = '\0';
		}
		next = open_dir_nolinks(fd >= 0 ? fd : z->root_fd, piece[0] ? piece : ".",
					end != piece + n ? O_PATH : flags,
					RESOLVE_BENEATH | RESOLVE_NO_XDEV);
		if (end != piece + n)
			*end = '/';
		if (fd >= 0)
			close(fd);
		if (next < 0)
			return next;
		fd = next;
		piece = end == piece + n ? end : end + 1;
	}
	return fd;
}

/* Opens the directory d beneath its zone root, following no link. */
static int watch_open_dir(struct watch *w, struct watch_zone *z, struct table_dir *d, int flags)
{
	char *rel = table_dir_relpath_dup(d);
	int fd;

	(void)w;
	if (!rel)
		return -ENOMEM;
	fd = open_beneath_long(z, rel, flags);
	free(rel);
	return fd;
}

int watch_open_beneath(struct watch *w, size_t zone, const char *rel, int flags)
{
	return zone < w->n_zones ? open_beneath(&w->zones[zone], rel, flags) : -ENOENT;
}

/* The directory d open as O_PATH, kept for the rest of the batch. */
static int dir_fd(struct watch *w, struct table_dir *d)
{
	if (w->cached_dir == d)
		return w->cached_fd;
	cache_drop(w);
	w->cached_fd = watch_open_dir(w, &w->zones[d->zone], d, O_PATH);
	if (w->cached_fd >= 0)
		w->cached_dir = d;
	return w->cached_fd;
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

static bool watch_wants_dir(struct watch *w, struct watch_zone *z, struct table_dir *parent,
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

static void check_queue(struct watch *w, struct table_file *f)
{
	struct table_file **checks;

	if (f->flags & TF_CHECK)
		return;
	checks = vec_grow(w->checks, &w->cap_checks, w->n_checks + 1, sizeof(*checks));
	if (!checks)
		return;
	w->checks = checks;
	f->flags |= TF_CHECK;
	w->checks[w->n_checks++] = f;
}

/* Drops f from the table; a queued check of it goes with it. */
static void forget_file(struct watch *w, struct table_file *f)
{
	if (f->flags & TF_CHECK)
		for (size_t i = 0; i < w->n_checks; i++)
			if (w->checks[i] == f)
				w->checks[i] = NULL;
	table_file_remove(w->table, f);
}

/*
 * Asks the kernel, once per file per batch, whether anyone holds it open for
 * writing. Our own open comes back as IN_OPEN: counted in self_opens so that
 * it is not taken for an access.
 */
int watch_writing_at(struct watch *w, struct table_file *f, int dirfd)
{
	int r;

	watch_self_open(w, f, true);
	r = lease_writing_at(dirfd, f->name, f->ino);
	if (r == -ENOENT || r == -ELOOP || r == -ESTALE || r == -ENXIO || r == -EACCES)
		watch_self_open(w, f, false); /* not opened: no event of ours will come */
	return r;
}

static void checks_flush(struct watch *w)
{
	for (size_t i = 0; i < w->n_checks; i++) {
		struct table_file *f = w->checks[i];
		int fd, r;

		if (!f)
			continue;
		f->flags &= ~TF_CHECK;
		fd = dir_fd(w, f->dir);
		if (fd < 0)
			continue;
		r = watch_writing_at(w, f, fd);
		if (r >= 0)
			table_file_set_writing(w->table, f, r == 1);
	}
	w->n_checks = 0;
}

/*
 * While a big walk runs, the loop is not turning: its own opens of watched
 * directories alone would overflow the queue. The pump reads the queue into a
 * backlog, dropping what carries nothing (directories opened or read), and
 * the backlog is applied once the walk is over: events are reconciled against
 * the disk, so applying them late gives the same table.
 */
static void watch_pump(void *ud)
{
	struct watch *w = ud;
	char buf[WATCH_BUF] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	/* A long walk is work, not a hang. */
	notify_watchdog_kick();
	while ((n = read(w->fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			size_t len = sizeof(*ev) + ev->len;
			char *grown;

			p += len;
			if ((ev->mask & IN_ISDIR) && (ev->mask & (IN_OPEN | IN_ACCESS)))
				continue;
			grown = w->backlog_len + len <= WATCH_BACKLOG_MAX
					? vec_grow(w->backlog, &w->backlog_cap, w->backlog_len + len, 1)
					: NULL;
			if (!grown) {
				w->backlog_lost = true;
				continue;
			}
			w->backlog = grown;
			memcpy(w->backlog + w->backlog_len, ev, len);
			w->backlog_len += len;
		}
	}
}

static void on_event(struct watch *w, const struct inotify_event *ev);

/* Applies a buffer of events, then what they queued: lease checks, the cached directory. */
static void apply_events(struct watch *w, const char *buf, size_t len)
{
	for (size_t off = 0; off < len;) {
		const struct inotify_event *ev = (const struct inotify_event *)(buf + off);
		on_event(w, ev);
		off += sizeof(*ev) + ev->len;
	}
	checks_flush(w);
	cache_drop(w);
}

/* Events were lost somewhere: one rescan once the burst is over (or on settle). */
static void note_overflow(struct watch *w)
{
	w->counters->overflows++;
	w->overflows_pending++;
	w->need_rescan = true;
	ev_timer_again(w->loop, &w->rescan_timer);
}

static void backlog_replay(struct watch *w)
{
	/* The walk's snapshot of writers is older than these events: ask the kernel. */
	struct u64map *snapshot = w->writers;

	w->writers = NULL;
	apply_events(w, w->backlog, w->backlog_len);
	w->backlog_len = 0;
	if (w->backlog_lost) {
		w->backlog_lost = false;
		note_overflow(w);
	}
	w->writers = snapshot;
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
static struct table_file *watch_file_found(struct watch *w, struct watch_zone *z,
					   struct table_dir *d, const char *name,
					   const struct stat *st, bool rescan)
{
	struct table_file *f;
	struct table_stat ts;

	if (!zone_file_wanted(z, d, name)) {
		f = table_file_get(w->table, d, name);
		if (f)
			forget_file(w, f);
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
		check_queue(w, f);
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
static void walk(struct watch *w, struct watch_zone *z, struct table_dir *d, int fd, bool rescan,
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

static void on_dir_dropped(struct table_dir *d, void *ud)
{
	struct watch *w = ud;

	if (w->cached_dir == d)
		cache_drop(w);
	if (d->flags & TD_UNWATCHED)
		w->unwatched--;
	if (d->wd >= 0)
		inotify_rm_watch(w->fd, d->wd);
}

static void dir_remove(struct watch *w, struct table_dir *d)
{
	checks_flush(w);
	table_dir_remove(w->table, d, on_dir_dropped, w);
}

/* Walks a subtree again and drops what is no longer there. */
static void rescan_subtree(struct watch *w, struct watch_zone *z, struct table_dir *d,
			   bool full)
{
	int fd;

	checks_flush(w);
	cache_drop(w);
	fd = watch_open_dir(w, z, d, O_RDONLY);
	if (fd < 0) {
		if (d->parent)
			dir_remove(w, d);
		return;
	}
	if (full)
		w->writers = lease_writers_snapshot();
	table_rescan_begin(w->table, d);
	walk(w, z, d, fd, true, full ? w->threads : 1, full ? &w->pump : NULL);
	table_rescan_end(w->table, d, on_dir_dropped, w);
	if (full)
		backlog_replay(w);
	if (w->writers) {
		u64map_destroy(w->writers);
		w->writers = NULL;
	}
}

/* Where the root's parent ends in its path: the anc_len of the parent. */
static size_t parent_len(const char *path)
{
	return (size_t)(strrchr(path, '/') - path);
}

/*
 * Opens the first len bytes of path ("/" when 0) as a directory, through no
 * symbolic link anywhere on the way: zone paths were resolved when the config
 * was loaded, so a link found on them now was put there since, by someone
 * who may not be trusted with where sweepd goes.
 */
static int open_nolinks(const char *path, size_t len, int flags)
{
	char buf[PATH_MAX];

	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	if (len)
		memcpy(buf, path, len);
	else
		buf[len++] = '/';
	buf[len] = '\0';
	return open_dir_nolinks(AT_FDCWD, buf, flags, 0);
}

/* Drops the ancestor watch wd unless another zone than z watches through it. */
static void anc_release(struct watch *w, const struct watch_zone *z, int wd)
{
	if (wd < 0)
		return;
	for (size_t i = 0; i < w->n_zones; i++)
		if (&w->zones[i] != z && w->zones[i].anc_wd == wd)
			return;
	inotify_rm_watch(w->fd, wd);
}

/* Watches path's first len bytes as z's ancestor, dropping the one it had. */
static void anc_watch(struct watch *w, struct watch_zone *z, size_t len)
{
	int fd = open_nolinks(z->cfg->path, len, O_PATH), wd = -1;
	char proc[64];

	if (fd >= 0) {
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		wd = inotify_add_watch(w->fd, proc,
				       IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM |
					       IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF |
					       IN_ONLYDIR);
		close(fd);
	}
	if (z->anc_wd != wd)
		anc_release(w, z, z->anc_wd);
	z->anc_wd = wd < 0 ? -1 : wd;
	z->anc_len = len;
}

/* Is ev about the name that comes below z's ancestor on the way to its root? */
static bool anc_names_next(const struct watch_zone *z, const struct inotify_event *ev)
{
	const char *next = z->cfg->path + z->anc_len + 1;
	size_t n = strcspn(next, "/");

	return ev->len && strlen(ev->name) == n && !memcmp(ev->name, next, n);
}

static void zone_detach(struct watch *w, struct watch_zone *z)
{
	struct table_zone *tz = table_zone(w->table, z->idx);

	if (z->root_fd < 0)
		return;
	log_warn("zone \"%s\": %s is gone; watching for it to come back", z->cfg->name,
		 z->cfg->path);
	if (tz->root)
		dir_remove(w, tz->root);
	close(z->root_fd);
	z->root_fd = -1;
	z->said = WATCH_SAID_ENOENT;
	w->roots_gen++;
}

/* (Re)opens the zone root and scans it; 0 or -errno. */
static int zone_attach(struct watch *w, struct watch_zone *z, bool first)
{
	struct table_dir *root;
	struct stat st;
	int fd;

	if (z->root_fd >= 0)
		return 0;
	fd = open_nolinks(z->cfg->path, strlen(z->cfg->path), O_RDONLY);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	/* One open for both: the walk consumes fd, root_fd stays for openat2(). */
	z->root_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (z->root_fd < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	z->dev = st.st_dev;
	root = table_dir_add(w->table, NULL, z->idx, "", st.st_dev, st.st_ino);
	if (!root) {
		close(fd);
		close(z->root_fd);
		z->root_fd = -1;
		return -ENOMEM;
	}
	if (!first || z->said)
		log_info("zone \"%s\": %s is %s; scanning it", z->cfg->name, z->cfg->path,
			 z->seen ? "back" : "there now");
	z->seen = true;
	z->said = 0;
	w->roots_gen++;
	walk(w, z, root, fd, false, first ? w->threads : 1, first ? &w->pump : NULL);
	if (first)
		backlog_replay(w);
	return 0;
}

/* Says once (per cause, until the root is there) why it is not attached: r, why it cannot be opened. */
static void zone_say_missing(struct watch_zone *z, int r)
{
	const char *path = z->cfg->path;
	char anc[PATH_MAX], next[PATH_MAX];
	size_t n = z->anc_len + 1 + strcspn(path + z->anc_len + 1, "/");
	uint8_t bit = r == -ENOENT ? WATCH_SAID_ENOENT
		      : r == -ELOOP ? WATCH_SAID_LINK
				    : WATCH_SAID_OTHER;

	if (z->said & bit)
		return;
	z->said |= bit;
	snprintf(anc, sizeof(anc), "%.*s", z->anc_len ? (int)z->anc_len : 1,
		 z->anc_len ? path : "/");
	snprintf(next, sizeof(next), "%.*s", (int)n, path);
	if (r == -ENOENT && z->anc_wd >= 0)
		log_info("zone \"%s\": %s does not exist (yet): watching %s for %s to appear",
			 z->cfg->name, path, anc, next);
	else if (r == -ENOENT)
		log_warn("zone \"%s\": %s does not exist (yet), and %s cannot be watched: looking "
			 "for it every 30 s and on settle",
			 z->cfg->name, path, anc);
	else if (r == -ELOOP)
		log_warn("zone \"%s\": %s is a symbolic link, which sweepd does not follow: the "
			 "zone stays missing until a directory stands there (or the config names "
			 "the link's target)",
			 z->cfg->name, next);
	else
		log_warn("zone \"%s\": cannot open %s: %s; watching %s for a change", z->cfg->name,
			 path, strerror(-r), anc);
	if (z->anc_wd < 0 && r != -ENOENT)
		log_warn("zone \"%s\": cannot watch %s either: looking again every 30 s and on "
			 "settle",
			 z->cfg->name, anc);
}

/*
 * Attaches the zone root if it is there; if not, watches the nearest
 * directory above it that is, so that each step of the way down (mkdir -p
 * makes them all in one breath) is seen at once. After each new watch the
 * way is looked at again: what was made before the watch was on is not
 * missed. Returns 0 (attached) or why the root cannot be opened.
 */
static int zone_seek(struct watch *w, struct watch_zone *z, bool first)
{
	const char *path = z->cfg->path;
	size_t top = parent_len(path), prev = SIZE_MAX;
	int r = 0;

	/* Each turn goes further down, or stops: bounded by the path's depth. */
	for (size_t turn = 0; turn <= strlen(path); turn++) {
		size_t len = top;
		int fd = -1;

		r = zone_attach(w, z, first);
		if (r == 0) {
			/* Again even if watched: the parent may be another directory by now. */
			anc_watch(w, z, top);
			return 0;
		}
		/* The nearest directory above the root that opens through no link. */
		while (len && (fd = open_nolinks(path, len, O_PATH)) < 0)
			while (len && path[--len] != '/')
				;
		if (fd >= 0)
			close(fd);
		if (len == prev)
			break; /* watched since the last look, and nothing new below it */
		anc_watch(w, z, len);
		prev = len;
	}
	zone_say_missing(z, r);
	return r;
}

static int zone_init(struct watch_zone *z, const struct zone_config *zc, size_t idx)
{
	memset(z, 0, sizeof(*z));
	z->cfg = zc;
	z->idx = (uint32_t)idx;
	z->root_fd = -1;
	z->anc_wd = -1;
	for (size_t k = 0; k < zc->include.n; k++)
		z->slash_patterns |= strchr(zc->include.patterns[k], '/') != NULL;
	for (size_t k = 0; k < zc->exclude.n; k++)
		z->slash_patterns |= strchr(zc->exclude.patterns[k], '/') != NULL;
	z->mask = watch_mask_base | (zc->max_idle != CONFIG_UNSET ? IN_ACCESS : 0);
	return 0;
}

struct watch *watch_create(struct ev_loop *loop, const struct config *cfg, struct table *t,
			   struct counters *counters)
{
	struct watch *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->loop = loop;
	w->cfg = cfg;
	w->table = t;
	w->counters = counters;
	w->cached_fd = -1;
	/* The big walks (the first, and after an overflow) use every core, up to a few. */
	w->threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (w->threads < 1)
		w->threads = 1;
	if (w->threads > SCAN_MAX_THREADS)
		w->threads = SCAN_MAX_THREADS;
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	w->zones = calloc(cfg->n_zones, sizeof(*w->zones));
	w->n_zones = cfg->n_zones;
	if (w->fd < 0 || !w->zones) {
		watch_destroy(w);
		return NULL;
	}
	for (size_t i = 0; i < cfg->n_zones; i++)
		if (zone_init(&w->zones[i], &cfg->zones[i], i) < 0) {
			watch_destroy(w);
			return NULL;
		}
	ev_io_init(&w->io, watch_on_readable, w->fd, EV_READ);
	w->io.data = w;
	w->pump.fd = w->fd;
	w->pump.fn = watch_pump;
	w->pump.ud = w;
	ev_init(&w->rescan_timer, watch_on_rescan_timer);
	w->rescan_timer.repeat = WATCH_RESCAN_QUIET_S;
	w->rescan_timer.data = w;
	return w;
}

void watch_destroy(struct watch *w)
{
	if (!w)
		return;
	if (w->loop) {
		ev_io_stop(w->loop, &w->io);
		ev_timer_stop(w->loop, &w->rescan_timer);
	}
	cache_drop(w);
	for (size_t i = 0; i < w->n_zones && w->zones; i++) {
		if (w->zones[i].root_fd >= 0)
			close(w->zones[i].root_fd);
	}
	free(w->zones);
	free(w->checks);
	free(w->backlog);
	u64map_destroy(w->writers);
	if (w->fd >= 0)
		close(w->fd);
	free(w);
}

/*
 * The first walk of new zones (every zone when old_of_new is NULL), with one
 * look at who holds what open for writing. A zone whose root is not there
 * (or is a link, or a file) is watched for, as one removed later; at the
 * start, a root there that cannot be opened is an error.
 */
static int attach_new(struct watch *w, const int *old_of_new)
{
	int r = 0;

	w->writers = lease_writers_snapshot();
	for (size_t i = 0; i < w->n_zones && !r; i++) {
		struct watch_zone *z = &w->zones[i];

		if (old_of_new && old_of_new[i] >= 0)
			continue;
		r = zone_seek(w, z, true);
		if (r == -ENOENT || r == -ELOOP || r == -ENOTDIR || old_of_new)
			r = 0;
		else if (r < 0)
			log_err("zone \"%s\": cannot open %s: %s", z->cfg->name, z->cfg->path,
				strerror(-r));
	}
	u64map_destroy(w->writers);
	w->writers = NULL;
	return r;
}

int watch_start(struct watch *w)
{
	int r = attach_new(w, NULL);

	if (r < 0)
		return r;
	table_links_settle(w->table);
	ev_io_start(w->loop, &w->io);
	return 0;
}

int watch_reconfigure(struct watch *w, const struct config *cfg, const int *old_of_new)
{
	size_t n_old = w->n_zones, n_new = cfg->n_zones;
	struct watch_zone *zones = calloc(n_new ? n_new : 1, sizeof(*zones)), *old = w->zones;
	int *parents = calloc(n_old ? n_old : 1, sizeof(*parents));
	bool *kept = calloc(n_old ? n_old : 1, sizeof(*kept));
	int r = -ENOMEM;

	/* Everything that can fail comes before the first change. */
	if (!zones || !parents || !kept)
		goto out;
	for (size_t j = 0; j < n_new; j++) {
		if (old_of_new[j] >= 0)
			kept[old_of_new[j]] = true;
		else if (zone_init(&zones[j], &cfg->zones[j], j) < 0)
			goto out;
	}
	checks_flush(w);
	cache_drop(w);
	r = table_remap(w->table, old_of_new, n_new, on_dir_dropped, w);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < n_old; i++) {
		parents[i] = kept[i] ? -1 : old[i].anc_wd;
		if (kept[i])
			continue;
		if (old[i].root_fd >= 0)
			close(old[i].root_fd);
	}
	for (size_t j = 0; j < n_new; j++) {
		if (old_of_new[j] < 0)
			continue;
		/* The same path (anc_len stays right), in the new config's copy. */
		zones[j] = old[old_of_new[j]];
		zones[j].cfg = &cfg->zones[j];
		zones[j].idx = (uint32_t)j;
	}
	w->zones = zones;
	w->n_zones = n_new;
	w->cfg = cfg;
	zones = old; /* the old array is what is freed below */
	attach_new(w, old_of_new);
	/* An ancestor watch may serve several zones: unwatch only those no zone needs now. */
	for (size_t i = 0; i < n_old; i++) {
		bool used = parents[i] < 0;
		for (size_t j = 0; j < w->n_zones && !used; j++)
			used = w->zones[j].anc_wd == parents[i];
		if (!used)
			inotify_rm_watch(w->fd, parents[i]);
	}
	r = 0;
out:
	free(zones);
	free(parents);
	free(kept);
	return r;
}

bool watch_zone_attached(const struct watch *w, size_t zone)
{
	return zone < w->n_zones && w->zones[zone].root_fd >= 0;
}

uint64_t watch_roots_gen(const struct watch *w)
{
	return w->roots_gen;
}

static bool zone_refresh_root(struct watch *w, struct watch_zone *z);

/*
 * Events on the directory above a zone root that is watched for it: the
 * name on the way to the root made, moved, removed or changed, or that
 * directory itself gone (then the one above it is watched).
 */
static void on_ancestor_event(struct watch *w, const struct inotify_event *ev)
{
	bool self = ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT);

	for (size_t i = 0; i < w->n_zones; i++) {
		struct watch_zone *z = &w->zones[i];

		if (z->anc_wd != ev->wd || (!self && !anc_names_next(z, ev)))
			continue;
		if (ev->mask & IN_IGNORED)
			z->anc_wd = -1; /* the kernel dropped it */
		zone_refresh_root(w, z);
	}
}

static void on_file_event(struct watch *w, struct watch_zone *z, struct table_dir *d,
			  const struct inotify_event *ev)
{
	struct table_file *f = table_file_get(w->table, d, ev->name);
	struct stat st;
	int fd;

	if (ev->mask & (IN_OPEN | IN_ACCESS)) {
		if (!f)
			return;
		if ((ev->mask & IN_OPEN) && f->self_opens) {
			f->self_opens--;
			return;
		}
		table_file_set_access(w->table, f, now_s());
		if (ev->mask & IN_OPEN)
			check_queue(w, f); /* perhaps for writing: ask */
		return;
	}
	if (ev->mask & (IN_DELETE | IN_MOVED_FROM)) {
		if (f)
			forget_file(w, f);
		return;
	}
	fd = dir_fd(w, d);
	if (fd < 0) {
		/* The directory itself is gone or moved: its own events follow. */
		return;
	}
	if (fstatat(fd, ev->name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (f && errno == ENOENT)
			forget_file(w, f);
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		/* Replaced by a link, a fifo, ...: not counted. */
		if (f)
			forget_file(w, f);
		return;
	}
	f = watch_file_found(w, z, d, ev->name, &st, false);
	if (f && (ev->mask & IN_MODIFY)) {
		/* A write: min_age counts from it even if the mtime is set back later. */
		table_file_note_write(w->table, f, now_s());
		table_file_set_writing(w->table, f, true);
	}
}

static void on_dir_event(struct watch *w, struct watch_zone *z, struct table_dir *d,
			 const struct inotify_event *ev)
{
	struct table_dir *c = table_dir_child(d, ev->name);
	struct stat st;
	int pfd, fd;

	if (!z->cfg->recursive)
		return;
	if (ev->mask & (IN_DELETE | IN_MOVED_FROM)) {
		if (c)
			dir_remove(w, c);
		return;
	}
	if (!(ev->mask & (IN_CREATE | IN_MOVED_TO)) || !watch_wants_dir(w, z, d, ev->name))
		return;
	/* A directory moved in, or created and filled in one breath: walk it. */
	if (c) {
		rescan_subtree(w, z, c, false);
		return;
	}
	pfd = dir_fd(w, d);
	if (pfd < 0)
		return;
	fd = openat(pfd, ev->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fstat(fd, &st) < 0 || st.st_dev != z->dev) {
		close(fd);
		return;
	}
	c = table_dir_add(w->table, d, z->idx, ev->name, st.st_dev, st.st_ino);
	if (!c) {
		close(fd);
		return;
	}
	walk(w, z, c, fd, false, 1, NULL);
}

static void on_event(struct watch *w, const struct inotify_event *ev)
{
	struct table_dir *d;
	struct watch_zone *z;

	w->counters->events++;
	if (ev->mask & IN_Q_OVERFLOW) {
		note_overflow(w);
		return;
	}
	d = table_dir_by_wd(w->table, ev->wd);
	if (!d) {
		on_ancestor_event(w, ev);
		return;
	}
	z = &w->zones[d->zone];
	if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED | IN_UNMOUNT)) {
		if (!d->parent) {
			/* Whatever stands at the path now (another mount, nothing) is looked for. */
			zone_detach(w, z);
			zone_seek(w, z, false);
		} else if (ev->mask & IN_IGNORED) {
			/* The watch is gone (the directory was removed); its parent says so too. */
			table_dir_set_wd(w->table, d, -1);
		}
		return;
	}
	if (!ev->len)
		return; /* about the directory itself: opens and reads of it */
	if (ev->mask & IN_ISDIR)
		on_dir_event(w, z, d, ev);
	else
		on_file_event(w, z, d, ev);
}

/* Reads and applies one buffer of events; returns the bytes read, 0 when none (or on error). */
static ssize_t read_batch(struct watch *w)
{
	char buf[WATCH_BUF] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n = read(w->fd, buf, sizeof(buf));

	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			log_err("reading inotify events: %s", strerror(errno));
		return 0;
	}
	apply_events(w, buf, (size_t)n);
	return n;
}

/*
 * Is the directory we watch as the zone root still the one at its path? A
 * rename of a directory above the root moves it away with no event on it.
 */
static bool root_in_place(const struct watch_zone *z, const struct table_zone *tz)
{
	struct stat st;

	return tz->root && lstat(z->cfg->path, &st) == 0 && S_ISDIR(st.st_mode) &&
	       st.st_ino == tz->root->ino && st.st_dev == tz->root->dev;
}

/*
 * Makes the zone root current: drops a root that is no longer at its path
 * (removed, moved, mounted over), attaches (and walks) one that is there
 * now, or watches the way to it. Returns whether it walked it.
 */
static bool zone_refresh_root(struct watch *w, struct watch_zone *z)
{
	if (z->root_fd >= 0 && !root_in_place(z, table_zone(w->table, z->idx)))
		zone_detach(w, z);
	if (z->root_fd >= 0) {
		if (z->anc_wd < 0)
			anc_watch(w, z, parent_len(z->cfg->path));
		return false;
	}
	return zone_seek(w, z, false) == 0;
}

static void full_rescan(struct watch *w)
{
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
		if (zone_refresh_root(w, z) || z->root_fd < 0)
			continue;
		rescan_subtree(w, z, tz->root, true);
	}
}

/* Reads what is queued now (FIONREAD), and no more. */
static void read_queued(struct watch *w)
{
	int queued = 0;
	ssize_t n;

	if (ioctl(w->fd, FIONREAD, &queued) < 0)
		queued = INT_MAX;
	while (queued > 0 && (n = read_batch(w)) > 0)
		queued -= (int)n;
}

/*
 * Takes in every change made before the call, and no more, so that a writer
 * that never stops cannot keep us here: the queued events, then (after an
 * overflow) one rescan, which sees at least every change made before it.
 * An overflow during that rescan is left to the rescan timer.
 */
void watch_drain(struct watch *w)
{
	read_queued(w);
	if (w->need_rescan) {
		full_rescan(w);
		read_queued(w);
	}
	table_links_settle(w->table);
}

static void find_unwatched(struct watch *w, struct watch_zone *z, struct table_dir *d)
{
	struct table_dir *c = d->first_child;

	if (d->flags & TD_UNWATCHED) {
		rescan_subtree(w, z, d, false);
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

		if (!zone_refresh_root(w, z) && z->root_fd >= 0 && w->unwatched && tz->root)
			find_unwatched(w, z, tz->root);
	}
}

static void batch_done(struct watch *w)
{
	table_links_settle(w->table);
	if (w->batch_hook)
		w->batch_hook(w->batch_ud);
}

static void watch_on_readable(struct ev_loop *loop, ev_io *io, int revents)
{
	(void)loop;
	(void)revents;
	if (read_batch(io->data) > 0)
		batch_done(io->data);
}

void watch_set_batch_hook(struct watch *w, void (*fn)(void *ud), void *ud)
{
	w->batch_hook = fn;
	w->batch_ud = ud;
}

int watch_dir_open(struct watch *w, struct table_dir *d)
{
	return watch_open_dir(w, &w->zones[d->zone], d, O_PATH);
}

void watch_self_open(struct watch *w, struct table_file *f, bool opening)
{
	(void)w;
	if (f->dir->wd < 0)
		return;
	if (opening && f->self_opens < UINT8_MAX)
		f->self_opens++;
	else if (!opening && f->self_opens)
		f->self_opens--;
}

void watch_dir_gone(struct watch *w, struct table_dir *d)
{
	dir_remove(w, d);
}

/* No overflow for a while: the burst is over, rescan once. */
static void watch_on_rescan_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct watch *w = t->data;

	(void)loop;
	(void)revents;
	if (w->need_rescan) {
		watch_drain(w);
		batch_done(w);
	}
}
