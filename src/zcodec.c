#include "zcodec.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <zstd.h>

#include "fileio.h"

#define ZCODEC_CHUNK (256u << 10) /* a stop is seen within one: 0.3 s at level 19 */
#define ZCODEC_SMALL_JOBS_LEVEL 10
#define ZCODEC_SMALL_JOB (1 << 20) /* zstd's least is 512 KiB */

static bool go_on(const struct zcodec_opts *o, uint64_t done)
{
	return !o || !o->keep_going || o->keep_going(o->ud, done);
}

int zsink_open(struct zsink *z, int fd, int level, int threads)
{
	*z = (struct zsink){ .fd = fd };
	if (level <= 0)
		return 0;
	z->cc = ZSTD_createCCtx();
	z->out_cap = ZSTD_CStreamOutSize();
	z->obuf = malloc(z->out_cap);
	if (!z->cc || !z->obuf) {
		zsink_close(z);
		return -ENOMEM;
	}
	ZSTD_CCtx_setParameter(z->cc, ZSTD_c_compressionLevel, level);
	ZSTD_CCtx_setParameter(z->cc, ZSTD_c_checksumFlag, 1);
	if (threads > 1) {
		ZSTD_CCtx_setParameter(z->cc, ZSTD_c_nbWorkers, threads);
		/*
		 * Freeing the context (a stop, a cancel) waits for the workers' jobs
		 * under way: at high levels (2 MB/s a core at 19) zstd's own job size
		 * (tens of MB, at least the whole window as overlap) made a SIGTERM
		 * wait 20 s. Small jobs there, with a smaller overlap (a little less
		 * squeezed); low levels keep zstd's (fast anyway).
		 */
		if (level >= ZCODEC_SMALL_JOBS_LEVEL) {
			/* A job is at least its overlap: an eighth of the window, not all of it. */
			ZSTD_CCtx_setParameter(z->cc, ZSTD_c_overlapLog, 6);
			ZSTD_CCtx_setParameter(z->cc, ZSTD_c_jobSize, ZCODEC_SMALL_JOB);
		}
	}
	return 0;
}

static int zsink_push(struct zsink *z, const void *buf, size_t n, ZSTD_EndDirective how)
{
	ZSTD_inBuffer ib = { buf, n, 0 };
	size_t left;

	do {
		ZSTD_outBuffer ob = { z->obuf, z->out_cap, 0 };
		int r;

		left = ZSTD_compressStream2(z->cc, &ob, &ib, how);
		if (ZSTD_isError(left))
			return -EIO;
		if ((r = file_write_all(z->fd, z->obuf, ob.pos)) < 0)
			return r;
	} while (how == ZSTD_e_end ? left != 0 : ib.pos < ib.size);
	return 0;
}

int zsink_write(struct zsink *z, const void *buf, size_t n)
{
	if (n)
		z->hole_last = false;
	return z->cc ? zsink_push(z, buf, n, ZSTD_e_continue) : file_write_all(z->fd, buf, n);
}

int zsink_skip(struct zsink *z, uint64_t n)
{
	static const char zeros[64 << 10];

	if (!z->cc) {
		if (n && lseek(z->fd, (off_t)n, SEEK_CUR) < 0)
			return -errno;
		z->hole_last = z->hole_last || n;
		return 0;
	}
	while (n) {
		size_t k = n < sizeof(zeros) ? (size_t)n : sizeof(zeros);
		int r = zsink_push(z, zeros, k, ZSTD_e_continue);

		if (r < 0)
			return r;
		n -= k;
	}
	return 0;
}

int zsink_finish(struct zsink *z)
{
	off_t end;

	if (z->cc)
		return zsink_push(z, NULL, 0, ZSTD_e_end);
	if (!z->hole_last)
		return 0;
	end = lseek(z->fd, 0, SEEK_CUR);
	return end < 0 || ftruncate(z->fd, end) < 0 ? -errno : 0;
}

void zsink_close(struct zsink *z)
{
	ZSTD_freeCCtx(z->cc);
	free(z->obuf);
	z->cc = NULL;
	z->obuf = NULL;
}

int zcodec_threads_for(uint64_t n)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < (32u << 20) || cpus < 2)
		return 0;
	return cpus > 8 ? 8 : (int)cpus;
}

