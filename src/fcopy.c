#include "fcopy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "units.h"

#define FCOPY_CHUNK (8u << 20)
#define FCOPY_BUF (1u << 17)

uint64_t fcopy_allocated(const struct stat *st)
{
	uint64_t blocks = st->st_blocks > 0 ? (uint64_t)st->st_blocks : 0;

	return blocks > UINT64_MAX / 512 ? UINT64_MAX : blocks * 512;
}

uint64_t fcopy_disk_bytes(const struct stat *st)
{
	return units_data_bytes(st->st_size > 0 ? (uint64_t)st->st_size : 0,
				st->st_blocks > 0 ? (uint64_t)st->st_blocks : 0);
}

bool fcopy_mostly_holes(const struct stat *st)
{
	return st->st_size > FCOPY_SPARSE_FLOOR &&
	       fcopy_disk_bytes(st) < (uint64_t)st->st_size / 2;
}

static bool all_zero(const char *p, size_t n)
{
	return n == 0 || (p[0] == 0 && !memcmp(p, p + 1, n - 1));
}

/*
 * [pos, pos + len) of in to the same offsets of out, through a buffer. blind:
 * the filesystem shows no holes (the whole file is data to lseek) though it
 * has few blocks; zero buffers are then skipped, left as holes in out.
 * Returns the bytes copied (fewer: in ended), or -errno.
 */
static ssize_t copy_rw(int in, int out, off_t pos, size_t len, bool blind)
{
	static __thread char buf[FCOPY_BUF];
	size_t done = 0;

	while (done < len) {
		size_t want = len - done < sizeof(buf) ? len - done : sizeof(buf);
		ssize_t n = pread(in, buf, want, pos + (off_t)done), w;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		for (ssize_t at = blind && all_zero(buf, (size_t)n) ? n : 0; at < n; at += w) {
			w = pwrite(out, buf + at, (size_t)(n - at), pos + (off_t)done + at);
			if (w < 0 && errno == EINTR)
				w = 0;
			else if (w < 0)
				return -errno;
		}
		done += (size_t)n;
	}
	return (ssize_t)done;
}

/* One chunk at pos: copy_file_range while it works (*plain once it cannot), else read/write. */
static ssize_t copy_chunk(int in, int out, off_t pos, size_t len, bool *plain, bool blind)
{
	while (!*plain && !blind) {
		off_t from = pos, to = pos;
		ssize_t n = copy_file_range(in, &from, out, &to, len, 0);

		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
			return -errno;
		*plain = true;
	}
	return copy_rw(in, out, pos, len, blind);
}

/*
 * Where the next data of in starts at or after pos, and where it ends: 0, or 1
 * when only a hole is left before end. A filesystem that cannot tell (EINVAL,
 * EOPNOTSUPP) has the rest as data, as one that reports no holes does.
 */
static int next_data(int in, off_t pos, off_t end, off_t *data, off_t *hole)
{
	*data = lseek(in, pos, SEEK_DATA);
	if (*data < 0 && errno == ENXIO)
		return 1;
	if (*data < 0 && errno != EINVAL && errno != EOPNOTSUPP)
		return -errno;
	if (*data < 0) {
		*data = pos;
		*hole = end;
		return 0;
	}
	if (*data >= end)
		return 1;
	*hole = lseek(in, *data, SEEK_HOLE);
	if (*hole < 0 || *hole > end)
		*hole = end;
	return 0;
}

/*
 * Only what the source holds: its data extents (SEEK_DATA, SEEK_HOLE) copied to
 * the same offsets, chunk by chunk, and the size set at the end, so that the
 * copy has the source's holes and a file of a few blocks and a huge apparent
 * size costs what it holds. Chunk by chunk, so that a lease broken mid-way (a
 * writer opening the file) stops the copy early, and so that writeback of each
 * chunk starts at once: the fsync that makes the copy durable then finds
 * little left to write.
 */
int fcopy_data(int in, int out, bool (*keep_going)(void *ud, uint64_t done), void *ud)
{
	bool plain = false, blind;
	off_t pos = 0, synced = 0, end, data = 0, hole = 0;
	uint64_t done = 0, unsynced = 0;
	struct stat st;
	int r;

	if (fstat(in, &st) < 0)
		return -errno;
	end = st.st_size;
	while (pos < end) {
		r = next_data(in, pos, end, &data, &hole);
		if (r < 0)
			return r;
		if (r == 1)
			break;
		/* All of it one extent, yet mostly holes by its blocks: the filesystem hides them. */
		blind = data == 0 && hole == end && fcopy_mostly_holes(&st);
		for (pos = data; pos < hole;) {
			size_t len = hole - pos < FCOPY_CHUNK ? (size_t)(hole - pos) : FCOPY_CHUNK;
			ssize_t n;

			if (keep_going && !keep_going(ud, done))
				return -ECANCELED;
			n = copy_chunk(in, out, pos, len, &plain, blind);
			if (n < 0)
				return (int)n;
			if (n == 0)
				return -ENODATA; /* cut short under us */
			pos += n;
			done += (uint64_t)n;
			unsynced += (uint64_t)n;
			if (unsynced >= FCOPY_CHUNK) {
				sync_file_range(out, synced, pos - synced, SYNC_FILE_RANGE_WRITE);
				synced = pos;
				unsynced = 0;
			}
		}
	}
	if (keep_going && !keep_going(ud, done))
		return -ECANCELED;
	if (fstat(in, &st) < 0)
		return -errno;
	if (st.st_size < end)
		return -ENODATA; /* cut short under us */
	/* The holes up to the end (a hole at the end is no extent). */
	return ftruncate(out, end) < 0 ? -errno : 0;
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
