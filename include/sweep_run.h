#ifndef SWEEPD_SWEEP_RUN_H
#define SWEEPD_SWEEP_RUN_H

#include <stdbool.h>
#include <stdint.h>

struct json_object;

/*
 * One run of the sweeper (or of the rotator, or a purge): what it is asked
 * to do, and what it did, for a reply. Held by the jobs it queued.
 */
struct sweep_run {
	bool dry;	/* decide and report only */
	bool mark;	/* a dry daemon: report each file once */
	int zone;	/* -1: every zone */
	bool manual;	/* asked for (the sweep command) rather than automatic */
	bool archive_refused; /* the archive said it was full to this run: it backs off too */
	bool unaudited; /* a reader's dry run: actions in the reply, not in the audit log */
	struct json_object *actions; /* NULL, or an array that gets each action */
	/* A reader's dry run lists this many actions at most (0: all); the rest are counted. */
	uint64_t list_max, unlisted;
	/* NULL, or an array that gets each action that failed, as in actions, with its error */
	struct json_object *failed;
	char *archive_full; /* the archive full, as it refused this run (dry: as it is now) */
	uint64_t count, freed;
	bool more; /* a full batch went to the mover: more may be due once it is in */
	/*
	 * A run someone waits on (made by sweep_run_new) is held by each job it
	 * queued: finished runs on the loop once the last is done. A run on the
	 * stack (refs 0) is waited on by nobody: its jobs report to the audit only.
	 */
	unsigned refs;
	void (*finished)(struct sweep_run *run, void *ud);
	void *ud;
};

/* A run on the heap, held once by its maker (refs 1); NULL when out of memory. */
struct sweep_run *sweep_run_new(void);
/* One more job out (nothing for a run on the stack). */
void sweep_run_hold(struct sweep_run *run);
/*
 * One job (or the maker) done with it: at the last, finished() if set (it
 * owns the run then, and frees it with sweep_run_free), else the run is freed.
 */
void sweep_run_release(struct sweep_run *run);
/* Does anything still hold it, beside its maker? */
bool sweep_run_waiting(const struct sweep_run *run);
void sweep_run_free(struct sweep_run *run);
/* One more action for run's reply: false when its list is full (counted in unlisted). */
bool sweep_run_lists(struct sweep_run *run);

#endif