int zcodec_compress(int in, int out, const struct zcodec_opts *o)
{
	struct zsink z;
	char *ibuf = malloc(ZCODEC_CHUNK);
	int r = zsink_open(&z, out, o ? o->level : 3, o ? o->threads : 0);
	uint64_t done = 0;

	if (r == 0 && !ibuf)
		r = -ENOMEM;
	while (r == 0) {
		ssize_t n = read(in, ibuf, ZCODEC_CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		done += (uint64_t)n;
		if (!go_on(o, done))
			r = -ECANCELED;
		else if (n == 0)
			break;
		else
			r = zsink_write(&z, ibuf, (size_t)n);
	}
	if (r == 0)
		r = zsink_finish(&z);
	zsink_close(&z);
	free(ibuf);
	return r;
}

int zunpack_open(struct zunpack *z, int (*sink)(void *ud, const void *buf, size_t n), void *ud)
{
	*z = (struct zunpack){ .sink = sink, .ud = ud, .out_cap = ZSTD_DStreamOutSize() };
	z->dc = ZSTD_createDCtx();
	z->obuf = malloc(z->out_cap);
	if (!z->dc || !z->obuf) {
		zunpack_close(z);
		return -ENOMEM;
	}
	return 0;
}

int zunpack_write(struct zunpack *z, const void *buf, size_t n)
{
	ZSTD_inBuffer ib = { buf, n, 0 };

	z->any = z->any || n;
	while (ib.pos < ib.size) {
		ZSTD_outBuffer ob = { z->obuf, z->out_cap, 0 };
		int r;

		z->ret = ZSTD_decompressStream(z->dc, &ob, &ib);
		if (ZSTD_isError(z->ret))
			return -EIO;
		if (ob.pos && (r = z->sink(z->ud, z->obuf, ob.pos)) < 0)
			return r;
	}
	return 0;
}

int zunpack_finish(struct zunpack *z)
{
	/* A frame cut short is an error, not a short file. */
	return !z->any || z->ret != 0 ? -EIO : 0;
}

void zunpack_close(struct zunpack *z)
{
	ZSTD_freeDCtx(z->dc);
	free(z->obuf);
	z->dc = NULL;
	z->obuf = NULL;
}

static int sink_fd(void *ud, const void *buf, size_t n)
{
	return file_write_all(*(int *)ud, buf, n);
}

int zcodec_decompress(int in, int out, const struct zcodec_opts *o)
{
	size_t in_cap = ZSTD_DStreamInSize();
	char *ibuf = malloc(in_cap);
	uint64_t done = 0;
	struct zunpack z;
	int r = ibuf ? zunpack_open(&z, sink_fd, &out) : -ENOMEM;

	if (r < 0) {
		free(ibuf);
		return r;
	}
	for (;;) {
		ssize_t n = read(in, ibuf, in_cap);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : zunpack_finish(&z);
			break;
		}
		done += (uint64_t)n;
		if (!go_on(o, done))
			r = -ECANCELED;
		else
			r = zunpack_write(&z, ibuf, (size_t)n);
		if (r < 0)
			break;
	}
	zunpack_close(&z);
	free(ibuf);
	return r;
}

bool zcodec_is_zstd(const void *head, size_t n)
{
	static const unsigned char magic[4] = { 0x28, 0xb5, 0x2f, 0xfd };

	return n >= 4 && !memcmp(head, magic, 4);
}

int zcodec_content_size(const void *head, size_t n, uint64_t *size)
{
	unsigned long long c = ZSTD_getFrameContentSize(head, n);

	if (c == ZSTD_CONTENTSIZE_UNKNOWN || c == ZSTD_CONTENTSIZE_ERROR)
		return -ENODATA;
	*size = (uint64_t)c;
	return 0;
}

bool zcodec_incompressible(const char *name, const void *head, size_t n)
{
	static const char *const exts[] = {
		"mp4", "m4a", "m4v", "mov", "mkv", "webm", "avi", "mp3", "aac", "ogg", "opus", "flac",
		"jpg", "jpeg", "png", "gif", "webp", "avif", "heic", "zip", "gz", "tgz", "bz2", "xz",
		"zst", "7z", "rar", "lz4", "br", "pdf", "docx", "xlsx", "pptx", "jar", "apk", "whl",
	};
	static const struct {
		size_t off, len;
		const char *magic;
	} sigs[] = {
		{ 4, 4, "ftyp" },     /* MP4 and friends */
		{ 0, 4, "PK\3\4" },   /* ZIP */
		{ 0, 2, "\x1f\x8b" }, /* gzip */
		{ 0, 3, "\xff\xd8\xff" }, { 0, 8, "\x89PNG\r\n\x1a\n" }, { 0, 6, "\xfd" "7zXZ\0" },
		{ 0, 4, "\x1a\x45\xdf\xa3" }, /* Matroska, WebM */
		{ 0, 3, "BZh" },	     { 0, 6, "7z\xbc\xaf\x27\x1c" },
	};
	const char *dot = strrchr(name, '.');

	if (dot)
		for (size_t i = 0; i < sizeof(exts) / sizeof(*exts); i++)
			if (!strcasecmp(dot + 1, exts[i]))
				return true;
	if (zcodec_is_zstd(head, n))
		return true;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(*sigs); i++)
		if (n >= sigs[i].off + sigs[i].len &&
		    !memcmp((const char *)head + sigs[i].off, sigs[i].magic, sigs[i].len))
			return true;
	return false;
}

bool zcodec_pays(const void *sample, size_t n)
{
	size_t cap = ZSTD_compressBound(n), z;
	void *buf;

	if (n < 512)
		return false; /* a frame's overhead on a tiny file: not worth an entry's .zst */
	buf = malloc(cap);
	if (!buf)
		return false;
	z = ZSTD_compress(buf, cap, sample, n, 1);
	free(buf);
	return !ZSTD_isError(z) && z < n - n / 10;
}
