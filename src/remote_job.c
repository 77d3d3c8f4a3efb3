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
#include "config.h"
#include "digest.h"
#include "log.h"
#include "remote_job_priv.h"
#include "s3.h"

/*
 * The remote tier's jobs but the upload (upload_job.c) and the fetch of a
 * restore (remote_fetch.c): archive.remote copied for a job, its client and
 * errors, deletions, the aborts at start, the rebuild from a listing.
 */

int remote_target_copy(struct remote_target *t, const struct remote_config *rc)
{
	*t = (struct remote_target){ 0 };
	t->endpoint = strdup(rc->endpoint);
	t->bucket = strdup(rc->bucket);
	t->region = strdup(rc->region);
	t->prefix = strdup(rc->prefix);
	t->cred = rc->cred;
	if (!t->endpoint || !t->bucket || !t->region || !t->prefix) {
		remote_target_clear(t);
		return -ENOMEM;
	}
	return 0;
}

void remote_target_clear(struct remote_target *t)
{
	free(t->endpoint);
	free(t->bucket);
	free(t->region);
	free(t->prefix);
	awscred_clear(&t->cred);
	t->endpoint = t->bucket = t->region = t->prefix = NULL;
}

const char *remote_key_of(const char *rpath, const char *bucket)
{
	size_t n = strlen(bucket);

	if (strncmp(rpath, "s3://", 5) || strncmp(rpath + 5, bucket, n) || rpath[5 + n] != '/')
		return NULL;
	return rpath + 5 + n + 1;
}

struct s3 *remote_client(const struct remote_target *t, struct remote_result *res)
{
	struct s3_target st = { t->endpoint, t->bucket, t->region, &t->cred };
	struct s3 *s = s3_new(&st, res->err, sizeof(res->err));

	if (!s)
		res->r = -ENOMEM;
	return s;
}

/* A failed call's reply as the job's result. */
int remote_failed(struct remote_result *res, int r, const struct s3_reply *rep)
{
	res->r = r;
	if (r == -EIO) {
		res->transient = rep->transient;
		snprintf(res->err, sizeof(res->err), "%s%s", rep->err,
			 rep->status == 403 ? "; check the keys (archive.remote's credentials file "
					      "and profile, or AWS_*) and what they may do in the "
					      "bucket, then sweepctl reload"
					    : rep->status == 404 && !strcmp(rep->code, "NoSuchBucket")
						  ? "; make the bucket, or name another in "
						    "archive.remote"
						  : "");
	}
	return r;
}

#define TRIES 3

bool remote_again(struct mover_job *mj, int k, bool transient)
{
	if (!transient || k + 1 >= TRIES)
		return false;
	/* 1 s, then 2 s: or less, when the daemon stops (false then) */
	for (int i = 0; i < (1 << k) * 10; i++) {
		if (mover_stopping(mj))
			return false;
		nanosleep(&(struct timespec){ 0, 100000000 }, NULL);
	}
	return !mover_stopping(mj);
}

int remote_hash_sink(void *ud, const void *buf, size_t n)
{
	digest_update(ud, buf, n);
	return 0;
}

int64_t remote_meta_int(const struct s3_object *o, const char *name, int base, int64_t def)
{
	const char *v = s3_object_meta(o, name);
	char *end;
	long long x;

	if (!v)
		return def;
	errno = 0;
	x = strtoll(v, &end, base);
	return errno || end == v ? def : x;
}

struct timespec remote_meta_time(const struct s3_object *o, const char *name)
{
	const char *v = s3_object_meta(o, name);
	long long s = 0;
	long ns = 0;

	if (!v || sscanf(v, "%lld.%ld", &s, &ns) < 1 || ns < 0 || ns > 999999999)
		return (struct timespec){ o->mtime, 0 };
	return (struct timespec){ s, ns };
}

static void rdelete_run(struct mover_job *mj)
{
	struct rdelete_job *j = (struct rdelete_job *)mj;
	struct s3_reply rep = { 0 };
	struct s3 *s;
	int r;

	if (j->res.r < 0 || !(s = remote_client(&j->t, &j->res)))
		return; /* not in the bucket configured now (rdelete_job_new said why) */
	for (int k = 0;; k++) {
		r = s3_delete(s, j->key, &rep);
		if (r == 0 || !remote_again(mj, k, rep.transient))
			break;
	}
	if (r < 0)
		remote_failed(&j->res, r, &rep);
	s3_free(s);
}

