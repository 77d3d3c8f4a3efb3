#include "restore_job.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "archive_index.h"
#include "audit.h"
#include "config.h"
#include "control.h"
#include "daemon.h"
#include "mover.h"
#include "remote_job.h"
#include "reply.h"
#include "sweep.h"
#include "watch.h"

struct restore_job {
	struct mover_job mj; /* first: the mover's; mj.path is what status shows */
	struct archive *archive;
	struct archive_restore rs;
	int r;
	struct stat placed; /* the restored file, once in place */
	bool placed_known;
	/* an entry in the bucket: fetched into the archive first, then restored from there */
	struct remote_target *t;
	char *rpath, *sha256;
	/* the loop's */
	struct daemon *d;
	struct answer_sink *client;
	char *target; /* where it goes */
	char *zone;
	uint64_t bytes;
};

static void job_free(struct restore_job *j)
{
	if (j->t)
		remote_target_clear(j->t);
	free(j->t);
	free(j->rpath);
	free(j->sha256);
	archive_restore_clear(&j->rs);
	free(j->target);
	free(j->zone);
	mover_job_free(&j->mj);
}

/* Between chunks: how far the copy is, and whether the daemon is stopping. */
static bool keep_going(void *ud, uint64_t done)
{
	struct restore_job *j = ud;

	return mover_chunk_done(&j->mj, done);
}

static void job_run(struct mover_job *mj)
{
	struct restore_job *j = (struct restore_job *)mj;
	struct remote_source src;

	if (j->t) {
		j->r = remote_source_open(&src, j->t, j->rpath, j->rs.compressed, j->sha256, mj,
					  j->rs.err, sizeof(j->rs.err));
		if (j->r < 0)
			return;
		j->rs.from = &src.src;
	}
	j->r = archive_restore_io(j->archive, &j->rs);
	if (j->t) {
		j->rs.from = NULL;
		remote_source_close(&src);
	}
	if (j->r == 0) {
		mover_progress(mj, mj->bytes);
		j->placed_known = lstat(j->rs.where, &j->placed) == 0;
	}
}

static void job_done(struct mover_job *mj, bool cancelled)
{
	struct restore_job *j = (struct restore_job *)mj;
	struct daemon *d = j->d;
	struct archive_entry *e = archive_find(j->archive, j->rs.id);
	char *out;

	if (e)
		e->busy = false;
	if (d->sweep)
		sweep_unhold_path(d->sweep, j->target);
	if (cancelled) {
		out = reply_error("sweepd is stopping: nothing was moved; restore again once it is "
				  "back");
	} else if (j->r < 0) {
		if (j->r != -EEXIST && j->r != -ECANCELED)
			d->counters.errors++;
		out = reply_error(j->rs.err);
	} else {
		archive_forget(j->archive, j->rs.id);
		if (j->t && d->sweep) /* back in place: the object goes */
			sweep_remote_delete(d->sweep, j->rpath);
		d->counters.restored++;
		if (j->placed_known && d->sweep)
			sweep_hold(d->sweep, j->placed.st_dev, j->placed.st_ino,
				   (int64_t)j->placed.st_mtim.tv_sec);
		audit_report(d->audit, NULL,
			     audit_entry((int64_t)time(NULL), "restore", j->zone, j->rs.where,
					 j->bytes, REASON_MANUAL, false,
					 j->t ? j->rpath : j->rs.apath));
		watch_drain(d->watch);
		out = reply_restored(j->rs.where);
	}
	control_answer(j->client, out);
	job_free(j);
	/* What the archive holds changed: its limits and deadlines, looked at again. */
	if (d->sweep && !cancelled)
		sweep_due(d->sweep);
}

/*
 * What status.jobs shows of a restore, which anyone who can connect reads:
 * where it goes when that is inside a zone (whose files they may list
 * anyway), else where the file was, as `archive` shows them; never root's
 * destination outside the zones (/root/private/...).
 */
static const char *shown_path(const struct daemon *d, const struct archive_entry *e,
			      const char *target)
{
	if (config_zone_holding(d->cfg, target) >= 0)
		return target;
	return *e->path ? e->path : e->apath;
}

char *restore_job_start(struct daemon *d, struct archive_entry *e, struct archive_dest *dest,
			const char *target, struct answer_sink *client)
{
	struct restore_job *j;

	if (e->remote && !d->cfg->remote) {
		close(dest->base);
		return reply_error("this entry is in the bucket, and the configuration has no "
				   "archive.remote any more: configure it again to restore it");
	}
	j = calloc(1, sizeof(*j));
	if (j) {
		j->rs.to.base = -1;
		j->mj.path = strdup(shown_path(d, e, target));
		j->target = strdup(target);
		j->zone = strdup(e->zone);
		j->rs.apath = strdup(e->apath);
		j->rs.state_dir = strdup(d->cfg->state_dir);
		j->rs.to.base_abs = strdup(dest->base_abs);
		j->rs.to.rel = strdup(dest->rel);
		if (e->remote) {
			j->t = calloc(1, sizeof(*j->t));
			j->rpath = strdup(e->apath);
			j->sha256 = e->sha256 ? strdup(e->sha256) : NULL;
			if (j->t && remote_target_copy(j->t, d->cfg->remote) < 0) {
				free(j->t);
				j->t = NULL;
			}
		}
	}
	if (!j || !j->mj.path || !j->target || !j->zone || !j->rs.apath || !j->rs.state_dir ||
	    !j->rs.to.base_abs || !j->rs.to.rel ||
	    (e->remote && (!j->t || !j->rpath || (e->sha256 && !j->sha256))) ||
	    (d->sweep && sweep_hold_path(d->sweep, target) < 0)) {
		if (j)
			job_free(j);
		close(dest->base);
		return reply_error("out of memory starting a restore");
	}
	j->rs.to.base = dest->base;
	j->rs.to.same_mount = dest->same_mount;
	j->rs.to.trusted = dest->trusted;
	j->rs.id = e->id;
	j->rs.compressed = e->compressed;
	j->rs.keep_going = keep_going;
	j->rs.ud = j;
	j->archive = d->archive;
	j->d = d;
	j->client = client;
	j->bytes = e->bytes;
	j->mj.lane = MOVER_ASKED;
	j->mj.action = "restore";
	j->mj.bytes = e->stored;
	j->mj.dev = archive_dev(d->archive);
	j->mj.ino = 0; /* not a zone's file: the entry's busy flag keeps others off it */
	j->mj.asked = true;
	j->mj.run = job_run;
	j->mj.done = job_done;
	e->busy = true;
	mover_submit(d->mover, &j->mj);
	return control_later;
}
