#ifndef SWEEPD_FILEIO_H
#define SWEEPD_FILEIO_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Replaces path with the len bytes of buf, whole or not at all: written to
 * tmp (beside path, so that the rename is atomic), fsync'd first when
 * durable, then renamed over path. 0, or -errno with tmp removed.
 */
int file_replace(const char *path, const char *tmp, const char *buf, size_t len, bool durable);
/* All n bytes of buf written to fd, through short writes and EINTR: 0 or -errno. */
int file_write_all(int fd, const void *buf, size_t n);
/*
 * A regular file of at most max bytes read whole, NUL-ended, into *out
 * (malloc'd), never following a last link; its stat in *st. 0, -errno, or
 * -EFBIG / -EPERM (not a regular file).
 */
struct stat;
int file_read_small(const char *path, size_t max, char **out, struct stat *st);

#endif
