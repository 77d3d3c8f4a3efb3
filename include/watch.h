#ifndef SWEEPD_WATCH_H
#define SWEEPD_WATCH_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"

struct table;
struct table_dir;
struct counters;

/*
 * The watcher: one inotify descriptor under one ev_io, a watch per directory
 * of every zone, and the walks that fill the table. It keeps the table equal
 * to what is on disk.
 */
struct watch;

struct watch *watch_create(struct ev_loop *loop, const struct config *cfg, struct table *t,
			   struct counters *counters);
void watch_destroy(struct watch *w);

/* The first scan of every zone; returns 0 or -errno. */
int watch_start(struct watch *w);
/* Reads and applies every queued event, then any rescan they call for. */
void watch_drain(struct watch *w);
/* Rescans the subtrees that have no watch and retries zones whose root is missing. */
void watch_poll_unwatched(struct watch *w);

/* Per zone: is its root there, and on which device. */
bool watch_zone_attached(const struct watch *w, size_t zone);

#endif
