#ifndef SWEEPD_SWEEP_PRIV_H
#define SWEEPD_SWEEP_PRIV_H

/*
 * The sweeper's own state, shared by its files alone (sweep.c: the passes and
 * their timers; sweep_state.c: what it remembers of files, episodes and the
 * archive; sweep_result.c: jobs out to the mover and their results taken in).
 * No other module includes this.
 */
#include <ev.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "engine.h"
#include "policy.h"
#include "sweep.h"
#include "sweep_plan.h"

struct archive_entry;
struct counters;
struct json_object;
struct mover_job;
struct table_file;
struct zone_config;

/* A blocked target is looked at again on changes, or after this long. */
#define SWEEP_RETRY_S 30
#define SWEEP_FAIL_LOG_MAX 10
#define SWEEP_HOLD_DEFAULT_S 86400

struct sweep_fs {
	uint64_t dev;
	const char *probe; /* a zone path on it */
	bool pressure;
	uint64_t changes; /* of its zones, when last found blocked */
	int64_t retry_at;
	struct sweep_episode ep;
	uint64_t inflight; /* disk bytes of its files with the mover: freed once they are in */
};

struct sweep_zone {
	uint64_t changes;
	int64_t retry_at;
	struct sweep_episode ep;
	/* The zone's directory in the archive is not sweepd's own: why, and when to try again. */
	char arch_why[PATH_MAX + 400];
	int64_t arch_retry_at;
};

struct sweep {
	struct engine_parts eng; /* the daemon's parts it works with */
	ev_periodic deadline;
	struct sweep_zone *zones;
	struct sweep_fs *fs;
	size_t n_fs;
	uint64_t roots_gen; /* the watcher's, when fs was made */
	struct u64map *held; /* (dev, ino) of restored files -> until when */
	struct emptied *emptied; /* the directories sweepd emptied, and their users' mtimes */
	struct sweep_episode archive_full;
	int64_t archive_retry_at;
	char full_why[PATH_MAX + 300]; /* what blocks files, while the archive is full */
	char full_self[PATH_MAX + 300]; /* the archive's own episode */
	char misdir_why[PATH_MAX + 400]; /* the last zone whose archive directory is not ours */
	bool running;
	int64_t next; /* the earliest deadline seen by the pass under way */
	int64_t last_run; /* when the last (real) pass ended */
	int64_t purge_retry_at; /* a purge failed: automatic ones wait until then */
	uint64_t purging; /* stored bytes of the archive's files on their way out */
	char **arriving; /* where restores are putting files: held before their inodes are known */
	size_t n_arriving, cap_arriving;
	struct table_file **dry; /* picked by the dry run under way */
	size_t n_dry, cap_dry;
	uint64_t gen;	    /* bumped by each reload: a job's zone index is looked up again */
	/*
	 * Jobs queued and not done, by the mover's lane (a lane full of copies
	 * holds back no delete); passes judge episodes once all are in.
	 */
	size_t inflight_lane[MOVER_LANES];
	struct u64map *failed; /* (dev, ino) of files whose move failed -> when to try again */
	/* Files that failed, said in the log one by one up to a few a minute, then counted. */
	int64_t fail_log_at;
	unsigned fail_logged;
	uint64_t fail_quiet;
	ev_timer again; /* a pass once the last job is in */
	struct sweep_remote_stats remote; /* the remote tier's work */
};

/*
 * Done, or why not: a writer, a recent write, a full archive, an archive
 * directory that is not sweepd's, gone, an error, a path too long to archive.
 */
enum act_result { ACT_DONE, ACT_QUEUED, ACT_WRITING, ACT_YOUNG, ACT_FULL, ACT_MISDIR, ACT_GONE,
		  ACT_FAILED, ACT_TOO_DEEP, ACT_CANCELLED };

static inline int64_t sweep_now(void)
{
	return (int64_t)time(NULL);
}

/* The pass under way notes when something it saw becomes due. */
static inline void sweep_note_next(struct sweep *s, int64_t when)
{
	if (when < s->next)
		s->next = when;
}

/* sweep_state.c */
/* An episode set, said in the log when it starts, changes cause or ends. */
void sweep_say_episode(struct sweep_episode *ep, const char *what, bool blocked, const char *why,
		       uint64_t bytes, struct counters *c);
