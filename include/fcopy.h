#ifndef SWEEPD_FCOPY_H
#define SWEEPD_FCOPY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

/*
 * Copying one open file into another, for moves across filesystems. Returns
 * 0 or -errno; -ECANCELED when keep_going said stop.
 */

/*
 * The bytes, by their data: only the source's data extents are copied (with
 * copy_file_range where it works, read/write where it cannot), to the same
 * offsets, and out's size is set to in's, so that out has in's holes.
 * Writeback starts as it goes. keep_going is asked between chunks with the
 * data bytes copied so far. -ENODATA when in is cut short meanwhile.
 */
int fcopy_data(int in, int out, bool (*keep_going)(void *ud, uint64_t done), void *ud);
/* Extended attributes, owner, mode, then atime and mtime, from st (in's stat). */
int fcopy_meta(int in, int out, const struct stat *st);

/* What a file holds on disk: its blocks, as bytes, but never more than its size. */
/* What st's file takes on disk, as du counts it: its blocks (a small file's whole block). */
uint64_t fcopy_allocated(const struct stat *st);
uint64_t fcopy_disk_bytes(const struct stat *st);
/*
 * Mostly holes: past FCOPY_SPARSE_FLOOR and less than half of it on disk. Such
 * a file is copied by its data and kept sparse, never compressed: zstd has no
 * holes, and would read (and squeeze) every zero of them, hours for a file
 * `truncate -s 15T` made in an instant.
 */
#define FCOPY_SPARSE_FLOOR (1u << 20)
bool fcopy_mostly_holes(const struct stat *st);

#endif
