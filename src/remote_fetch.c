#include "remote_job.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "digest.h"
#include "fileio.h"
#include "remote_job_priv.h"
#include "s3.h"
#include "zcodec.h"

/*
 * A restore's bytes from the bucket (an archive_source): what the object
 * says the file is, then its bytes streamed into the destination's unnamed
 * file, undone from zstd where they were, checked by their SHA-256.
 */

/* A download's bytes: undone from zstd where they were, into the file and the digest. */
struct fetch {
	struct remote_source *rs;
	int fd;
	struct digest *d;
	struct zunpack z;
};

static int write_hashed(void *ud, const void *buf, size_t n)
{
	struct fetch *f = ud;
	int r = file_write_all(f->fd, buf, n);

	if (r == 0)
		digest_update(f->d, buf, n);
	return r;
}

static int fetch_sink(void *ud, const void *buf, size_t n)
{
	struct fetch *f = ud;

	return f->rs->compressed ? zunpack_write(&f->z, buf, n) : write_hashed(f, buf, n);
}

static bool fetch_progress(void *ud, uint64_t done)
{
	return mover_chunk_done(((struct fetch *)ud)->rs->mj, done);
}

/* The file gets what describe found of the original: owner, mode, times. */
static int apply_meta(int fd, const struct stat *st)
{
	struct timespec ts[2] = { st->st_atim, st->st_mtim };

	if (fchown(fd, st->st_uid, st->st_gid) < 0 || fchmod(fd, st->st_mode & 07777) < 0 ||
	    futimens(fd, ts) < 0)
		return -errno;
	return 0;
}

/* What a failed call found, as the restore's error. */
static int fetch_failed(struct remote_source *rs, int r, const struct s3_reply *rep, char *err,
			size_t errlen)
{
	if (r == -EIO)
		snprintf(err, errlen, "cannot restore %s from the bucket: %s; it stays there",
			 rs->rpath, rep->err);
	else
		snprintf(err, errlen, "cannot restore %s from the bucket: %s", rs->rpath,
			 r == -ENOENT ? "the object is gone from the bucket (deleted from outside "
					"sweepd)"
				      : strerror(-r));
	return r;
}

/* The object's HEAD: what the file will be, for the checks of the way. */
static int source_describe(void *ud, struct stat *st, char *err, size_t errlen)
{
	struct remote_source *rs = ud;
	struct s3_reply rep = { 0 };
	int r = s3_head(rs->s, rs->key, &rs->o, &rep);

	if (r < 0)
		return fetch_failed(rs, r, &rep, err, errlen);
	memset(st, 0, sizeof(*st));
	/* No set-user-ID or set-group-ID bit from the bucket: whoever may write there sets it. */
	st->st_mode = S_IFREG | (mode_t)(remote_meta_int(&rs->o, "sweepd-mode", 8, 0600) & 01777);
	/* No owner said (an object someone else put there): sweepd's own, as it makes the file. */
	st->st_uid = (uid_t)remote_meta_int(&rs->o, "sweepd-uid", 10, geteuid());
	st->st_gid = (gid_t)remote_meta_int(&rs->o, "sweepd-gid", 10, getegid());
	st->st_size = (off_t)remote_meta_int(&rs->o, "sweepd-size", 10, (int64_t)rs->o.size);
	st->st_mtim = remote_meta_time(&rs->o, "sweepd-mtime");
	st->st_atim = remote_meta_time(&rs->o, "sweepd-atime");
	st->st_nlink = 1;
	rs->st = *st;
	return 0;
}

/* The object streamed into out, checked against the SHA-256 of the original bytes. */
static int source_fill(void *ud, int out, char *err, size_t errlen)
{
	struct remote_source *rs = ud;
	struct fetch f = { .rs = rs, .fd = out, .d = digest_new(false) };
	const char *want = rs->sha256 ? rs->sha256 : s3_object_meta(&rs->o, "sweepd-sha256");
	struct s3_reply rep = { 0 };
	unsigned char raw[64];
	char hex[65];
	int r = f.d ? 0 : -ENOMEM;

	if (r == 0 && rs->compressed)
		r = zunpack_open(&f.z, write_hashed, &f);
	if (r == 0) {
		r = s3_get(rs->s, rs->key, fetch_sink, &f, fetch_progress, &rep);
		if (rs->compressed) {
			if (r == 0 && (r = zunpack_finish(&f.z)) < 0)
				snprintf(err, errlen,
					 "cannot restore %s from the bucket: its zstd stream is "
					 "damaged; it stays there",
					 rs->rpath);
			zunpack_close(&f.z);
		}
	}
	if (r == 0) {
		digest_hex(raw, digest_final(f.d, raw), hex);
		if (!want || strcmp(hex, want)) {
			snprintf(err, errlen,
				 "the object %s does not hold what was uploaded (SHA-256 %s, expected "
				 "%s); nothing was restored, it stays in the bucket",
				 rs->rpath, hex, want ? want : "not recorded");
			r = -EBADMSG;
		}
	}
	if (r == 0)
		r = apply_meta(out, &rs->st);
	if (r == 0 && fsync(out) < 0)
		r = -errno;
	if (r < 0 && !err[0])
		fetch_failed(rs, r, &rep, err, errlen);
	digest_free(f.d);
	return r;
}

int remote_source_open(struct remote_source *rs, const struct remote_target *t, const char *rpath,
		       bool compressed, const char *sha256, struct mover_job *mj, char *err,
		       size_t errlen)
{
	struct s3_target st = { t->endpoint, t->bucket, t->region, &t->cred };

	*rs = (struct remote_source){ .rpath = rpath, .compressed = compressed, .sha256 = sha256,
				      .mj = mj };
	rs->src = (struct archive_source){ source_describe, source_fill, rs };
	rs->key = remote_key_of(rpath, t->bucket);
	if (!rs->key) {
		snprintf(err, errlen,
			 "%s is not in bucket %s, which the configuration names now; restore it "
			 "with that bucket configured",
			 rpath, t->bucket);
		return -EINVAL;
	}
	rs->s = s3_new(&st, err, errlen);
	return rs->s ? 0 : -ENOMEM;
}

void remote_source_close(struct remote_source *rs)
{
	s3_free(rs->s);
	rs->s = NULL;
}
