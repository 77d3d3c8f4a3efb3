#ifndef SWEEPD_MOVER_H
#define SWEEPD_MOVER_H

#include <ev.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The mover: every action that touches a file's bytes or names runs here, on
 * a worker thread, never on the loop. Five lanes, each one thread (the remote
 * lane two) working its queue in order, so that nothing short waits behind something long:
 *  - archive: copies into an archive on another filesystem (the long ones);
 *  - quick: deletes, renames into an archive on the file's own filesystem,
 *    purges of the archive's old entries;
 *  - logs: rotation cuts, compression of rotated copies (a log due for
 *    rotation never waits behind a queue of large copies);
 *  - asked: what an operator asked for (restores), which
 *    waits for no planner's work;
 *  - remote: uploads to the bucket and deletions there (archive.remote),
 *    which take as long as the network does; two threads, so that one
 *    file's round trips (a HEAD, the start and end of an upload, the
 *    verification) overlap another's bytes.
 * A job's result comes
 * back to the loop (ev_async), where its done() applies it to the table,
 * counters and audit: the table stays the loop's alone.
 *
 * A job is a value: what it needs to know is copied into it when it is made
 * (zone, directory, name, device and inode, options), never a pointer into
 * the planner's state. Its run() must not touch the table, the config, the
 * log or anything else of the loop's: it reads its own fields and writes its
 * result fields.
 */

enum mover_lane { MOVER_ARCHIVE, MOVER_QUICK, MOVER_LOGS, MOVER_ASKED, MOVER_REMOTE, MOVER_LANES };

/* archive, quick, logs, asked, remote: the names status, metrics and the threads use. */
const char *mover_lane_name(enum mover_lane lane);

struct mover;

struct mover_job {
	enum mover_lane lane;
	const char *action; /* a static string: "archive", "delete", "rotate", ... */
	char *path;	    /* what status shows (malloc'd; freed with the job) */
	uint64_t dev, ino;  /* the file it touches: no two jobs on one file at once */
	/* How many it is expected to move (0: not known); run() may set it once it knows. */
	_Atomic uint64_t bytes;
	bool asked;	    /* an operator's (a restore): it runs while paused too */
	/* Runs alone in its lane: what was queued before it is done first, nothing beside it. */
	bool alone;
	/* On a worker; it looks at mover_stopping() between chunks. */
	void (*run)(struct mover_job *j);
	/*
	 * On the loop, with the result; owns and frees the job (mover_job_free).
	 * cancelled: never run (the daemon stops, or pause dropped it).
	 */
	void (*done)(struct mover_job *j, bool cancelled);
	/* Set by run(), read by status: how far it is. */
	_Atomic uint64_t moved;
	/* the mover's */
	struct mover *m;
	struct mover_job *next;
	bool running;
	int64_t started;    /* Unix s, when run() began */
	int64_t started_ns; /* CLOCK_MONOTONIC, the same instant: how long it runs */
};

/* Starts one thread per lane (named sweepd-archive, sweepd-quick, ...); NULL with errno. */
struct mover *mover_create(struct ev_loop *loop);
/* Stops: the running jobs are told to stop and waited for, the queued ones done as cancelled. */
void mover_destroy(struct mover *m);

/* Queues j (its fields set); its done() runs on the loop later, never from inside this call. */
void mover_submit(struct mover *m, struct mover_job *j);
/* Is a job queued or running on (dev, ino)? */
bool mover_busy(const struct mover *m, uint64_t dev, uint64_t ino);
/* Is a job of another lane than lane queued or running on (dev, ino)? */
bool mover_busy_beside(const struct mover *m, enum mover_lane lane, uint64_t dev, uint64_t ino);
/* Seconds a running job has run so far (for its rate). */
double mover_job_elapsed(const struct mover_job *j);
/*
 * Jobs queued or running, and results not applied yet; but the remote lane's,
 * which take as long as a network does: settle, a reload and a pass wait for
 * no upload (a bucket that hangs would hold them all).
 */
size_t mover_pending(const struct mover *m);
size_t mover_queued(const struct mover *m, enum mover_lane lane);

/*
 * Paused: the running jobs finish, the queued ones are done as cancelled, no
 * new one starts; but an operator's (asked) run, queued or new.
 */
void mover_pause(struct mover *m, bool paused);

/* Called on the loop each time mover_pending() comes back to 0. */
void mover_on_idle(struct mover *m, void (*fn)(void *ud), void *ud);
/*
 * Called on the loop once a job's result is applied (its done() has run) and
 * no other job is left on its file: work put off because the file was busy
 * may go now. Also while the mover stops, for the jobs it cancels.
 */
void mover_on_free(struct mover *m, void (*fn)(void *ud, uint64_t dev, uint64_t ino), void *ud);

/* For run(): the daemon is stopping; give up at the next chunk (what is half done is undone). */
bool mover_stopping(const struct mover_job *j);
/* For run(): how many bytes are done so far. */
void mover_progress(struct mover_job *j, uint64_t moved);
/*
 * For run(), between chunks of a copy: done (the bytes of data copied, or of
 * the stream read) as the progress, never past bytes; false once the daemon
 * is stopping.
 */
bool mover_chunk_done(struct mover_job *j, uint64_t done);

/* A job's fields freed (path), and the job itself. */
void mover_job_free(struct mover_job *j);

/* Every job queued or running, in order, for status: fn gets each. */
void mover_foreach(struct mover *m, void (*fn)(const struct mover_job *j, bool running, void *ud),
		   void *ud);

/* Totals since start: bytes moved by finished jobs, jobs done. */
struct mover_totals {
	uint64_t bytes, jobs, cancelled;
};
struct mover_totals mover_totals(const struct mover *m);

#endif
