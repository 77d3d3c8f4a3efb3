#ifndef SWEEPD_AUDIT_H
#define SWEEPD_AUDIT_H

#include <stdbool.h>
#include <stdint.h>

#include "policy.h"

struct json_object;

/*
 * The audit log, state_dir/audit.log: one JSON object a line for every
 * action, appended with one write so that lines never interleave.
 */
struct audit;

struct audit *audit_open(const char *state_dir);
void audit_close(struct audit *a);

/* One action as a JSON object (the audit line and the reply's entry). */
struct json_object *audit_entry(int64_t when, const char *action, const char *zone,
				const char *path, uint64_t bytes, enum policy_reason reason,
				bool dry_run, const char *archive_path);
/* Appends it (the caller keeps the object); returns 0 or -errno. */
int audit_write(struct audit *a, struct json_object *entry);
/*
 * Appends it, says it in the daemon's log (one line, unless it is a dry run's),
 * then hands it to actions (a reply's array), or frees it when actions is NULL.
 */
void audit_report(struct audit *a, struct json_object *actions, struct json_object *entry);
/*
 * The last entries written (up to 20, kept in memory since the daemon
 * started), newest first, as a new array that shares them: for the dashboard.
 */
struct json_object *audit_recent(const struct audit *a);

#endif
