#include "lease.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "u64map.h"
#include "writers.h"

static uint64_t writer_key(uint64_t dev, uint64_t ino)
{
	return ino * 0x9e3779b97f4a7c15ULL ^ dev;
}

struct walking {
	struct u64map *out; /* every writer's (dev, ino); or else: */
	uint64_t dev, ino;  /* the one looked for */
	bool found;
};

static bool walk_one(void *ud, int pid, int fdd, const char *fd, const struct stat *st)
{
	struct walking *w = ud;

	(void)pid;
	(void)fdd;
	(void)fd;
	if (w->out) {
		u64map_put(w->out, writer_key(st->st_dev, st->st_ino), (void *)1);
		return false;
	}
	w->found = (uint64_t)st->st_dev == w->dev && (uint64_t)st->st_ino == w->ino;
	return w->found;
}

static int proc_walk(struct u64map *out, uint64_t dev, uint64_t ino, bool *found)
{
	struct walking w = { out, dev, ino, false };
	int r = writers_walk(walk_one, &w, NULL);

	if (found)
		*found = w.found;
	return r;
}

struct u64map *lease_writers_snapshot(void)
{
	struct u64map *m = u64map_create();

	if (m && proc_walk(m, 0, 0, NULL) < 0) {
		u64map_destroy(m);
		return NULL;
	}
	return m;
}

bool lease_writers_has(const struct u64map *writers, uint64_t dev, uint64_t ino)
{
	return writers && u64map_get(writers, writer_key(dev, ino));
}

int lease_hold(int dirfd, const char *name, uint64_t expect_ino, struct lease_held *h)
{
	int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY;
	bool found = false;
	int r;

	/* O_NOATIME keeps our look from counting as an access; it needs ownership or CAP_FOWNER. */
	h->fd = openat(dirfd, name, flags | O_NOATIME);
	h->leased = false;
	if (h->fd < 0 && errno == EPERM)
		h->fd = openat(dirfd, name, flags);
	if (h->fd < 0)
		return -errno;
	if (fstat(h->fd, &h->st) < 0 || !S_ISREG(h->st.st_mode) ||
	    (expect_ino && h->st.st_ino != expect_ino)) {
		lease_release(h);
		return -ESTALE;
	}
	if (fcntl(h->fd, F_SETLEASE, F_RDLCK) == 0) {
		h->leased = true;
		return 0;
	}
	r = errno;
	if (r == EAGAIN) {
		lease_release(h);
		return 1;
	}
	if (proc_walk(NULL, h->st.st_dev, h->st.st_ino, &found) < 0 || found) {
		lease_release(h);
		return found ? 1 : -r;
	}
	return 0;
}

bool lease_broken(const struct lease_held *h)
{
	/* A writer's open breaks the lease: F_GETLEASE then answers the type it is going to. */
	return h->leased && fcntl(h->fd, F_GETLEASE) != F_RDLCK;
}

void lease_release(struct lease_held *h)
{
	if (h->fd >= 0) {
		if (h->leased)
			fcntl(h->fd, F_SETLEASE, F_UNLCK);
		close(h->fd);
	}
	h->fd = -1;
	h->leased = false;
}

int lease_writing_at(int dirfd, const char *name, uint64_t expect_ino)
{
	struct lease_held h;
	int r = lease_hold(dirfd, name, expect_ino, &h);

	if (r == 0)
		lease_release(&h);
	return r;
}
