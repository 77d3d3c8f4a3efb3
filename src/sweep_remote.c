#include "sweep.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "archive.h"
#include "audit.h"
#include "config.h"
#include "counters.h"
#include "log.h"
#include "remote_job.h"
#include "sweep_priv.h"

/*
 * The sweeper's side of the remote tier: what would leave the local archive
 * for good goes to the bucket (an upload job on the remote lane), the
 * bucket's entries past remote.keep are deleted there, and the results are
 * taken in on the loop: the index, the counters, the audit, the
 * remote_failing alarm's state.
 */

/* After n failures in a row: 30 s, twice as long each time, at most an hour. */
static int64_t retry_after(uint32_t n)
{
	int64_t s = 30;

	while (n-- > 1 && s < 3600)
		s *= 2;
	return s < 3600 ? s : 3600;
}

static void failure(struct sweep *s, const char *err, int64_t now)
{
	struct sweep_remote_stats *st = &s->remote;

	st->failures++;
	s->eng.counters->errors++;
	if (!st->failing)
		st->failing_since = now;
	st->failing = true;
	snprintf(st->last_error, sizeof(st->last_error), "%s", err);
}

static void upload_done(struct mover_job *mj, bool cancelled)
{
	struct upload_job *j = (struct upload_job *)mj;
	struct sweep *s = j->owner;
	struct archive *a = s->eng.archive;
	struct archive_entry *e = archive_index_get(archive_entries(a), j->id), *twin;
	uint64_t local = e ? e->stored : 0;
	int64_t now = sweep_now();

	if (e) {
		e->busy = false;
		if (!cancelled && j->res.r == 0)
			e->fails = 0;
	}
	s->purging -= s->purging < local ? s->purging : local;
	if (cancelled) {
	} else if (j->res.r < 0) {
		failure(s, j->res.err, now);
		if (e) {
			e->fails++;
			if (j->res.permanent && e->fails < 8)
				e->fails = 8; /* the longest wait at once */
			e->retry_at = now + retry_after(e->fails);
			sweep_note_next(s, e->retry_at);
			/* A bucket gone away fails every file: a few lines a minute, the rest counted. */
			if (sweep_fail_log(s, j->res.permanent ? 1 : e->fails, now))
				log_err("remote: %s; tried again in %lld s", j->res.err,
					(long long)(e->retry_at - now));
		}
		sweep_run_failed(j->run, now, "upload", j->zone, j->origin, j->bytes, j->why,
				 j->res.err);
	} else {
		s->remote.uploads++;
		s->remote.uploaded_bytes += j->bytes;
		s->eng.counters->bytes_freed += local;
		/* One crash after the upload and before the journal: the object is there once. */
		twin = archive_index_find_path(archive_remote_entries(a), j->rpath);
		if (twin && twin->id != j->id)
			archive_forget(a, j->id);
		else
			archive_uploaded(a, j->id, j->rpath, j->stored, j->sha256);
		sweep_report(s, j->run, audit_entry(now, "upload", j->zone, j->origin, j->bytes,
					      j->why, false, j->rpath));
		if (j->run) {
			j->run->count++;
			j->run->freed += local;
		}
		sweep_archive_room(s, 0, now);
	}
	sweep_job_in(s, j->run, mj->lane);
	upload_job_free(j);
}

bool sweep_upload_entry(struct sweep *s, struct sweep_run *run, struct archive_entry *e,
			enum policy_reason why, int64_t now)
{
	struct upload_job *j;

	s->remote.waiting_files++;
	s->remote.waiting_bytes += e->bytes;
	s->remote.waiting_failed += e->fails > 0;
	if (run && run->dry) {
		sweep_dry_entry(s, run, "upload", e, why, now);
		return true;
	}
	if (e->busy)
		return false;
	if (e->retry_at > now && !(run && run->manual)) {
		sweep_note_next(s, e->retry_at);
		return false;
	}
	j = upload_job_new(s->eng.archive, s->eng.cfg->remote, e, why);
	if (!j)
		return false;
	j->mj.done = upload_done;
	j->owner = s;
	/* No run waits on it: an operator's sweep answers with the local work, not the network's. */
	j->run = sweep_entry_job_out(s, NULL, e, &j->mj, true);
	return true;
}