/* An action to the audit log, and to run's actions when someone waits on it. */
void sweep_report(struct sweep *s, struct sweep_run *run, struct json_object *entry);
void sweep_archive_room(struct sweep *s, int err, int64_t now);
bool sweep_archive_may_try(const struct sweep *s, const struct sweep_run *run, int64_t now);
void sweep_archive_misdir(struct sweep *s, uint32_t zi, int err, int64_t now);
/*
 * A file whose move failed (deep: its path is too long): left alone for
 * SWEEP_RETRY_S, twice as long after each failure in a row, up to about an
 * hour. Returns how many times in a row it has failed, this one included.
 */
unsigned sweep_fail_for_now(struct sweep *s, const struct mover_job *mj, bool deep, int64_t now);
/* Its move done: its failures forgotten. */
void sweep_fail_forget(struct sweep *s, const struct mover_job *mj);
/*
 * May the failure of one more file be said in the log? The first of a file's
 * failures in a row, and no more than SWEEP_FAIL_LOG_MAX a minute: the rest are
 * counted and said in one line a minute later (sweep_fail_log_flush).
 */
bool sweep_fail_log(struct sweep *s, unsigned tries, int64_t now);
void sweep_fail_log_flush(struct sweep *s, int64_t now);
/* The planner's view of the table at now, for run (NULL: any). */
struct sweep_view sweep_view_at(struct sweep *s, const struct sweep_run *run, int64_t now);

/* Jobs of the sweeper's queued and not done, in every lane. */
static inline size_t sweep_inflight(const struct sweep *s)
{
	size_t n = 0;

	for (int i = 0; i < MOVER_LANES; i++)
		n += s->inflight_lane[i];
	return n;
}

/* sweep.c */
struct sweep_fs *sweep_fs_of(struct sweep *s, uint64_t dev);

/* sweep_result.c */
/* The mover's lane a file of zone zi on dev goes by. */
enum mover_lane sweep_lane(const struct sweep *s, uint32_t zi, uint64_t dev);
/* Acts on one file (a job for the mover; a dry run only reports). */
enum act_result sweep_act(struct sweep *s, struct sweep_run *run, struct table_file *f,
			  uint32_t zi, enum policy_reason why, int64_t now);
/* An archive entry's file out for good (a job; dry: reported); false: not now. */
bool sweep_purge_entry(struct sweep *s, struct sweep_run *run, struct archive_entry *e,
		       enum policy_reason why, int64_t now);
/* A failure said in the reply of run, which an operator waits on (NULL: none). */
void sweep_run_failed(struct sweep_run *run, int64_t now, const char *action, const char *zone,
		      const char *path, uint64_t bytes, enum policy_reason why, const char *error);
/* A job of the sweeper's in lane is done: the next batch, and a pass when the lane drained. */
void sweep_job_in(struct sweep *s, struct sweep_run *run, enum mover_lane lane);
/* What a dry run would do to archive entry e (purge, upload), reported and counted. */
void sweep_dry_entry(struct sweep *s, struct sweep_run *run, const char *action,
		     const struct archive_entry *e, enum policy_reason why, int64_t now);
/*
 * A job on archive entry e out to the mover: e busy, its stored bytes counted
 * as freed while it is out (frees), its lane's count up, run held when
 * someone waits on it. The run the job reports to (or NULL) is returned.
 */
struct sweep_run *sweep_entry_job_out(struct sweep *s, struct sweep_run *run,
				      struct archive_entry *e, struct mover_job *mj, bool frees);
/* Automatic purges wait a while after one failed; an operator's go at once. */
bool sweep_purges_wait(struct sweep *s, const struct sweep_run *run, int64_t now);

/* sweep_remote.c */

/*
 * An entry's file to the bucket instead of out for good (archive.remote):
 * a job of the remote lane (dry: reported); false when it cannot go now
 * (busy, or waiting after a failure).
 */
bool sweep_upload_entry(struct sweep *s, struct sweep_run *run, struct archive_entry *e,
			enum policy_reason why, int64_t now);
/* The bucket's entries past remote.keep deleted there. */
void sweep_pass_remote(struct sweep *s, struct sweep_run *run, int64_t now);

#endif
