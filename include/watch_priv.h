#ifndef SWEEPD_WATCH_PRIV_H
#define SWEEPD_WATCH_PRIV_H

/* What watch.c and scan.c share; nothing else includes this. */

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "config.h"
#include "scan.h"

struct table_dir;
struct table_file;

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

/* Opens the directory d (O_PATH) beneath its zone root, following no link. */
int watch_open_dir(struct watch *w, struct watch_zone *z, struct table_dir *d, int flags);
/* Adds the inotify watch for the directory open as dfd: the wd or -errno. Thread-safe. */
int watch_add_syscall(struct watch *w, struct watch_zone *z, int dfd);
/* Records the outcome of watch_add_syscall() for d (a wd, or -errno). */
void watch_note_wd(struct watch *w, struct table_dir *d, int wd);
bool watch_wants_dir(struct watch *w, struct watch_zone *z, struct table_dir *parent,
		     const char *name);
/*
 * Records a regular file found on disk and returns it; NULL when include or
 * exclude refuse it (it is dropped) or memory runs out.
 */
struct table_file *watch_file_found(struct watch *w, struct watch_zone *z, struct table_dir *d,
				    const char *name, const struct stat *st, bool rescan);

#endif
