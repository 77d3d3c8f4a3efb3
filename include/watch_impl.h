#ifndef SWEEPD_WATCH_IMPL_H
#define SWEEPD_WATCH_IMPL_H

/*
 * The watcher's own state, shared by the files that make it, and by no
 * other module:
 *   watch.c        making, reconfiguring and ending it; what others ask of it
 *   watch_event.c  reading inotify and applying each event to the table
 *   watch_root.c   zone roots: attached, watched for while missing, dropped
 *   watch_walk.c   walks (through scan.c) and rescans; include and exclude
 * Directories are opened through no link by nolink.c and beneath.c.
 */

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "scan.h"

struct config;
struct counters;
struct inotify_event;
struct table;
struct table_dir;
struct table_file;
struct u64map;
struct zone_config;

/*
 * Why a zone root is missing, each said once until it is there (whoever can
 * write above it may toggle it).
 */
#define WATCH_SAID_ENOENT 1u
#define WATCH_SAID_LINK 2u
#define WATCH_SAID_OTHER 4u

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
	/* No full rescan by the timer before this: the last one's length, three times over. */
	ev_tstamp rescan_not_before;
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
	bool limit_hit; /* a watch refused with ENOSPC, and directories still unwatched */
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

/* watch_event.c */

/* Closes the directory kept open for the batch's events. */
void watch_cache_drop(struct watch *w);
/* f to be asked about (open for writing?) at the end of the batch. */
void watch_check_queue(struct watch *w, struct table_file *f);
/* Drops f from the table; a queued check of it goes with it. */
void watch_forget_file(struct watch *w, struct table_file *f);
/* Asks the kernel about each file queued by watch_check_queue. */
void watch_checks_flush(struct watch *w);
/* During a big walk: the event queue read into the backlog (scan_pump's fn). */
void watch_pump(void *ud);
/* After a big walk: the backlog applied. */
void watch_backlog_replay(struct watch *w);
void watch_on_readable(struct ev_loop *loop, ev_io *io, int revents);
void watch_on_rescan_timer(struct ev_loop *loop, ev_timer *t, int revents);
/* After an overflow, rescan once no new overflow has come for this long. */
#define WATCH_RESCAN_QUIET_S 0.5
/* The rescan timer armed: after the quiet time, and never before rescan_not_before. */
void watch_rescan_arm(struct watch *w);

/* watch_root.c */

int watch_zone_init(struct watch_zone *z, const struct zone_config *zc, size_t idx);
/* The zone root is gone: its table dropped, its descriptor closed, said once. */
void watch_zone_detach(struct watch *w, struct watch_zone *z);
/* Attaches the root if it is there, else watches the way to it: 0 or why it cannot be opened. */
int watch_zone_seek(struct watch *w, struct watch_zone *z, bool first);
/* The root made current (dropped, attached, or watched for): whether it was walked. */
bool watch_zone_refresh(struct watch *w, struct watch_zone *z);
/* An event on a directory watched above a zone root that is missing. */
void watch_on_ancestor_event(struct watch *w, const struct inotify_event *ev);

/* watch_walk.c */

/* Opens the directory d beneath its zone root, following no link. */
int watch_open_dir(struct watch *w, struct watch_zone *z, struct table_dir *d, int flags);
/* Is the directory name in parent to be watched and counted (not excluded)? */
bool watch_wants_dir(struct watch *w, struct watch_zone *z, struct table_dir *parent,
		     const char *name);
/*
 * Records a regular file found on disk and returns it; NULL when include or
 * exclude refuse it (it is dropped) or memory runs out.
 */
struct table_file *watch_file_found(struct watch *w, struct watch_zone *z, struct table_dir *d,
				    const char *name, const struct stat *st, bool rescan);
/* Walks d (open as fd, taken) of zone z into the table: scan_tree() on the zone's terms. */
void watch_walk(struct watch *w, struct watch_zone *z, struct table_dir *d, int fd, bool rescan,
		int threads, const struct scan_pump *pump);
/* For table_dir_remove() and the like: d leaves the table (its watch, the cache). */
void watch_on_dir_dropped(struct table_dir *d, void *ud);
void watch_dir_remove(struct watch *w, struct table_dir *d);
/* Walks a subtree again and drops what is no longer there. */
void watch_rescan_subtree(struct watch *w, struct watch_zone *z, struct table_dir *d, bool full);
/* After an overflow: every zone walked again. */
void watch_full_rescan(struct watch *w);

#endif
