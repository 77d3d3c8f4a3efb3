#ifndef SWEEPD_PURGE_JOB_H
#define SWEEPD_PURGE_JOB_H

#include <stdint.h>

#include "mover.h"
#include "policy.h"

/*
 * One archive entry's file removed for good, as a mover job in the archive's
 * lane (where every change to the archive's files runs, in order). The entry
 * is marked busy while the job is out; the sweeper's done() takes it out of
 * the index, counts and audits it.
 */
struct archive;
struct sweep_run;

struct purge_job {
	struct mover_job mj; /* first: the mover's; mj.path is the archived copy */
	struct archive *archive;
	uint64_t id;	      /* the entry's */
	char *zone, *origin;  /* the entry's zone and original path, for the audit */
	uint64_t bytes, stored;
	enum policy_reason why;
	int r; /* 0 or -errno */
	/* the sweeper's, on the loop */
	void *owner;
	struct sweep_run *run;
};

/* A job for the entry's file (its strings copied); NULL when out of memory. */
struct purge_job *purge_job_new(struct archive *a, uint64_t id, const char *apath,
				const char *zone, const char *origin);
void purge_job_run(struct mover_job *mj);
void purge_job_free(struct purge_job *j);

#endif
