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

#include "archive.h"
#include "digest.h"
#include "pathenc.h"
#include "remote_job_priv.h"
#include "s3.h"
#include "s3names.h"
#include "zcodec.h"

/*
 * Uploads follow the rules archivers of PostgreSQL's WAL settled on: never
 * over an object (If-None-Match: *; an object already at the key counts as
 * uploaded only when it holds the same bytes), verified after the upload
 * (a HEAD: size, ETag and SHA-256), made durable in the upload journal,
 * and only then is the local copy removed.
 */

#define PART_SIZE (16ULL << 20)

/*
 * The bytes of fd in [off, end), a chunk at a time, to fn (which returns 0 or
 * -errno): 0, -ENODATA when the file ends before end, -ECANCELED when the
 * daemon stops.
 */
static int each_chunk(int fd, uint64_t off, uint64_t end, struct mover_job *mj,
		      int (*fn)(void *ud, const void *buf, size_t n), void *ud)
{
	char *buf = malloc(REMOTE_CHUNK);
	int r = buf ? 0 : -ENOMEM;

	while (r == 0 && off < end) {
		size_t want = end - off < REMOTE_CHUNK ? (size_t)(end - off) : REMOTE_CHUNK;
		ssize_t got = pread(fd, buf, want, (off_t)off);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			r = got < 0 ? -errno : -ENODATA;
		else if ((r = fn(ud, buf, (size_t)got)) == 0 && mover_stopping(mj))
			r = -ECANCELED;
		off += got > 0 ? (uint64_t)got : 0;
	}
	free(buf);
	return r;
}

static int unpack_sink(void *ud, const void *buf, size_t n)
{
	return zunpack_write(ud, buf, n);
}

/* The SHA-256 of the size original bytes of fd's file (undone from zstd when compressed), hex. */
static int original_sha256(int fd, uint64_t size, bool compressed, struct mover_job *mj,
			   char *hex)
{
	struct digest *d = digest_new(false);
	unsigned char raw[64];
	struct zunpack z;
	int r = d ? 0 : -ENOMEM;

	if (r == 0 && !compressed)
		r = each_chunk(fd, 0, size, mj, remote_hash_sink, d);
	else if (r == 0 && (r = zunpack_open(&z, remote_hash_sink, d)) == 0) {
		if ((r = each_chunk(fd, 0, size, mj, unpack_sink, &z)) == 0)
			r = zunpack_finish(&z);
		zunpack_close(&z);
	}
	if (r == 0)
		digest_hex(raw, digest_final(d, raw), hex);
	digest_free(d);
	return r;
}

/* The object's metadata: what a rebuild of the index, and a restore, need. */
struct meta_buf {
	struct s3_meta m[S3_META_MAX];
	char v[12][96];
	char *path, *zone;
	size_t n;
};

static void meta_add(struct meta_buf *b, const char *name, const char *value)
{
	b->m[b->n].name = name;
	b->m[b->n++].value = value;
}

static char *encoded(const char *s)
{
	size_t len = 3 * strlen(s) + 1;
	char *out = malloc(len);

	if (out && s3_key_encode(s, out, len) < 0) {
		free(out);
		out = NULL;
	}
	return out;
}

