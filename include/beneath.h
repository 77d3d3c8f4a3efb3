#ifndef SWEEPD_BENEATH_H
#define SWEEPD_BENEATH_H

#include <stdint.h>

/*
 * Opening a directory beneath a root descriptor the way every file job does:
 * openat2() with RESOLVE_BENEATH, no symbolic link (and no magic link)
 * followed, no mount crossed, a piece under PATH_MAX at a time, since trees
 * go deeper than that. For the mover's workers: it touches nothing but the
 * descriptors it is given.
 */

/* The directory rel ("" for root itself) beneath root, opened with flags (O_RDONLY or O_PATH); -errno. */
int beneath_open_dir(int root, const char *rel, int flags);
/*
 * Is dir still the directory rel beneath the zone root at root_path (on dev),
 * as they name it now? Whoever owns a directory in a zone can swap it
 * (renameat2 RENAME_EXCHANGE) with one of theirs outside every zone while a
 * job works in it: what the job then does through dir is done out there. So
 * right before a name changes through a held directory, it is opened again
 * as the job opened it and must be the same one: 0, or -ESTALE.
 */
int beneath_still_at(const char *root_path, uint64_t dev, const char *rel, int dir);
/* fd (opened afresh, closed here; -errno: not there) is the directory dir: 0, else -ESTALE. */
int beneath_same_dir(int fd, int dir);

#endif
