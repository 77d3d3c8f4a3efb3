#ifndef SWEEPD_SWEEP_JOB_H
#define SWEEPD_SWEEP_JOB_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "archive.h"
#include "mover.h"

/*
 * One file archived or deleted, as a mover job. What it needs is copied in
 * when the sweeper queues it; sweep_job_run() does, on a worker, what
 * act_on() once did on the loop: through the file's directory (opened
 * beneath the zone's root, no link followed), the same inode, a read lease
 * (no writer), min_age against its mtime now, then the move, and right
 * before the file's name changes, its directory still where the zone's path
 * says (else -ESTALE: it was moved, perhaps out of every zone, and nothing
 * changes there). The result is for the sweeper's done() on the loop.
 */

enum { SWEEP_JOB_WRITING = 1, SWEEP_JOB_YOUNG = 2 };

struct sweep_job {
	struct mover_job mj; /* first: the mover's; mj.path is the file's absolute path */
	/* what to do */
	struct archive *archive; /* NULL: delete */
	struct archive_opts aopts;
	char *root;	/* the zone's root, opened by the worker when the job runs (no
			 * descriptor held while queued; a zone moved away meanwhile is not followed) */
	int root_fd;	/* the worker's, while it runs */
	char *dir_rel;	/* the file's directory beneath it ("" for the root) */
	char *rel;	/* the file beneath it */
	const char *name; /* the last part of rel */
	int64_t written;  /* the last write the table saw */
	int64_t min_age;  /* CONFIG_UNSET: none */
	struct archive_entry e; /* zone, path, reason, archived_at in; what was stored out */
	/* what happened: 0 done, SWEEP_JOB_WRITING, SWEEP_JOB_YOUNG, or -errno */
	int r;
	bool opened; /* the file was opened (our IN_OPEN comes) */
	bool dir_known;
	bool writer_at_delete; /* a writer opened it as it was deleted */
	struct timespec dir_before, dir_after; /* its directory's mtime around the removal */
	/* the sweeper's, on the loop */
	void *owner;
	struct sweep_run *run;
	uint32_t zone;
	uint64_t gen; /* of the sweeper's zones when queued */
	uint64_t size, disk;
	int64_t queued_at;
};

/* A job with its strings copied; NULL when out of memory. */
struct sweep_job *sweep_job_new(const char *root, const char *zone, const char *rel, const char *path,
				uint64_t dev, uint64_t ino);
void sweep_job_run(struct mover_job *mj);
void sweep_job_free(struct sweep_job *j);

#endif
