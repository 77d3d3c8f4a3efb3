#ifndef SWEEPD_S3_H
#define SWEEPD_S3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "awscred.h"

/*
 * A client for an S3-compatible bucket (AWS S3, Ceph radosgw, MinIO), on
 * libcurl: curl signs each request (CURLOPT_AWS_SIGV4); keys and queries are
 * spelled canonically by s3names; x-amz-content-sha256 is always sent (the
 * real digest of what is sent); XML replies are read with libxml2; digests
 * come from libcrypto. Path-style addressing (endpoint/bucket/key), which
 * every S3-compatible server takes.
 *
 * One request at a time per client, on the thread that made it (a mover
 * lane's): the calls block, and are never made on the loop. Each call makes
 * one attempt; whether it is worth another is in s3_reply.transient.
 * No secret ever appears in an error. r may be NULL where it is taken.
 *
 * Keys are any bytes but NUL, sent percent-encoded; S3 wants them UTF-8
 * (radosgw refuses others: -EIO, 400 InvalidObjectName, not transient).
 */

struct s3;

struct s3_target {
	const char *endpoint; /* "http://127.0.0.1:7480", "https://s3.eu-central-1.amazonaws.com" */
	const char *bucket;
	const char *region; /* "us-east-1" when NULL */
	const struct awscred *cred; /* copied */
};

/* What a failed call found. */
struct s3_reply {
	long status;	 /* the HTTP status; 0 when no answer came */
	bool transient;	 /* worth trying again later: no answer, a time-out, 5xx, 429 */
	char code[64];	 /* S3's error Code from the XML body ("AccessDenied"), or "" */
	char err[1024];	 /* a sentence: what was asked, of whom, and what came back */
};

/*
 * x-amz-meta-<name>: value, the names in lower case without the prefix
 * (a-z, 0-9, '-', '_', under 64 bytes). A value travels in an HTTP header:
 * printable ASCII, not empty, no blank at either end, under 1,024 bytes;
 * other text is the caller's to escape (percent-encoding, say).
 */
struct s3_meta {
	const char *name;
	const char *value;
};
#define S3_META_MAX 16

/* What a HEAD finds. */
struct s3_object {
	uint64_t size;
	char etag[80];	    /* without its quotes */
	int64_t mtime;	    /* Last-Modified, Unix s */
	size_t n_meta;	    /* past S3_META_MAX, or a value too long, left out */
	struct {
		char name[64];
		char value[1024];
	} meta[S3_META_MAX];
};

/* The value of metadata name (lower case, no prefix), or NULL. */
const char *s3_object_meta(const struct s3_object *o, const char *name);

/* Once per process, before any thread: curl's global state. */
int s3_global_init(void);
/* Once at exit, after every client and thread is gone. */
void s3_global_cleanup(void);

/* NULL with err when the target cannot be used (a malformed endpoint, no memory). */
struct s3 *s3_new(const struct s3_target *t, char *err, size_t errlen);
void s3_free(struct s3 *s);

/*
 * Between chunks: done bytes so far; false to give up (the call fails with
 * -ECANCELED, a multipart upload is aborted).
 */
typedef bool (*s3_progress_fn)(void *ud, uint64_t done);

/*
 * The size bytes of the file fd (read with pread from offset 0) stored at key,
 * never over an object already there: one PUT with If-None-Match: * when
 * size is at most part_size, else a multipart upload in parts of part_size
 * (8 to 64 MiB; more when 10,000 parts would not hold the file), each with
 * its Content-MD5 and x-amz-content-sha256, aborted on any failure; before a
 * multipart upload a HEAD makes sure nothing is at key. meta travel with it.
 * 0, with etag (room for 40 bytes at least, or NULL) the ETag the server must
 * now show for the object (the MD5 of the bytes, or for a multipart upload
 * the MD5 of the parts' MD5s, "-N"; an ETag the server answers otherwise is
 * -EIO); -EEXIST when an object is already at key (412, or found by the
 * HEAD); -ECANCELED (progress said stop); -EIO with r filled in; -errno when
 * fd cannot be read, -ENODATA when it ends before size; -EINVAL (with r->err)
 * for an empty key, meta that cannot travel, or too small an etag.
 */
int s3_put_file(struct s3 *s, const char *key, int fd, uint64_t size, uint64_t part_size,
		const struct s3_meta *meta, size_t n_meta, s3_progress_fn progress, void *ud,
		char *etag, size_t etaglen, struct s3_reply *r);

/*
 * 0 with o filled in; -ENOENT (404, said in r too: a HEAD's answer has no body,
 * so a missing bucket is -ENOENT here as well); -EIO with r.
 */
int s3_head(struct s3 *s, const char *key, struct s3_object *o, struct s3_reply *r);

/*
 * The part size s3_put_file uses for a file of size bytes asked to go in
 * parts of part_size (a file of at most that goes in one PUT).
 */
uint64_t s3_part_size(uint64_t size, uint64_t part_size);

/*
 * The object's bytes, in order, to sink (which returns 0, or -errno to stop:
 * the call then fails with that); progress as for s3_put_file; both get ud.
 * Only a 2xx answer's body reaches the sink. 0; -ENOENT (404 but
 * NoSuchBucket, which is -EIO); -ECANCELED; -EIO with r.
 */
int s3_get(struct s3 *s, const char *key, int (*sink)(void *ud, const void *buf, size_t n),
	   void *ud, s3_progress_fn progress, struct s3_reply *r);

/* 0 (an object already gone counts as deleted, a missing bucket does not); -EIO with r. */
int s3_delete(struct s3 *s, const char *key, struct s3_reply *r);

/*
 * Every object whose key starts with prefix, page after page (ListObjectsV2),
 * in the server's order (by bytes): fn gets each key and size; fn returning
 * non-zero stops (that value is returned). 0; -EIO with r.
 */
int s3_list(struct s3 *s, const char *prefix,
	    int (*fn)(void *ud, const char *key, uint64_t size), void *ud, struct s3_reply *r);

/*
 * Multipart uploads left unfinished under prefix (by a crash) aborted: the
 * number aborted (one gone meanwhile is not counted), or -EIO with r. Every
 * upload under prefix: none may be under way then.
 */
int s3_abort_leftovers(struct s3 *s, const char *prefix, struct s3_reply *r);

#endif