static void rdelete_done(struct mover_job *mj, bool cancelled)
{
	struct rdelete_job *j = (struct rdelete_job *)mj;
	struct sweep *s = j->owner;
	struct archive *a = s->eng.archive;
	struct archive_entry *e = j->id ? archive_find(a, j->id) : NULL;
	int64_t now = sweep_now();

	if (e)
		e->busy = false;
	if (cancelled) {
	} else if (j->res.r < 0 && !j->id) {
		/* after a restore: the file is back, the object stays behind */
		s->eng.counters->errors++;
		log_err("remote: %s is restored, but its object cannot be deleted from the "
			"bucket: %s; delete it by hand",
			mj->path, j->res.err);
	} else if (j->res.r < 0) {
		failure(s, j->res.err, now);
		log_err("remote: cannot delete %s after remote.keep: %s", mj->path, j->res.err);
		if (e) {
			e->fails++;
			e->retry_at = now + retry_after(e->fails);
		}
		sweep_run_failed(j->run, now, "purge", j->zone, j->origin, j->bytes, j->why,
				 j->res.err);
	} else if (j->id) {
		archive_forget(a, j->id);
		s->remote.purged++;
		s->eng.counters->purged++;
		sweep_report(s, j->run, audit_entry(now, "purge", j->zone, j->origin, j->bytes,
					      j->why, false, mj->path));
		if (j->run)
			j->run->count++;
	}
	if (j->id)
		sweep_job_in(s, j->run, mj->lane);
	rdelete_job_free(j);
}

/* A job deleting rpath; entry e's (purged after remote.keep) or none's (a restore's). */
static bool submit_delete(struct sweep *s, struct sweep_run *run, struct archive_entry *e,
			  const char *rpath)
{
	struct rdelete_job *j = rdelete_job_new(s->eng.cfg->remote, rpath);

	if (!j)
		return false;
	j->mj.done = rdelete_done;
	j->owner = s;
	if (e) {
		j->id = e->id;
		j->zone = strdup(e->zone);
		j->origin = strdup(e->path);
		if (!j->zone || !j->origin) {
			rdelete_job_free(j);
			return false;
		}
		j->bytes = e->bytes;
		j->why = REASON_REMOTE_KEEP;
		j->run = sweep_entry_job_out(s, run, e, &j->mj, false);
		return true;
	}
	mover_submit(s->eng.mover, &j->mj);
	return true;
}

void sweep_remote_delete(struct sweep *s, const char *rpath)
{
	if (s->eng.cfg->remote && !submit_delete(s, NULL, NULL, rpath))
		log_err("remote: out of memory: %s stays in the bucket", rpath);
}

void sweep_pass_remote(struct sweep *s, struct sweep_run *run, int64_t now)
{
	const struct remote_config *rc = s->eng.cfg->remote;
	struct archive_index *rix;
	struct archive_entry *e;

	if (!rc || !s->eng.archive || rc->keep == CONFIG_UNSET || run->zone >= 0)
		return;
	rix = archive_remote_entries(s->eng.archive);
	for (e = archive_index_next(rix, NULL); e && e->archived_at + rc->keep <= now;
	     e = archive_index_next(rix, e)) {
		if (run->dry)
			sweep_dry_entry(s, run, "purge", e, REASON_REMOTE_KEEP, now);
		else if (!e->busy && e->retry_at <= now)
			submit_delete(s, run, e, e->apath);
	}
	if (e)
		sweep_note_next(s, e->archived_at + rc->keep);
}

const struct sweep_remote_stats *sweep_remote_stats(const struct sweep *s)
{
	return &s->remote;
}