struct rdelete_job *rdelete_job_new(const struct remote_config *rc, const char *rpath)
{
	struct rdelete_job *j = calloc(1, sizeof(*j));
	const char *key;

	if (!j)
		return NULL;
	if (remote_target_copy(&j->t, rc) < 0 || !(j->mj.path = strdup(rpath))) {
		rdelete_job_free(j);
		return NULL;
	}
	key = remote_key_of(rpath, j->t.bucket);
	j->key = strdup(key ? key : "");
	if (!j->key) {
		rdelete_job_free(j);
		return NULL;
	}
	if (!key) { /* an entry of another bucket than the one configured now */
		j->res.r = -EINVAL;
		snprintf(j->res.err, sizeof(j->res.err),
			 "%s is not in bucket %s, which the configuration names now", rpath,
			 j->t.bucket);
	}
	j->mj.lane = MOVER_REMOTE;
	j->mj.action = "purge";
	j->mj.run = rdelete_run;
	return j;
}

void rdelete_job_free(struct rdelete_job *j)
{
	if (!j)
		return;
	remote_target_clear(&j->t);
	free(j->key);
	free(j->zone);
	free(j->origin);
	mover_job_free(&j->mj);
}

/* The multipart uploads a crash left under the prefix. */
struct leftovers_job {
	struct mover_job mj;
	struct remote_target t;
	struct remote_result res;
	int aborted;
};

static void leftovers_run(struct mover_job *mj)
{
	struct leftovers_job *j = (struct leftovers_job *)mj;
	struct s3_reply rep = { 0 };
	struct s3 *s = remote_client(&j->t, &j->res);

	if (!s)
		return;
	j->aborted = s3_abort_leftovers(s, j->t.prefix, &rep);
	if (j->aborted < 0)
		remote_failed(&j->res, j->aborted, &rep);
	s3_free(s);
}

static void leftovers_done(struct mover_job *mj, bool cancelled)
{
	struct leftovers_job *j = (struct leftovers_job *)mj;

	if (!cancelled && j->res.r < 0)
		log_warn("remote: cannot look for unfinished uploads under s3://%s/%s: %s", j->t.bucket,
			 mj->path, j->res.err);
	else if (!cancelled && j->aborted > 0)
		log_info("remote: %d unfinished multipart upload(s) under s3://%s/%s aborted "
			 "(left by a stop in the middle)",
			 j->aborted, j->t.bucket, mj->path);
	remote_target_clear(&j->t);
	mover_job_free(mj);
}

struct mover_job *remote_leftovers_job(const struct remote_config *rc)
{
	struct leftovers_job *j = calloc(1, sizeof(*j));

	if (!j || remote_target_copy(&j->t, rc) < 0 || !(j->mj.path = strdup(rc->prefix))) {
		if (j)
			remote_target_clear(&j->t);
		free(j);
		return NULL;
	}
	j->mj.lane = MOVER_REMOTE;
	j->mj.action = "abort";
	j->mj.alone = true; /* never beside an upload of this start, which it would abort */
	j->mj.run = leftovers_run;
	j->mj.done = leftovers_done;
	return &j->mj;
}

/*
 * A rebuild of the index's remote part from the bucket: each object under
 * the prefix that carries sweepd's metadata becomes an entry again.
 */
struct rebuild_job {
	struct mover_job mj; /* mj.path: the prefix */
	struct archive *archive;
	struct remote_target t;
	struct s3 *s;
	struct archive_entry *v;
	size_t n, cap;
	uint64_t foreign;
	struct remote_result res;
};

