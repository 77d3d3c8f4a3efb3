#include "logcut.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "rotplan.h"
#include "zcodec.h"

#define CHUNK (1u << 20)
/* copytruncate: chase the writer while more than this is left, then cut. */
#define CHASE_UNTIL (256u << 10)
#define CHASE_ROUNDS 16

#ifndef XFS_SUPER_MAGIC
#define XFS_SUPER_MAGIC 0x58465342
#endif

bool logcut_can_collapse(int fd)
{
	struct statfs sf;

	return fstatfs(fd, &sf) == 0 &&
	       (sf.f_type == EXT4_SUPER_MAGIC || sf.f_type == (__fsword_t)XFS_SUPER_MAGIC);
}

static bool go_on(const struct logcut_copy *c, uint64_t done)
{
	return !c->keep_going || c->keep_going(c->ud, done);
}

/* An unnamed file in the copy's directory, with the live file's mode and owner. */
static int copy_open(const struct logcut_copy *c)
{
	int fd = openat(c->dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, c->like->st_mode & 0666);

	if (fd < 0)
		return -errno;
	if (fchown(fd, c->like->st_uid, c->like->st_gid) < 0 && errno != EPERM) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

/* Synced, named (never over another file), and the name synced. */
static int copy_publish(int fd, const struct logcut_copy *c)
{
	char proc[64];
	int r;

	if (fsync(fd) < 0)
		return -errno;
	if (c->in_place && (r = c->in_place(c->ud, c->dirfd)) < 0)
		return r;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, proc, c->dirfd, c->name, AT_SYMLINK_FOLLOW) < 0)
		return -errno;
	return fsync(c->dirfd) < 0 ? -errno : 0;
}

/* A copy in the making: the unnamed file, its sink, a buffer, the data bytes read into it. */
struct making {
	int fd;
	struct zsink z;
	char *buf;
	uint64_t done;
};

static bool all_zero(const char *p, size_t n)
{
	return n == 0 || (p[0] == 0 && !memcmp(p, p + 1, n - 1));
}

/*
 * The next data of in in [from, to): *data, up to *hole; the rest a hole when
 * *data == to. A filesystem that cannot tell has it all as data.
 */
static int next_data(int in, uint64_t from, uint64_t to, uint64_t *data, uint64_t *hole)
{
	off_t d = lseek(in, (off_t)from, SEEK_DATA), h;
	struct stat st;

	if (d < 0 && errno == ENXIO) {
		/* Only a hole is left, or in was cut short under us. */
		if (fstat(in, &st) < 0)
			return -errno;
		*data = *hole = to;
		return (uint64_t)st.st_size < to ? -ENODATA : 0;
	}
	if (d < 0 && errno != EINVAL && errno != EOPNOTSUPP)
		return -errno;
	*data = d < 0 ? from : (uint64_t)d < to ? (uint64_t)d : to;
	h = d < 0 ? -1 : lseek(in, d, SEEK_HOLE);
	*hole = h < 0 || (uint64_t)h > to ? to : (uint64_t)h;
	return 0;
}

/*
 * Bytes [from, to) of in into the copy, by its data: a hole (from a writer
 * without O_APPEND after a truncate, or a log made by truncate -s) is never
 * read. A plain copy keeps it a hole, as it does a run of zeros where the
 * filesystem shows no holes; zstd is fed its zeros (cut_copy compresses no
 * log that is mostly holes).
 */
static int copy_range(int in, uint64_t from, uint64_t to, struct making *m,
		      const struct logcut_copy *c)
{
	uint64_t data = 0, hole = 0;
	int r;

	while (from < to) {
		if ((r = next_data(in, from, to, &data, &hole)) < 0)
			return r;
		if ((r = zsink_skip(&m->z, data - from)) < 0)
			return r;
		for (from = data; from < hole;) {
			size_t want = hole - from < CHUNK ? (size_t)(hole - from) : CHUNK;
			ssize_t n = pread(in, m->buf, want, (off_t)from);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return -errno;
			if (n == 0)
				return -ENODATA; /* cut short under us */
			if (!go_on(c, m->done))
				return -ECANCELED;
			if (!m->z.cc && all_zero(m->buf, (size_t)n))
				r = zsink_skip(&m->z, (uint64_t)n);
			else
				r = zsink_write(&m->z, m->buf, (size_t)n);
			if (r < 0)
				return r;
			from += (uint64_t)n;
			m->done += (uint64_t)n;
		}
	}
	return 0;
}

