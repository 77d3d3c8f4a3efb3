#ifndef SWEEPD_REMOTE_JOB_PRIV_H
#define SWEEPD_REMOTE_JOB_PRIV_H

/*
 * What the remote tier's jobs share, and no other module includes:
 *   remote_job.c    targets, clients, errors; deletions, aborts, the rebuild
 *   upload_job.c    uploads, verified and journalled
 *   remote_fetch.c  a restore's bytes from the bucket
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "remote_job.h"

#define REMOTE_CHUNK (1 << 20)

/* A client for t; NULL with res (-ENOMEM, or why the target cannot be used). */
struct s3 *remote_client(const struct remote_target *t, struct remote_result *res);
/* A failed call's reply as the job's result (with what to do for a 403, a missing bucket). */
int remote_failed(struct remote_result *res, int r, const struct s3_reply *rep);
/*
 * After try k (from 0) failed: worth another? Only for a transient failure,
 * three tries in all, after 1 s, then 2 s; false at once when the daemon stops.
 */
bool remote_again(struct mover_job *mj, int k, bool transient);
/* For a stream's bytes into a digest (ud). */
int remote_hash_sink(void *ud, const void *buf, size_t n);
/* An object's metadata as a number (in base), or def; as a time (s.ns), or Last-Modified. */
int64_t remote_meta_int(const struct s3_object *o, const char *name, int base, int64_t def);
struct timespec remote_meta_time(const struct s3_object *o, const char *name);

#endif
