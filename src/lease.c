#include "lease.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "u64map.h"

static uint64_t writer_key(uint64_t dev, uint64_t ino)
{
	return ino * 0x9e3779b97f4a7c15ULL ^ dev;
}

/*
 * The link /proc/PID/fd/N carries the descriptor's access mode in its own
 * permission bits (S_IWUSR when open for writing), so one lstat tells the
 * mode and one stat through it the file.
 */
static void scan_pid_fds(int procfd, const char *pid, struct u64map *out, uint64_t dev,
			 uint64_t ino, bool *found)
{
	char path[64];
	struct dirent *e;
	DIR *dir;
	int fdd;

	snprintf(path, sizeof(path), "%s/fd", pid);
	fdd = openat(procfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fdd < 0)
		return;
	dir = fdopendir(fdd);
	if (!dir) {
		close(fdd);
		return;
	}
	while ((e = readdir(dir))) {
		struct stat lst, st;

		if (e->d_name[0] == '.')
			continue;
		if (fstatat(fdd, e->d_name, &lst, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !(lst.st_mode & S_IWUSR))
			continue;
		if (fstatat(fdd, e->d_name, &st, 0) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (out)
			u64map_put(out, writer_key(st.st_dev, st.st_ino), (void *)1);
		else if (st.st_dev == dev && st.st_ino == ino)
			*found = true;
	}
	closedir(dir);
}

static int proc_walk(struct u64map *out, uint64_t dev, uint64_t ino, bool *found)
{
	int procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *e;
	pid_t self = getpid();
	DIR *dir;

	if (procfd < 0)
		return -errno;
	dir = fdopendir(procfd);
	if (!dir) {
		close(procfd);
		return -errno;
	}
	while ((e = readdir(dir)) && !(found && *found)) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9' || atoi(e->d_name) == self)
			continue;
		scan_pid_fds(procfd, e->d_name, out, dev, ino, found);
	}
	closedir(dir);
	return 0;
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