static int rebuild_one(void *ud, const char *key, uint64_t size)
{
	struct rebuild_job *j = ud;
	struct s3_reply rep = { 0 };
	struct archive_entry e = { .stored = size, .remote = true };
	struct s3_object o;
	const char *sha, *path, *zone, *reason;
	int r = s3_head(j->s, key, &o, &rep);

	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return remote_failed(&j->res, r, &rep);
	sha = s3_object_meta(&o, "sweepd-sha256");
	path = s3_object_meta(&o, "sweepd-path");
	zone = s3_object_meta(&o, "sweepd-zone");
	reason = s3_object_meta(&o, "sweepd-reason");
	if (!sha || strlen(sha) != 64 || !path || !zone) { /* sweepd's objects carry all three */
		j->foreign++; /* not sweepd's: never indexed, never deleted */
		return mover_stopping(&j->mj) ? -ECANCELED : 0;
	}
	if (j->n == j->cap) {
		size_t cap = j->cap ? 2 * j->cap : 64;
		struct archive_entry *v = realloc(j->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		j->v = v;
		j->cap = cap;
	}
	e.sha256 = strdup(sha);
	if (asprintf(&e.apath, "s3://%s/%s", j->t.bucket, key) < 0)
		e.apath = NULL;
	e.bytes = (uint64_t)remote_meta_int(&o, "sweepd-size", 10, (int64_t)size);
	e.archived_at = remote_meta_int(&o, "sweepd-archived-at", 10, o.mtime);
	e.reason = reason ? policy_reason_parse(reason) : REASON_REBUILT;
	e.compressed = remote_meta_int(&o, "sweepd-compressed", 10, 0) == 1;
	if (!e.sha256 || !e.apath) {
		free(e.sha256);
		free(e.apath);
		return -ENOMEM;
	}
	j->v[j->n++] = e;
	return mover_stopping(&j->mj) ? -ECANCELED : 0;
}

static void rebuild_run(struct mover_job *mj)
{
	struct rebuild_job *j = (struct rebuild_job *)mj;
	struct s3_reply rep = { 0 };
	int r;

	if (!(j->s = remote_client(&j->t, &j->res)))
		return;
	r = s3_list(j->s, j->t.prefix, rebuild_one, j, &rep);
	if (r < 0 && !j->res.r) /* (rebuild_one said why, when it stopped the listing) */
		remote_failed(&j->res, r, &rep);
	s3_free(j->s);
	j->s = NULL;
}

static void rebuild_done(struct mover_job *mj, bool cancelled)
{
	struct rebuild_job *j = (struct rebuild_job *)mj;
	size_t adopted = 0;

	for (size_t i = 0; i < j->n; i++) {
		const char *key = remote_key_of(j->v[i].apath, j->t.bucket);
		size_t np = strlen(j->t.prefix);

		if (!cancelled && key && !strncmp(key, j->t.prefix, np) &&
		    archive_remote_adopt(j->archive, &j->v[i], key + np))
			adopted++;
		else
			j->foreign++;
		free(j->v[i].sha256);
		free(j->v[i].apath);
	}
	if (!cancelled && j->res.r < 0)
		log_err("remote: state_dir held no index, and the bucket's listing cannot be read: %s; "
			"if the bucket holds files sweepd uploaded before, restart sweepd once it "
			"answers, to index them",
			j->res.err[0] ? j->res.err : strerror(-j->res.r));
	if (!cancelled && adopted)
		log_warn("remote: state_dir held no index: %zu entr(ies) indexed again from the "
			 "listing of s3://%s/%s%s",
			 adopted, j->t.bucket, mj->path,
			 j->foreign ? " (objects without sweepd's metadata, or of no zone configured now, "
			      "left alone)"
			    : "");
	free(j->v);
	remote_target_clear(&j->t);
	mover_job_free(mj);
}

struct mover_job *remote_rebuild_job(struct archive *a, const struct remote_config *rc)
{
	struct rebuild_job *j = calloc(1, sizeof(*j));

	if (!j || remote_target_copy(&j->t, rc) < 0 || !(j->mj.path = strdup(rc->prefix))) {
		if (j)
			remote_target_clear(&j->t);
		free(j);
		return NULL;
	}
	j->archive = a;
	j->mj.lane = MOVER_REMOTE;
	j->mj.action = "list";
	j->mj.alone = true;
	j->mj.run = rebuild_run;
	j->mj.done = rebuild_done;
	return &j->mj;
}
