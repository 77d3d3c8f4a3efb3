#ifndef SWEEPD_ROTATE_JOB_H
#define SWEEPD_ROTATE_JOB_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "mover.h"
#include "policy.h"
#include "rotplan.h"

/*
 * One log's rotation work, as a job for the mover's logs lane: everything
 * rotate_one() once did on the loop, on a worker. What it needs is copied in
 * when the rotator queues it (the zone's root by its path, the
 * directory and name, the inode, the rotate group's numbers); what happened
 * comes back in its out fields, applied by the rotator on the loop (the live
 * log's state, counters, audit, alarms, the writer's signal, postrotate).
 *
 * ROTATE_JOB_CUT      the log cut (collapse, copytruncate, rename, or
 *                     keep_tail_lines), then its expired copies dropped;
 * ROTATE_JOB_COMPRESS a copy moved aside by "rename", compressed once its
 *                     writer has closed it (still_written: not yet);
 * ROTATE_JOB_EXPIRE   only the copies past keep and max_age dropped.
 */
enum rotate_job_kind { ROTATE_JOB_CUT, ROTATE_JOB_COMPRESS, ROTATE_JOB_EXPIRE };

/* A copy dropped for keep or max_age. */
struct rotate_expired {
	char *name;
	uint64_t size, blocks;
	bool by_age;
};

/*
 * One walk of /proc shared by the cuts one pass queued, so that a thousand
 * logs held by writers without O_APPEND cost one walk, not a thousand. It is
 * taken by the first of them that finds its log open for writing; only the
 * logs lane's one thread reads or writes taken and snap (its jobs run one
 * after another), only the loop refs. Freed on the loop after the last job.
 */
struct rotate_look {
	unsigned refs;
	bool taken;
	struct writers_snap *snap;
};

struct rotate_look *rotate_look_new(void);
/* Another holder (NULL: nothing); returns look. */
struct rotate_look *rotate_look_hold(struct rotate_look *look);
void rotate_look_release(struct rotate_look *look);

struct rotate_job {
	struct mover_job mj; /* first; mj.path: the file's absolute path, for messages */
	enum rotate_job_kind kind;
	/* in */
	char *root;	/* the zone's root, opened when the job runs (nolink_open_root) */
	int root_fd;	/* the worker's, while it runs */
	char *dir_rel;	/* the file's directory beneath it */
	char *name;	/* the log (COMPRESS: the copy) */
	char *copy_rel; /* the copies' directory beneath it */
	char *olddir;	/* as configured: made when missing; NULL: beside the log */
	char *zone;	/* its name, looked up again when the result comes */
	struct rotate_config rc; /* numbers only: its strings and include are not the job's */
	enum policy_reason why;
	uint64_t floor; /* keep_tail_lines: the size the last cut left */
	int64_t now;
	struct rotate_look *look; /* its pass's, held; NULL: /proc is asked afresh */
	/* the rotator's, on the loop */
	void *owner;
	struct sweep_run *run;
	void *errors; /* json_object *: a rotate request's list of failures, or NULL */
	/* out: r is 1 (cut), 0 (nothing to do), or -errno with err said */
	int r;
	char err[PATH_MAX + 1024];
	bool blocked; /* not cut in place: a writer without O_APPEND (err says who) */
	bool linked;  /* not cut in place: other names */
	int pid;      /* that writer (0: one sweepd cannot see) */
	char comm[16];
	uint64_t cut;
	char copy[NAME_MAX + 1]; /* the copy made, in copy_rel; "" for none */
	uint64_t copy_ino;
	bool floor_set;
	int created; /* create: 1 the new live log made, 0 not asked, or -errno */
	uint64_t new_floor;
	bool still_written; /* COMPRESS: its writer has it open still */
	int opens;	    /* opens of the live log done (the watch sees each) */
	struct rotate_expired *expired;
	size_t n_expired;
};

/* The opens of the live log a CUT job may do: what the rotator counts as its own before. */
#define ROTATE_JOB_OPENS 2

struct rotate_job *rotate_job_new(enum rotate_job_kind kind, const char *root, const char *path,
				  const char *dir_rel, const char *name, const char *copy_rel,
				  const char *zone, const struct rotate_config *rc);
void rotate_job_run(struct mover_job *mj);
void rotate_job_free(struct rotate_job *j);

/* The owner of name in dirfd, or (uid_t)-1 when it is not there. */
uid_t rotate_owner_at(int dirfd, const char *name);
/* Copies of base in dirfd (a real descriptor) that are sweepd's own; 0 or -errno. */
int rotate_list_copies(int dirfd, const char *base, uid_t owner, struct rotplan_copy **out,
		       size_t *n);
void rotate_free_copies(struct rotplan_copy *v, size_t n);

#endif
