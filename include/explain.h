#ifndef SWEEPD_EXPLAIN_H
#define SWEEPD_EXPLAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

struct json_object;
struct zone_config;

/*
 * The explain command's verdict on one path: which zone and rule apply,
 * whether the file is kept, due, blocked or outside every zone, why in a
 * sentence, when it becomes due, and who writes it. Pure: the daemon
 * gathers the facts (explain_daemon.c), this says what they mean.
 */

struct explain_writer {
	int pid;
	char comm[16];
};

struct explain_facts {
	const char *path;	 /* cleaned, absolute (file-system bytes) */
	const struct zone_config *z; /* NULL: outside every zone */
	const char *outside;	 /* with z NULL: why ("inside the archive", ...), or NULL */
	bool matched;		 /* include and exclude let it in */
	bool tracked;		 /* in the table */
	uint64_t size;
	int64_t mtime, last_write, last_use;
	bool writing;
	int64_t held_until; /* an operator restored it: left alone until then; 0: not held */
	const struct explain_writer *writers;
	size_t n_writers, hidden; /* hidden: processes whose descriptors could not be read */
	struct policy_excess excess; /* what the zone holds beyond max_size and max_files */
	bool picked_by_size;	     /* among the oldest files the excess takes */
	bool disk_pressure;	     /* its filesystem is above its high mark */
	/* A rotating zone's file: the group it (a copy: its log) follows, 0-based, of n_groups. */
	bool is_log, is_copy;
	const struct rotate_config *group;
	size_t group_index;
	int64_t last_rotation; /* 0: not known */
	const char *rotate_blocked; /* why its rotation is blocked, or NULL */
	bool paused, dry_run;
	int64_t now;
};

/*
 * Into o: path, zone, rule, state, why, due_at, writers, and a log's group
 * (its number in the zone's rotate list, from 1), group_include,
 * next_rotation_at, size_trigger.
 */
void explain_verdict(const struct explain_facts *f, struct json_object *o);

#endif
