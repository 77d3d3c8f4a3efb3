#ifndef SWEEPD_LEASE_H
#define SWEEPD_LEASE_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Is a file open for writing by some process? Asked of the kernel with a read
 * lease, which fails with EAGAIN exactly when a writer holds the file; where
 * leases cannot be taken, by looking through /proc/PID/fd.
 */

/* Returns 1 (open for writing), 0 (not), or -errno (the file is gone, ...). */
int lease_writing_at(int dirfd, const char *name, uint64_t expect_ino);

/* Every (dev, ino) that some process holds open for writing, from /proc. */
struct u64map;
struct u64map *lease_writers_snapshot(void);
bool lease_writers_has(const struct u64map *writers, uint64_t dev, uint64_t ino);

#endif
