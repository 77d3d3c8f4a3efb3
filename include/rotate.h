#ifndef SWEEPD_ROTATE_H
#define SWEEPD_ROTATE_H

#include <stddef.h>
#include <stdint.h>

struct engine_parts;
struct sweep_run;
struct json_object;

/*
 * The rotator: every zone with a `rotate` group. A live log is rotated the
 * moment it crosses `size` (seen from the watch, no polling) and when
 * `every` has passed since its last rotation (one timer at the next one).
 * Copies compressed with zstd, `keep` and `max_age` applied to them, and a
 * copy moved aside by "rename" compressed once its writer has closed it.
 */
struct rotate;

/* The rotator of parts->cfg's zones (parts copied: see engine.h); NULL when out of memory. */
struct rotate *rotate_create(const struct engine_parts *parts);
void rotate_destroy(struct rotate *r);
/*
 * sweepd stops: the prerotates it waits for are let go (each goes on alone;
 * its log is not cut), and the rotate requests waiting for them answered, while
 * their clients are still there (before the control socket goes).
 */
void rotate_stopping(struct rotate *r);
/*
 * After a reload (cfg: the configuration from now on): what was known per
 * file is saved under the one before, then found again from the copies on
 * disk and rotations.json.
 */
struct config;
void rotate_reconfigure(struct rotate *r, const struct config *cfg);
/* What is due now: files over their size, copies whose writer has closed them. */
void rotate_due(struct rotate *r);
/* The slow duties: copies past max_age, compressions still waiting. */
void rotate_housekeeping(struct rotate *r);
/*
 * The rotate command: every non-empty live log of zone (-1: every zone that
 * rotates), now: a job each for the mover's logs lane. Actions go to run
 * and what failed, one sentence each, to errors, as the jobs come back (run
 * held by each: its finished() says when all are in). Returns how many
 * could not even be queued.
 */
size_t rotate_now(struct rotate *r, int zone, struct sweep_run *run, struct json_object *errors);

/*
 * For mover_on_free: no job is left on the file (dev, ino). A log put off
 * because one was is looked at again (the rotate command's: cut now).
 */
void rotate_file_free(void *rotate, uint64_t dev, uint64_t ino);

/*
 * rotate_blocked, into the alarms' round under way: each log not cut in
 * place because a writer lacks O_APPEND (labels zone, path, pid, comm).
 */
struct alarms;
struct table_file;
void rotate_alarms(struct rotate *r, struct alarms *a, int64_t now);
/* For explain: a live log's last rotation (or when it was first seen), and why it is blocked (or NULL). */
void rotate_log_state(struct rotate *r, uint32_t zone, struct table_file *f, int64_t *last,
		      const char **blocked);

#endif