static int meta_build(struct meta_buf *b, const struct upload_job *j, const struct stat *st)
{
	memset(b, 0, sizeof(*b));
	b->path = encoded(j->origin);
	b->zone = encoded(j->zone);
	if (!b->path || !b->zone)
		return -ENOMEM;
	snprintf(b->v[0], sizeof(b->v[0]), "%o", (unsigned)(st->st_mode & 07777));
	snprintf(b->v[1], sizeof(b->v[1]), "%u", (unsigned)st->st_uid);
	snprintf(b->v[2], sizeof(b->v[2]), "%u", (unsigned)st->st_gid);
	snprintf(b->v[3], sizeof(b->v[3]), "%lld.%09ld", (long long)st->st_mtim.tv_sec,
		 st->st_mtim.tv_nsec);
	snprintf(b->v[4], sizeof(b->v[4]), "%lld.%09ld", (long long)st->st_atim.tv_sec,
		 st->st_atim.tv_nsec);
	snprintf(b->v[5], sizeof(b->v[5]), "%lld", (long long)j->archived_at);
	snprintf(b->v[6], sizeof(b->v[6]), "%" PRIu64, j->bytes);
	meta_add(b, "sweepd-sha256", j->sha256);
	meta_add(b, "sweepd-path", b->path);
	meta_add(b, "sweepd-zone", b->zone);
	meta_add(b, "sweepd-mode", b->v[0]);
	meta_add(b, "sweepd-uid", b->v[1]);
	meta_add(b, "sweepd-gid", b->v[2]);
	meta_add(b, "sweepd-mtime", b->v[3]);
	meta_add(b, "sweepd-atime", b->v[4]);
	meta_add(b, "sweepd-archived-at", b->v[5]);
	meta_add(b, "sweepd-size", b->v[6]);
	meta_add(b, "sweepd-reason", policy_reason_name(j->reason));
	meta_add(b, "sweepd-compressed", j->compressed ? "1" : "0");
	return 0;
}

static void meta_free(struct meta_buf *b)
{
	free(b->path);
	free(b->zone);
}

static bool progress(void *ud, uint64_t done)
{
	return mover_chunk_done(ud, done);
}

/* The SHA-256 of an object's bytes as they are, hex; 0 or -errno. */
static int object_sha256(struct s3 *s, const char *key, char *hex)
{
	struct digest *d = digest_new(false);
	struct s3_reply rep = { 0 };
	unsigned char raw[64];
	int r = d ? s3_get(s, key, remote_hash_sink, d, NULL, &rep) : -ENOMEM;

	if (r == 0)
		digest_hex(raw, digest_final(d, raw), hex);
	digest_free(d);
	return r;
}

/*
 * The ETag the server computes for fd's bytes sent as s3_put_file sends
 * them: their MD5, or for parts the MD5 of the parts' MD5s and "-N". Not
 * metadata anyone may write: the server's own digest of what it holds.
 */
static int local_etag(int fd, uint64_t size, struct mover_job *mj, char *out, size_t len)
{
	uint64_t part = s3_part_size(size, PART_SIZE), parts = size <= part ? 1 : (size + part - 1) / part;
	struct digest *all = digest_new(true), *d = NULL;
	unsigned char raw[64];
	int r = all ? 0 : -ENOMEM;

	for (uint64_t n = 0; r == 0 && n < parts; n++) {
		uint64_t off = n * part, end = off + part < size ? off + part : size;

		if (!(d = digest_new(true))) {
			r = -ENOMEM;
			break;
		}
		r = each_chunk(fd, off, end, mj, remote_hash_sink, d);
		if (r == 0)
			digest_update(all, raw, digest_final(d, raw));
		digest_free(d);
		if (r == 0 && parts == 1)
			digest_hex(raw, 16, out); /* the one part's MD5, kept in raw */
	}
	if (r == 0 && parts > 1) {
		char hex[33];

		digest_hex(raw, digest_final(all, raw), hex);
		snprintf(out, len, "%s-%llu", hex, (unsigned long long)parts);
	}
	digest_free(all);
	return r;
}

/*
 * An object of the local copy's size already at the key: the same bytes? Its
 * ETag against the local copy's, as the server computes it; an ETag of
 * another shape (another part size, or an ETag that is no MD5), the object
 * itself read and its SHA-256 compared. Never its metadata, which whoever
 * may write in the bucket sets as they like.
 */
static bool same_bytes(struct s3 *s, const char *key, const struct s3_object *o, int fd,
		       struct mover_job *mj)
{
	char ours[80], theirs[65];

