#ifndef SWEEPD_REMOTE_JOB_H
#define SWEEPD_REMOTE_JOB_H

#include <stdbool.h>
#include <stdint.h>

#include "awscred.h"
#include "mover.h"
#include "policy.h"

/*
 * The remote tier's file work, as mover jobs on the remote lane: an
 * archive entry's file uploaded to the bucket (and only then removed from
 * the local archive), an object deleted, an object fetched back for a
 * restore, the multipart uploads a crash left aborted. Each copies what it
 * needs of archive.remote (a reload may free the config) and makes its own
 * S3 client on the worker.
 */
struct archive;
struct archive_entry;
struct remote_config;
struct sweep_run;

/* archive.remote, copied for a job. */
struct remote_target {
	char *endpoint, *bucket, *region, *prefix;
	struct awscred cred;
};

/* How a job ended, for the loop: 0 or -errno, and what to say. */
struct remote_result {
	int r;
	bool transient; /* the bucket did not answer, or answered 5xx: try again later */
	char err[1200];
};

struct upload_job {
	struct mover_job mj; /* first: the mover's; mj.path is the local copy */
	struct archive *archive;
	struct remote_target t;
	uint64_t id;
	char *zone, *origin; /* the entry's zone and original path */
	uint64_t bytes;	     /* original size */
	int64_t archived_at;
	enum policy_reason reason; /* why it was archived */
	enum policy_reason why;	   /* why it leaves the local archive */
	bool compressed;
	/* what run() found */
	struct remote_result res;
	bool already;	 /* the same object was in the bucket already */
	char *rpath;	 /* s3://bucket/key */
	uint64_t stored; /* the object's size */
	char sha256[65];
	/* the sweeper's, on the loop */
	void *owner;
	struct sweep_run *run;
};

/* An upload of e's file (NULL when out of memory). */
struct upload_job *upload_job_new(struct archive *a, const struct remote_config *rc,
				  const struct archive_entry *e, enum policy_reason why);
void upload_job_free(struct upload_job *j);

struct rdelete_job {
	struct mover_job mj; /* first; mj.path is s3://bucket/key */
	struct remote_target t;
	char *key;
	uint64_t id;
	char *zone, *origin;
	uint64_t bytes;
	enum policy_reason why;
	struct remote_result res;
	void *owner;
	struct sweep_run *run;
};

/* A deletion of the object at rpath (s3://bucket/key); NULL when out of memory. */
struct rdelete_job *rdelete_job_new(const struct remote_config *rc, const char *rpath);
void rdelete_job_free(struct rdelete_job *j);

/* The multipart uploads under the prefix that a crash left, aborted (at start). */
struct mover_job *remote_leftovers_job(const struct remote_config *rc);

/*
 * The index's remote part rebuilt from the bucket's listing (state_dir was
 * lost): each object under the prefix with sweepd's metadata indexed again.
 */
struct mover_job *remote_rebuild_job(struct archive *a, const struct remote_config *rc);

/* archive.remote copied into t; 0 or -ENOMEM. */
int remote_target_copy(struct remote_target *t, const struct remote_config *rc);
void remote_target_clear(struct remote_target *t);

/*
 * Off the loop: the object at rpath brought back into the archive's
 * download directory, byte for byte, its SHA-256 (of the original bytes,
 * decompressed when compressed) checked against sha256 (NULL: the
 * object's own metadata), mode, owner and times set from its metadata.
 * 0 with *path (malloc'd) the file, ready to be restored as a local copy;
 * -errno with res. progress as a mover job's chunks.
 */
int remote_fetch(struct archive *a, const struct remote_target *t, uint64_t id, const char *rpath,
		 bool compressed, const char *sha256, struct mover_job *mj, char **path,
		 struct remote_result *res);

/* The key of an s3://bucket/key path, or NULL when it is not one of bucket. */
const char *remote_key_of(const char *rpath, const char *bucket);

#endif
