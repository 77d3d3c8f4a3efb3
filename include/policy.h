#ifndef SWEEPD_POLICY_H
#define SWEEPD_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

/*
 * The decisions, apart from every I/O: when a file falls due, whether it may
 * be touched, how much a quota or a disk asks to free. Times are Unix
 * seconds. No state, no logging.
 */

enum policy_reason {
	REASON_NONE,
	REASON_MAX_AGE,
	REASON_MAX_IDLE,
	REASON_MAX_SIZE,
	REASON_MAX_FILES,
	REASON_DISK_HIGH,
	REASON_ARCHIVE_KEEP,
	REASON_ARCHIVE_MAX_SIZE,
	REASON_MANUAL,
	REASON_ROTATE_SIZE,
	REASON_ROTATE_EVERY,
	REASON_REMOTE_KEEP,
	REASON_REBUILT, /* an archive entry found in the tree, its reason lost with the index */
};

/* The audit log's name of a reason ("max_age", ...); parse returns REASON_NONE if unknown. */
const char *policy_reason_name(enum policy_reason r);
enum policy_reason policy_reason_parse(const char *s);

#define POLICY_NEVER INT64_MAX

/* The first second at which mtime makes the file due by max_age, or POLICY_NEVER. */
int64_t policy_age_due(const struct zone_config *z, int64_t mtime);
/* The first second at which its last use makes it due by max_idle, or POLICY_NEVER. */
int64_t policy_idle_due(const struct zone_config *z, int64_t last_use);
/* The first second at which min_age lets it be touched. */
int64_t policy_touchable_at(const struct zone_config *z, int64_t last_write);

enum policy_block {
	POLICY_FREE,
	POLICY_WRITING,	 /* open for writing */
	POLICY_TOO_YOUNG, /* written within min_age */
	POLICY_HELD,	 /* restored by an operator: left alone for a while */
	POLICY_FAILING,	 /* its move failed lately: tried again later (the sweeper's) */
	POLICY_TOO_DEEP, /* its path is too long for the archive to mirror (the sweeper's) */
};
/* Whether a file may be touched now; a reason it may not, else POLICY_FREE. */
enum policy_block policy_block(const struct zone_config *z, bool writing, bool held,
			       int64_t last_write, int64_t now);
const char *policy_block_name(enum policy_block b);

/* What a zone holds beyond max_size and max_files (0 when within). */
struct policy_excess {
	uint64_t bytes, files;
};
struct policy_excess policy_zone_excess(const struct zone_config *z, uint64_t bytes,
					uint64_t files);

/*
 * Disk watermarks with hysteresis: pressure starts above high and lasts until
 * used is back at or under low. Returns the new state; *need is what to free.
 */
bool policy_disk_pressure(double high_pct, double low_pct, uint64_t size, uint64_t used,
			  bool active, uint64_t *need);

/* A mark (a percentage of size) in bytes, as the disk passes count it. */
uint64_t policy_mark_bytes(double pct, uint64_t size);
/* Room for want more bytes at or under the high mark: what to free first (0: there is room). */
uint64_t policy_disk_room(double high_pct, uint64_t size, uint64_t used, uint64_t want);

/* Archive: due by keep (POLICY_NEVER when keep is unset). */
int64_t policy_archive_due(int64_t keep, int64_t archived_at);

#endif
