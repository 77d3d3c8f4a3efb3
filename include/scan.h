#ifndef SWEEPD_SCAN_H
#define SWEEPD_SCAN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

struct table;
struct table_dir;

/*
 * What a walk needs of whoever knows the zone (the watcher). open_dir and
 * add_watch are called on the walkers' threads with no lock held; the
 * others change the table and are called one at a time, under the walk's
 * lock.
 */
struct scan_ops {
	/* The directory d opened with flags beneath the zone root, through no link: fd or -errno. */
	int (*open_dir)(void *ud, struct table_dir *d, int flags);
	/* An inotify watch on the directory open as dfd: its wd, or -errno. */
	int (*add_watch)(void *ud, int dfd);
	/* What came of add_watch for d (a wd, or -errno). */
	void (*note_wd)(void *ud, struct table_dir *d, int wd);
	/* Is the directory name in parent to be walked (not excluded)? */
	bool (*wants_dir)(void *ud, struct table_dir *parent, const char *name);
	/* A regular file found in d; with rescan, to be marked as seen. */
	void (*file_found)(void *ud, struct table_dir *d, const char *name, const struct stat *st,
			   bool rescan);
};

/* The zone a walk covers, and who it reports to. */
struct scan_zone {
	struct table *table;
	uint32_t idx;	/* the zone's index in the table */
	uint64_t dev;	/* its filesystem: the walk goes onto no other */
	bool recursive; /* into subdirectories at all */
	const struct scan_ops *ops;
	void *ud;
};

/*
 * Walks the directory open as dfd (taking ownership of it) into table dir d:
 * adds a watch to each directory before listing it, records regular files,
 * descends into subdirectories of the same filesystem, follows no link.
 * With rescan, marks what it finds as seen for table_rescan_end().
 * Runs on `threads` threads. With a pump, those are all extra threads and the
 * caller's thread calls pump->fn whenever pump->fd is readable until the walk
 * is done; without one, the caller's thread is one of the walkers.
 */
#define SCAN_MAX_THREADS 4
struct scan_pump {
	int fd;
	void (*fn)(void *ud);
	void *ud;
};
void scan_tree(const struct scan_zone *z, struct table_dir *d, int dfd, bool rescan, int threads,
	       const struct scan_pump *pump);

#endif
