#include "fcopy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#define FCOPY_CHUNK (8u << 20)

static int copy_rw(int in, int out, off_t *pos, size_t len)
{
	static __thread char buf[1 << 17];

	while (len) {
		ssize_t n = read(in, buf, len < sizeof(buf) ? len : sizeof(buf)), w;
		if (n < 0)
			return errno == EINTR ? 0 : -errno;
		if (n == 0)
			return 1;
		for (char *p = buf; n > 0; p += w, n -= w) {
			w = write(out, p, (size_t)n);
			if (w < 0) {
				if (errno == EINTR) {
					w = 0;
					continue;
				}
				return -errno;
			}
			*pos += w;
			len -= (size_t)w;
		}
	}
	return 0;
}

/*
 * Chunk by chunk, so that a lease broken mid-way (a writer opening the file)
 * stops the copy early, and so that writeback of each chunk starts at once:
 * the fsync that makes the copy durable then finds little left to write.
 */
int fcopy_data(int in, int out, bool (*keep_going)(void *ud), void *ud)
{
	bool plain = false;
	off_t pos = 0, synced = 0;

	for (;;) {
		ssize_t n = 0;
		int r;

		if (keep_going && !keep_going(ud))
			return -ECANCELED;
		if (!plain) {
			n = copy_file_range(in, NULL, out, NULL, FCOPY_CHUNK, 0);
			if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
				      errno == EOPNOTSUPP)) {
				plain = true;
				continue;
			}
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return -errno;
			if (n == 0)
				break;
			pos += n;
		} else {
			r = copy_rw(in, out, &pos, FCOPY_CHUNK);
			if (r < 0)
				return r;
			if (r == 1)
				break;
		}
		if (pos - synced >= (off_t)FCOPY_CHUNK) {
			sync_file_range(out, synced, pos - synced, SYNC_FILE_RANGE_WRITE);
			synced = pos;
		}
	}
	return 0;
}

static int copy_xattrs(int in, int out)
{
	ssize_t len = flistxattr(in, NULL, 0);
	char *names, *val = NULL;
	int r = 0;

	if (len <= 0)
		return len < 0 && errno != ENOTSUP ? -errno : 0;
	names = malloc((size_t)len);
	if (!names)
		return -ENOMEM;
	len = flistxattr(in, names, (size_t)len);
	for (char *k = names; len > 0 && k < names + len; k += strlen(k) + 1) {
		ssize_t vl = fgetxattr(in, k, NULL, 0);
		char *nv;

		if (vl < 0)
			continue;
		nv = realloc(val, (size_t)vl + 1);
		if (!nv) {
			r = -ENOMEM;
			break;
		}
		val = nv;
		vl = fgetxattr(in, k, val, (size_t)vl);
		/* A namespace the target refuses (trusted.* unprivileged, security.*) is skipped. */
		if (vl >= 0 && fsetxattr(out, k, val, (size_t)vl, 0) < 0 && errno == ENOSPC) {
			r = -ENOSPC;
			break;
		}
	}
	free(names);
	free(val);
	return r;
}

int fcopy_meta(int in, int out, const struct stat *st)
{
	struct timespec times[2] = { st->st_atim, st->st_mtim };
	int r = copy_xattrs(in, out);

	if (r < 0)
		return r;
	/* Owner before mode: chown clears set-id bits. Not root: keep our own. */
	if (fchown(out, st->st_uid, st->st_gid) < 0 && errno != EPERM)
		return -errno;
	if (fchmod(out, st->st_mode & 07777) < 0)
		return -errno;
	if (futimens(out, times) < 0)
		return -errno;
	return 0;
}
