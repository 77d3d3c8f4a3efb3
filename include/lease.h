#ifndef SWEEPD_LEASE_H
#define SWEEPD_LEASE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

/*
 * Is a file open for writing by some process? Asked of the kernel with a read
 * lease, which fails with EAGAIN exactly when a writer holds the file; where
 * leases cannot be taken, by looking through /proc/PID/fd.
 */

/* Returns 1 (open for writing), 0 (not), or -errno (the file is gone, ...). */
int lease_writing_at(int dirfd, const char *name, uint64_t expect_ino);

/*
 * Before touching a file: opens it beneath dirfd (no link followed), checks
 * it is still expect_ino, and takes a read lease held until lease_release(),
 * so that a writer opening it meanwhile is seen (lease_broken) and waits.
 * Returns 0 (held; h->fd open, h->st its stat), 1 (open for writing), or
 * -errno (-ESTALE: another file now has the name). Where no lease can be
 * taken, /proc is asked and h->leased is false.
 */
struct lease_held {
	int fd;
	bool leased;
	struct stat st;
};
int lease_hold(int dirfd, const char *name, uint64_t expect_ino, struct lease_held *h);
bool lease_broken(const struct lease_held *h);
void lease_release(struct lease_held *h);

/* Every (dev, ino) that some process holds open for writing, from /proc. */
struct u64map;
struct u64map *lease_writers_snapshot(void);
bool lease_writers_has(const struct u64map *writers, uint64_t dev, uint64_t ino);

#endif
