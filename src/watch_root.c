#include "watch.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "nolink.h"
#include "table.h"
#include "watch_impl.h"

/*
 * Zone roots: each opened through no link and walked once it is there; while
 * it is not, the nearest directory above it that is there is watched, so
 * that the root (or each step of the way down to it) is seen as it appears.
 */

static const uint32_t watch_mask_base =
	IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_MODIFY | IN_CLOSE_WRITE |
	IN_ATTRIB | IN_OPEN | IN_DELETE_SELF | IN_MOVE_SELF | IN_EXCL_UNLINK | IN_ONLYDIR;

/* Where the root's parent ends in its path: the anc_len of the parent. */
static size_t parent_len(const char *path)
{
	return (size_t)(strrchr(path, '/') - path);
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
	int fd = nolink_open_prefix(z->cfg->path, len, O_PATH), wd = -1;
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

void watch_zone_detach(struct watch *w, struct watch_zone *z)
{
	struct table_zone *tz = table_zone(w->table, z->idx);

	if (z->root_fd < 0)
		return;
	log_warn("zone \"%s\": %s is gone; watching for it to come back", z->cfg->name,
		 z->cfg->path);
	if (tz->root)
		watch_dir_remove(w, tz->root);
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
	fd = nolink_open_prefix(z->cfg->path, strlen(z->cfg->path), O_RDONLY);
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
	watch_walk(w, z, root, fd, false, first ? w->threads : 1, first ? &w->pump : NULL);
	if (first)
		watch_backlog_replay(w);
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
int watch_zone_seek(struct watch *w, struct watch_zone *z, bool first)
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
		while (len && (fd = nolink_open_prefix(path, len, O_PATH)) < 0)
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

int watch_zone_init(struct watch_zone *z, const struct zone_config *zc, size_t idx)
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

/*
 * Events on the directory above a zone root that is watched for it: the
 * name on the way to the root made, moved, removed or changed, or that
 * directory itself gone (then the one above it is watched).
 */
void watch_on_ancestor_event(struct watch *w, const struct inotify_event *ev)
{
	bool self = ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT);

	for (size_t i = 0; i < w->n_zones; i++) {
		struct watch_zone *z = &w->zones[i];

		if (z->anc_wd != ev->wd || (!self && !anc_names_next(z, ev)))
			continue;
		if (ev->mask & IN_IGNORED)
			z->anc_wd = -1; /* the kernel dropped it */
		watch_zone_refresh(w, z);
	}
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
bool watch_zone_refresh(struct watch *w, struct watch_zone *z)
{
	if (z->root_fd >= 0 && !root_in_place(z, table_zone(w->table, z->idx)))
		watch_zone_detach(w, z);
	if (z->root_fd >= 0) {
		if (z->anc_wd < 0)
			anc_watch(w, z, parent_len(z->cfg->path));
		return false;
	}
	return watch_zone_seek(w, z, false) == 0;
}
