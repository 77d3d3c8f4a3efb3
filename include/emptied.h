#ifndef SWEEPD_EMPTIED_H
#define SWEEPD_EMPTIED_H

#include <stdint.h>
#include <time.h>

/*
 * The directories the sweeper emptied, and their removal once old enough
 * (prune_empty_dirs), as systemd-tmpfiles does: a directory goes only when its
 * own mtime, as its users left it, is older than the zone's min_age. sweepd's
 * own removals bump that mtime, so the mtime they left is remembered (by watch
 * descriptor) with the one before it.
 */
struct config;
struct table;
struct table_dir;
struct watch;
struct zone_config;

struct emptied;

struct emptied *emptied_create(void);
void emptied_destroy(struct emptied *e);

/* The mtime of d (mtim, as found now) before sweepd's own removals in it. */
int64_t emptied_user_mtime(struct emptied *e, const struct table_dir *d,
			   const struct timespec *mtim);
/* After a removal in d: the mtime it had before (user) and the one it left (ours). */
void emptied_removed_in(struct emptied *e, const struct table_dir *d, int64_t user,
			const struct timespec *ours, int64_t now);
/*
 * Removes d, emptied, and its emptied parents up to (never including) the zone
 * root, each only when old enough for zc's min_age; a younger one is looked at
 * again by emptied_prune_young.
 */
void emptied_prune(struct emptied *e, struct watch *w, const struct zone_config *zc,
		   struct table_dir *d, int64_t now);
/* Those left for being young that are old enough now go; stale ages are forgotten. */
void emptied_prune_young(struct emptied *e, struct watch *w, struct table *t,
			 const struct config *cfg, int64_t now);

#endif