	if (local_etag(fd, o->size, mj, ours, sizeof(ours)) == 0 && !strcmp(ours, o->etag))
		return true;
	return original_sha256(fd, o->size, false, mj, ours) == 0 &&
	       object_sha256(s, key, theirs) == 0 &&
	       !strcmp(ours, theirs);
}

/* Does the object at key hold these bytes? 0: yes; -EEXIST: other content; -EIO. */
static int same_object(struct s3 *s, const char *key, int fd, uint64_t size, const char *sha256,
		       const char *etag, struct mover_job *mj, struct remote_result *res)
{
	struct s3_object o;
	struct s3_reply rep = { 0 };
	const char *sha;
	int r = s3_head(s, key, &o, &rep);

	if (r == -ENOENT) {
		snprintf(res->err, sizeof(res->err),
			 "the bucket answered the upload of %s with success, but holds no object "
			 "there now; it stays in the local archive",
			 key);
		res->transient = true;
		return res->r = -EIO;
	}
	if (r < 0)
		return remote_failed(res, r, &rep);
	sha = s3_object_meta(&o, "sweepd-sha256");
	/* Just uploaded: the ETag we sent for. Found there: its bytes, whatever it says. */
	if (etag ? o.size == size && sha && !strcmp(sha, sha256) && !strcmp(o.etag, etag)
		 : o.size == size && (!sha || !strcmp(sha, sha256)) && same_bytes(s, key, &o, fd, mj))
		return 0;
	if (sha && !strcmp(sha, sha256))
		snprintf(res->err, sizeof(res->err),
			 "another object is at %s in the bucket: its metadata claims this file's "
			 "SHA-256, but its bytes are not this file's; sweepd never overwrites one: "
			 "the file stays in the local archive until that object is moved away",
			 key);
	else
		snprintf(res->err, sizeof(res->err),
			 "another object is at %s in the bucket (%" PRIu64 " bytes, SHA-256 %s; ours: "
			 "%" PRIu64 " bytes, %s): sweepd never overwrites one; the file stays in the "
			 "local archive until that object is moved away",
			 key, o.size, sha ? sha : "not recorded", size, sha256);
	return res->r = -EEXIST;
}

/* One upload attempt, and its verification: 0, or -errno with res. */
static int put_once(struct upload_job *j, struct s3 *s, const char *key, int fd,
		    const struct stat *st, const struct meta_buf *mb)
{
	struct s3_reply rep = { 0 };
	char etag[80];
	int r = s3_put_file(s, key, fd, (uint64_t)st->st_size, PART_SIZE, mb->m, mb->n, progress,
			    &j->mj, etag, sizeof(etag), &rep);

	if (r == -EEXIST)
		return same_object(s, key, fd, (uint64_t)st->st_size, j->sha256, NULL, &j->mj,
				   &j->res);
	if (r < 0)
		return remote_failed(&j->res, r, &rep);
	return same_object(s, key, fd, (uint64_t)st->st_size, j->sha256, etag, &j->mj, &j->res);
}

/* A key S3 cannot take: why, into res (it would fail the same way each time). */
static bool key_refused(const char *key, const char *path, struct remote_result *res)
{
	if (strlen(key) > 1024)
		snprintf(res->err, sizeof(res->err),
			 "cannot upload: its key would be %zu bytes, over the 1,024 S3 allows; it "
			 "stays in the local archive (restore it to a shorter path, or purge it by "
			 "hand): %.600s",
			 strlen(key), path);
	else if (!pathenc_is_utf8(key))
		snprintf(res->err, sizeof(res->err),
			 "cannot upload: its name is not valid UTF-8, which S3 keys must be; it "
			 "stays in the local archive (restore it and rename it, or purge it by "
			 "hand): %.600s",
			 path);
	else
		return false;
	res->r = -EINVAL;
	res->permanent = true;
	return true;
}

