#include "zcodec.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <zstd.h>

#define ZCODEC_CHUNK (1u << 20)

static int write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static bool go_on(const struct zcodec_opts *o)
{
	return !o || !o->keep_going || o->keep_going(o->ud);
}

int zcodec_compress(int in, int out, const struct zcodec_opts *o)
{
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	size_t in_cap = ZSTD_CStreamInSize() > ZCODEC_CHUNK ? ZSTD_CStreamInSize() : ZCODEC_CHUNK;
	size_t out_cap = ZSTD_CStreamOutSize();
	char *ibuf = malloc(in_cap), *obuf = malloc(out_cap);
	int r = 0;
	bool last = false;

	if (!cc || !ibuf || !obuf) {
		r = -ENOMEM;
		goto out;
	}
	ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, o ? o->level : 3);
	ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
	if (o && o->threads > 1)
		ZSTD_CCtx_setParameter(cc, ZSTD_c_nbWorkers, o->threads);
	while (!last) {
		ssize_t n = read(in, ibuf, in_cap);
		ZSTD_inBuffer ib;
		size_t left;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto out;
		}
		if (!go_on(o)) {
			r = -ECANCELED;
			goto out;
		}
		last = n == 0;
		ib = (ZSTD_inBuffer){ ibuf, (size_t)n, 0 };
		do {
			ZSTD_outBuffer ob = { obuf, out_cap, 0 };
			left = ZSTD_compressStream2(cc, &ob, &ib, last ? ZSTD_e_end : ZSTD_e_continue);
			if (ZSTD_isError(left)) {
				r = -EIO;
				goto out;
			}
			if ((r = write_all(out, obuf, ob.pos)) < 0)
				goto out;
		} while (last ? left != 0 : ib.pos < ib.size);
	}
out:
	ZSTD_freeCCtx(cc);
	free(ibuf);
	free(obuf);
	return r;
}

int zcodec_decompress(int in, int out, const struct zcodec_opts *o)
{
	ZSTD_DCtx *dc = ZSTD_createDCtx();
	size_t in_cap = ZSTD_DStreamInSize(), out_cap = ZSTD_DStreamOutSize();
	char *ibuf = malloc(in_cap), *obuf = malloc(out_cap);
	size_t ret = 0;
	bool any = false;
	int r = 0;

	if (!dc || !ibuf || !obuf) {
		r = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t n = read(in, ibuf, in_cap);
		ZSTD_inBuffer ib;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		if (!go_on(o)) {
			r = -ECANCELED;
			goto out;
		}
		any = true;
		ib = (ZSTD_inBuffer){ ibuf, (size_t)n, 0 };
		while (ib.pos < ib.size) {
			ZSTD_outBuffer ob = { obuf, out_cap, 0 };
			ret = ZSTD_decompressStream(dc, &ob, &ib);
			if (ZSTD_isError(ret)) {
				r = -EIO;
				goto out;
			}
			if ((r = write_all(out, obuf, ob.pos)) < 0)
				goto out;
		}
	}
	/* A frame cut short is an error, not a short file. */
	if (!any || ret != 0)
		r = -EIO;
out:
	ZSTD_freeDCtx(dc);
	free(ibuf);
	free(obuf);
	return r;
}

bool zcodec_is_zstd(const void *head, size_t n)
{
	static const unsigned char magic[4] = { 0x28, 0xb5, 0x2f, 0xfd };

	return n >= 4 && !memcmp(head, magic, 4);
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
