#ifndef SWEEPD_FCOPY_H
#define SWEEPD_FCOPY_H

#include <stdbool.h>
#include <sys/stat.h>

/*
 * Copying one open file into another, for moves across filesystems. Returns
 * 0 or -errno; -ECANCELED when keep_going said stop.
 */

/* The bytes, with copy_file_range (read/write where it cannot), writeback started as it goes. */
int fcopy_data(int in, int out, bool (*keep_going)(void *ud), void *ud);
/* Extended attributes, owner, mode, then atime and mtime, from st (in's stat). */
int fcopy_meta(int in, int out, const struct stat *st);

#endif