static int making_start(struct making *m, const struct logcut_copy *c, uint64_t size)
{
	int r;

	m->buf = malloc(CHUNK);
	m->fd = copy_open(c);
	r = m->fd < 0 ? m->fd : zsink_open(&m->z, m->fd, c->level, zcodec_threads_for(size));
	if (r == 0 && !m->buf)
		r = -ENOMEM;
	return r;
}

static int making_end(struct making *m, const struct logcut_copy *c, int r)
{
	if (r == 0)
		r = zsink_finish(&m->z);
	zsink_close(&m->z);
	if (r == 0)
		r = copy_publish(m->fd, c);
	if (m->fd >= 0)
		close(m->fd);
	free(m->buf);
	return r;
}

int logcut_collapse(int fd, const struct logcut_copy *c, uint64_t *cut)
{
	struct making m = { .fd = -1 };
	struct statfs sf;
	struct stat st;
	uint64_t len;
	int r;

	*cut = 0;
	if (fstat(fd, &st) < 0 || fstatfs(fd, &sf) < 0)
		return -errno;
	len = rotplan_collapse_len((uint64_t)st.st_size, (uint64_t)sf.f_bsize);
	if (!len)
		return 0;
	r = making_start(&m, c, len);
	if (r == 0)
		r = copy_range(fd, 0, len, &m, c);
	r = making_end(&m, c, r);
	if (r < 0)
		return r;
	/* The copy is safe on disk: now the same bytes leave the live file. */
	if (fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, 0, (off_t)len) < 0) {
		r = -errno;
		unlinkat(c->dirfd, c->name, 0);
		return r;
	}
	*cut = len;
	return 0;
}

/* Just after the last newline in [from, to), looking back 64 KiB at most; to when none is seen. */
static uint64_t line_end(int fd, uint64_t from, uint64_t to)
{
	char buf[65536];
	uint64_t start = to - from > sizeof(buf) ? to - sizeof(buf) : from;
	ssize_t n = pread(fd, buf, (size_t)(to - start), (off_t)start);
	char *nl = n > 0 ? memrchr(buf, '\n', (size_t)n) : NULL;

	return nl ? start + (uint64_t)(nl - buf) + 1 : to;
}

int logcut_copytruncate(int fd, const struct logcut_copy *c, bool writer, uint64_t *cut)
{
	struct making m = { .fd = -1 };
	uint64_t pos = 0, end, tail_len = 0, tail_cap = 0;
	char *tail = NULL;
	struct stat st;
	int r;

	*cut = 0;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_size == 0)
		return 0;
	r = making_start(&m, c, (uint64_t)st.st_size);
	/* Chase the writer while much is left, so that the last step is short. */
	for (int round = 0; r == 0 && round < CHASE_ROUNDS; round++) {
		if (fstat(fd, &st) < 0) {
			r = -errno;
			break;
		}
		if ((uint64_t)st.st_size < pos + CHASE_UNTIL)
			break;
		/* Under a writer, up to a line's end: the line after it may be half written. */
		end = writer ? line_end(fd, pos, (uint64_t)st.st_size) : (uint64_t)st.st_size;
		r = copy_range(fd, pos, end, &m, c);
		pos = end;
	}
	/* The last step: read to the end and truncate at once, nothing in between. */
	while (r == 0) {
		ssize_t n;

		if (tail_cap - tail_len < CHUNK) {
			char *t = realloc(tail, tail_cap + 4 * CHUNK);
			if (!t) {
				r = -ENOMEM;
				break;
			}
			tail = t;
			tail_cap += 4 * CHUNK;
		}
		n = pread(fd, tail + tail_len, tail_cap - tail_len, (off_t)(pos + tail_len));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			r = -errno;
		else if (n == 0 && ftruncate(fd, 0) < 0)
			r = -errno;
		else if (n == 0)
			break;
		tail_len += n > 0 ? (uint64_t)n : 0;
	}
	/*
	 * Under a writer, a write that crosses a page can be read half done, and
	 * the truncate then takes its rest: an unfinished last line goes whole,
	 * like the lines written after the last read. The copy ends at a line's end.
	 */
	if (r == 0 && writer && tail_len && tail[tail_len - 1] != '\n') {
		char *nl = memrchr(tail, '\n', tail_len);
		tail_len = nl ? (uint64_t)(nl - tail) + 1 : 0;
	}
	if (r == 0)
		r = zsink_write(&m.z, tail, tail_len);
	free(tail);
	r = making_end(&m, c, r);
	if (r == 0)
		*cut = pos + tail_len;
	return r;
}

