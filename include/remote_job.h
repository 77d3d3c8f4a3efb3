#ifndef SWEEPD_REMOTE_JOB_H
#define SWEEPD_REMOTE_JOB_H

#include <stdbool.h>
#include <stdint.h>

#include "archive.h"
#include "awscred.h"
#include "mover.h"
#include "policy.h"
#include "s3.h"

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
	bool permanent; /* it fails the same way each time (a key S3 cannot take) */
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
 * Off the loop: an entry's object as the source of a restore (see
 * archive_source): its HEAD says what the file is, its bytes are streamed
 * into the destination's directory, undone from zstd where they were, and
 * checked against sha256 (NULL: the object's own metadata); mode (never a
 * set-ID bit), owner and times come from its metadata.
 */
struct remote_source {
	struct archive_source src; /* what archive_restore_io is given */
	const char *rpath, *key, *sha256;
	bool compressed;
	struct mover_job *mj; /* told the progress */
	struct s3 *s;
	struct s3_object o;
	struct stat st; /* what describe found: fill gives the file its owner, mode, times */
};
/* 0, or -errno with err (an entry of another bucket, no memory). */
int remote_source_open(struct remote_source *rs, const struct remote_target *t, const char *rpath,
		       bool compressed, const char *sha256, struct mover_job *mj, char *err,
		       size_t errlen);
void remote_source_close(struct remote_source *rs);

/* The key of an s3://bucket/key path, or NULL when it is not one of bucket. */
const char *remote_key_of(const char *rpath, const char *bucket);

#endif