static void upload_run(struct mover_job *mj)
{
	struct upload_job *j = (struct upload_job *)mj;
	const char *rel = archive_rel_of(j->archive, mj->path);
	struct meta_buf mb = { 0 };
	struct s3 *s = NULL;
	char *key = NULL;
	struct stat st;
	int fd = archive_open_copy(j->archive, mj->path), r;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		r = fd < 0 ? fd : -EINVAL;
		snprintf(j->res.err, sizeof(j->res.err), "cannot read %.600s to upload it: %s",
			 mj->path,
			 r == -ENOENT ? "it is gone (removed from outside sweepd)" : strerror(-r));
		j->res.r = r;
		goto out;
	}
	mj->bytes = (uint64_t)st.st_size;
	if (!rel || asprintf(&key, "%s%s", j->t.prefix, rel) < 0 ||
	    asprintf(&j->rpath, "s3://%s/%s", j->t.bucket, key) < 0) {
		j->res.r = -ENOMEM;
		goto out;
	}
	if (key_refused(key, mj->path, &j->res))
		goto out;
	r = original_sha256(fd, (uint64_t)st.st_size, j->compressed, mj, j->sha256);
	if (r < 0) {
		j->res.r = r;
		snprintf(j->res.err, sizeof(j->res.err), "cannot read %.600s to upload it: %s",
			 mj->path, r == -EIO ? "its zstd stream is damaged" : strerror(-r));
		goto out;
	}
	if (meta_build(&mb, j, &st) < 0 || !(s = remote_client(&j->t, &j->res))) {
		j->res.r = -ENOMEM;
		goto out;
	}
	/* Transient failures are tried again here, a few times, a little later each. */
	for (int k = 0;; k++) {
		j->res = (struct remote_result){ 0 };
		r = put_once(j, s, key, fd, &st, &mb);
		if (r != -EIO || !remote_again(mj, k, j->res.transient))
			break;
	}
	if (r < 0)
		goto out;
	j->stored = (uint64_t)st.st_size;
	/* Durable before the local copy goes: a crash now replays it at start. */
	r = archive_remote_journal(j->archive, j->id, j->rpath, j->stored, j->sha256);
	if (r == 0)
		r = archive_unlink(j->archive, mj->path);
	if (r < 0) {
		j->res.r = r;
		snprintf(j->res.err, sizeof(j->res.err),
			 "%.600s is in the bucket, but cannot be recorded or removed locally: %s",
			 mj->path, strerror(-r));
	}
	mover_progress(mj, mj->bytes);
out:
	if (j->res.r < 0 && !j->res.err[0])
		snprintf(j->res.err, sizeof(j->res.err), "cannot upload %.600s: %s", mj->path,
			 strerror(-j->res.r));
	meta_free(&mb);
	s3_free(s);
	free(key);
	if (fd >= 0)
		close(fd);
}

struct upload_job *upload_job_new(struct archive *a, const struct remote_config *rc,
				  const struct archive_entry *e, enum policy_reason why)
{
	struct upload_job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->mj.path = strdup(e->apath);
	j->zone = strdup(e->zone);
	j->origin = strdup(e->path);
	if (!j->mj.path || !j->zone || !j->origin || remote_target_copy(&j->t, rc) < 0) {
		upload_job_free(j);
		return NULL;
	}
	j->archive = a;
	j->id = e->id;
	j->bytes = e->bytes;
	j->archived_at = e->archived_at;
	j->reason = e->reason;
	j->why = why;
	j->compressed = e->compressed;
	j->mj.lane = MOVER_REMOTE;
	j->mj.action = "upload";
	j->mj.bytes = e->stored;
	j->mj.dev = archive_dev(a);
	j->mj.ino = 0; /* the entry's busy flag keeps others off it */
	j->mj.run = upload_run;
	return j;
}

void upload_job_free(struct upload_job *j)
{
	if (!j)
		return;
	remote_target_clear(&j->t);
	free(j->zone);
	free(j->origin);
	free(j->rpath);
	mover_job_free(&j->mj);
}
