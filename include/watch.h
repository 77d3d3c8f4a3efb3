#ifndef SWEEPD_WATCH_H
#define SWEEPD_WATCH_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"

struct table;
struct table_dir;
struct table_file;
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
/*
 * A reload: new zone j is old zone old_of_new[j] (kept, with its files and
 * watches) or a new zone (-1), walked now; old zones not named are dropped.
 * 0, or -ENOMEM with nothing changed. cfg must outlive the watcher's use.
 */
int watch_reconfigure(struct watch *w, const struct config *cfg, const int *old_of_new);
/* Reads and applies every queued event, then any rescan they call for. */
void watch_drain(struct watch *w);
/*
 * Reads and applies the queued events only: a rescan an overflow calls for
 * is left to the rescan timer (once the burst is over). For the planners'
 * own bookkeeping between batches, which must not rescan a large tree on
 * the loop in the middle of a burst; what an operator asks (settle, sweep,
 * reserve) drains whole.
 */
void watch_take_queued(struct watch *w);
/* Rescans the subtrees that have no watch and retries zones whose root is missing. */
void watch_poll_unwatched(struct watch *w);

/*
 * Directories left without a watch since inotify refused one for the
 * fs.inotify.max_user_watches limit (ENOSPC): 0 once every directory is
 * watched again (or none was refused for the limit). The watch_limit alarm.
 */
uint64_t watch_unwatched_at_limit(const struct watch *w);

/* Called after each batch of events has been applied (not during a sweep's own drains). */
void watch_set_batch_hook(struct watch *w, void (*fn)(void *ud), void *ud);

/* For the sweeper: the directory d opened O_PATH beneath its zone root, or -errno. */
int watch_dir_open(struct watch *w, struct table_dir *d);
/*
 * A directory rel (relative to the zone root; "" for the root) opened with
 * flags, never leaving the zone, through no link and onto no other mount.
 */
int watch_open_beneath(struct watch *w, size_t zone, const char *rel, int flags);
/* Our own open of a file is coming: its IN_OPEN is not an access. Undo with done=false. */
void watch_self_open(struct watch *w, struct table_file *f, bool opening);
/*
 * Whether f (in dirfd) is open for writing, asked with a read lease whose
 * open is counted as our own: 1, 0, or -errno (lease_writing_at).
 */
int watch_writing_at(struct watch *w, struct table_file *f, int dirfd);
/* The directory d was removed by us: drops it (and its watch) from the table. */
void watch_dir_gone(struct watch *w, struct table_dir *d);

/* Per zone: is its root there, and on which device. */
bool watch_zone_attached(const struct watch *w, size_t zone);
/* Moves each time a zone root is attached or dropped: the filesystems holding zones may have changed. */
uint64_t watch_roots_gen(const struct watch *w);

#endif
