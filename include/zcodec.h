#ifndef SWEEPD_ZCODEC_H
#define SWEEPD_ZCODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * zstd streams from one descriptor to another: the archive's compression
 * and the rotated logs'. Returns 0 or -errno (-EIO for a zstd error,
 * -ECANCELED when keep_going says stop).
 */
struct zcodec_opts {
	int level;
	int threads; /* 0: single-threaded */
	/* Asked between chunks, with the bytes read from in so far; NULL: always go on. */
	bool (*keep_going)(void *ud, uint64_t done);
	void *ud;
};

int zcodec_compress(int in, int out, const struct zcodec_opts *o);

/*
 * A sink that bytes are written into, compressed (level > 0) or as they are
 * (level 0), for a copy made piece by piece (the head of a live log).
 */
struct zsink {
	int fd;
	struct ZSTD_CCtx_s *cc; /* NULL: plain */
	char *obuf;
	size_t out_cap;
	bool hole_last; /* plain: it ends in a hole, which needs its size set */
};
/* threads: zstd workers (0: none). 0 or -ENOMEM. */
int zsink_open(struct zsink *z, int fd, int level, int threads);
int zsink_write(struct zsink *z, const void *buf, size_t n);
/*
 * n zero bytes: a hole, skipped over, in a plain sink (its fd must be a
 * regular file); fed to zstd as zeros in a compressed one (it reads each:
 * for a few holes only).
 */
int zsink_skip(struct zsink *z, uint64_t n);
/* Ends the frame (plain: sets the size past a last hole). */
int zsink_finish(struct zsink *z);
void zsink_close(struct zsink *z);
/* Workers worth using for n bytes at this machine: 0 below 32 MiB, else one per CPU (at most 8). */
int zcodec_threads_for(uint64_t n);
int zcodec_decompress(int in, int out, const struct zcodec_opts *o);

/*
 * zstd undone as bytes are pushed in (a download, a file read for its
 * digest): what comes out goes to sink, which returns 0 or -errno (that
 * stops it, and is returned).
 */
struct zunpack {
	struct ZSTD_DCtx_s *dc;
	char *obuf;
	size_t out_cap, ret;
	bool any;
	int (*sink)(void *ud, const void *buf, size_t n);
	void *ud;
};
int zunpack_open(struct zunpack *z, int (*sink)(void *ud, const void *buf, size_t n), void *ud);
int zunpack_write(struct zunpack *z, const void *buf, size_t n);
/* -EIO when the stream was cut short (or empty). */
int zunpack_finish(struct zunpack *z);
void zunpack_close(struct zunpack *z);

/* Whether bytes start like a zstd frame. */
bool zcodec_is_zstd(const void *head, size_t n);
/*
 * The largest size a zstd frame of n bytes can hold: its blocks can be
 * RLE (a 128 KiB block in 4 bytes), so 32768 times n.
 */
#define ZCODEC_MAX_RATIO 32768u
/* The size the frame starting at head declares for its content: 0, or -ENODATA (none said). */
int zcodec_content_size(const void *head, size_t n, uint64_t *size);
/* Room enough for any frame header (ZSTD_FRAMEHEADERSIZE_MAX). */
#define ZCODEC_HEAD_MAX 18
/* Already compressed, by name or first bytes: MP4, ZIP, images, audio, archives. */
bool zcodec_incompressible(const char *name, const void *head, size_t n);
/* Whether compressing the sample at a fast level saves at least a tenth of it. */
bool zcodec_pays(const void *sample, size_t n);

#endif
