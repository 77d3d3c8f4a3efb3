#ifndef SWEEPD_SCAN_H
#define SWEEPD_SCAN_H

#include <stdbool.h>
#include <stdint.h>

struct watch_zone;
struct table_dir;
struct watch;

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
void scan_tree(struct watch *w, struct watch_zone *z, struct table_dir *d, int dfd, bool rescan,
	       int threads, const struct scan_pump *pump);

#endif
