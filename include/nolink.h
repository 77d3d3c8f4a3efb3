#ifndef SWEEPD_NOLINK_H
#define SWEEPD_NOLINK_H

#include <stddef.h>
#include <stdint.h>

/*
 * Directories opened through no symbolic link (and no magic link), with
 * openat2(). Zone paths were resolved when the config was loaded, so a link
 * found on them now was put there since, by someone who may not be trusted
 * with where sweepd goes. Each returns a descriptor or -errno, and touches
 * nothing but what it is given: the walkers' threads use them too.
 */

/* path in dirfd as a directory, with flags and these RESOLVE_* flags besides. */
int nolink_open_dir(int dirfd, const char *path, int flags, uint64_t resolve);
/*
 * rel ("" for root itself) beneath the directory root, never out of it or
 * onto another mount, in one call (beneath_open_dir takes a rel of any
 * length a piece at a time). -ENOENT when root is -1 (not there).
 */
int nolink_open_beneath(int root, const char *rel, int flags);
/* The first len bytes of path ("/" when 0) as a directory, through no link on the way. */
int nolink_open_prefix(const char *path, size_t len, int flags);
/*
 * A zone's root as its path says now (O_PATH), through no link, on the
 * filesystem dev: a job opens it when it runs, so that no descriptor is held
 * while it waits and a zone moved away meanwhile is not followed. -ENOENT when
 * it is gone, moved, or another filesystem is there.
 */
int nolink_open_root(const char *path, uint64_t dev);

#endif