/* The offset where the last lines lines of the first size bytes start. */
static int tail_offset(int fd, uint64_t size, int64_t lines, uint64_t *off)
{
	char buf[65536];
	uint64_t end = size;
	int64_t need = lines;
	bool first = true;

	*off = 0;
	while (end > 0) {
		uint64_t start = end > sizeof(buf) ? end - sizeof(buf) : 0;
		ssize_t n = pread(fd, buf, (size_t)(end - start), (off_t)start);
		long at;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if ((uint64_t)n != end - start)
			return -ENODATA;
		if (first && n > 0 && buf[n - 1] == '\n')
			n--; /* it ends the last line */
		first = false;
		at = rotplan_tail_start(buf, (size_t)n, &need);
		if (at >= 0) {
			*off = start + (uint64_t)at;
			return 0;
		}
		end = start;
	}
	return 0;
}

/* No writer: moves [off, end) to the front, chasing any late append, and truncates. */
static int shift_down(int fd, uint64_t off, uint64_t *cut)
{
	char *buf = malloc(CHUNK);
	uint64_t src = off, dst = 0;
	int r = buf ? 0 : -ENOMEM;

	while (r == 0) {
		ssize_t n = pread(fd, buf, CHUNK, (off_t)src);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
		} else if (n == 0) {
			if (ftruncate(fd, (off_t)dst) < 0)
				r = -errno;
			break;
		} else if (pwrite(fd, buf, (size_t)n, (off_t)dst) != n) {
			r = errno ? -errno : -EIO;
		}
		src += (uint64_t)(n > 0 ? n : 0);
		dst += (uint64_t)(n > 0 ? n : 0);
	}
	free(buf);
	if (r == 0)
		*cut = off;
	return r;
}

int logcut_tail(int fd, int64_t lines, bool writer, uint64_t *cut)
{
	struct statfs sf;
	struct stat st;
	uint64_t off, len;
	int r;

	*cut = 0;
	if (fstat(fd, &st) < 0 || fstatfs(fd, &sf) < 0)
		return -errno;
	r = tail_offset(fd, (uint64_t)st.st_size, lines, &off);
	if (r < 0 || off == 0)
		return r;
	if (!writer)
		return shift_down(fd, off, cut);
	if (!logcut_can_collapse(fd))
		return -EOPNOTSUPP;
	len = off / (uint64_t)sf.f_bsize * (uint64_t)sf.f_bsize;
	if (!len)
		return 0;
	if (fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, 0, (off_t)len) < 0)
		return -errno;
	*cut = len;
	return 0;
}

int logcut_compress(int in, const char *plain, const struct logcut_copy *c)
{
	struct making m = { .fd = -1 };
	struct stat st, now;
	int r;

	r = fstat(in, &st) < 0 ? -errno : making_start(&m, c, (uint64_t)st.st_size);
	if (r == 0)
		r = copy_range(in, 0, (uint64_t)st.st_size, &m, c);
	r = making_end(&m, c, r);
	/*
	 * The name may have been swapped for another file while we read (anyone
	 * who can write in the directory can rename): only the file we read goes.
	 */
	if (r == 0 && (fstatat(c->dirfd, plain, &now, AT_SYMLINK_NOFOLLOW) < 0 ||
		       now.st_dev != st.st_dev || now.st_ino != st.st_ino ||
		       (c->in_place && c->in_place(c->ud, c->dirfd) < 0))) {
		unlinkat(c->dirfd, c->name, 0);
		r = -ESTALE;
	}
	if (r == 0 && unlinkat(c->dirfd, plain, 0) < 0)
		r = -errno;
	return r == 0 && fsync(c->dirfd) < 0 ? -errno : r;
}
