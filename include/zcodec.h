#ifndef SWEEPD_ZCODEC_H
#define SWEEPD_ZCODEC_H

#include <stdbool.h>
#include <stddef.h>

/*
 * zstd streams from one descriptor to another: the archive's compression
 * (and, later, the rotated logs'). Returns 0 or -errno (-EIO for a zstd
 * error, -ECANCELED when keep_going says stop).
 */
struct zcodec_opts {
	int level;
	int threads; /* 0: single-threaded */
	/* Asked between chunks; NULL: always go on. */
	bool (*keep_going)(void *ud);
	void *ud;
};

int zcodec_compress(int in, int out, const struct zcodec_opts *o);
int zcodec_decompress(int in, int out, const struct zcodec_opts *o);

/* Whether bytes start like a zstd frame. */
bool zcodec_is_zstd(const void *head, size_t n);
/* Already compressed, by name or first bytes: MP4, ZIP, images, audio, archives. */
bool zcodec_incompressible(const char *name, const void *head, size_t n);
/* Whether compressing the sample at a fast level saves at least a tenth of it. */
bool zcodec_pays(const void *sample, size_t n);

#endif
