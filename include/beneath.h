#ifndef SWEEPD_BENEATH_H
#define SWEEPD_BENEATH_H

/*
 * Opening a directory beneath a root descriptor the way every file job does:
 * openat2() with RESOLVE_BENEATH, no symbolic link (and no magic link)
 * followed, no mount crossed, a piece under PATH_MAX at a time, since trees
 * go deeper than that. For the mover's workers: it touches nothing but the
 * descriptors it is given.
 */

/* The directory rel ("" for root itself) beneath root, opened with flags (O_RDONLY or O_PATH); -errno. */
int beneath_open_dir(int root, const char *rel, int flags);

#endif
