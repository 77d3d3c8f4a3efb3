#ifndef SWEEPD_SWEEP_H
#define SWEEPD_SWEEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sweep_run.h"

struct config;
struct engine_parts;
struct json_object;

/*
 * The sweeper: acts on what the policy says is due, the moment it is due.
 * Files arrive (watch batches), deadlines pass (one timer at the next one),
 * disks fill (checked on arrivals and by housekeeping). Each file is checked
 * again through its directory, under a read lease, right before it moves.
 */
struct sweep;

/* Why a zone or a filesystem cannot reach its target: said once per episode. */
struct sweep_episode {
	bool active;
	const char *why;
	uint64_t bytes; /* out of reach */
};

/* The sweeper of parts->cfg's zones (parts copied: see engine.h); NULL when out of memory. */
struct sweep *sweep_create(const struct engine_parts *parts);
struct zone_config;
struct table_file;
/* f's absolute path into buf, and its path relative to the zone root into rel. */
int sweep_file_path(const struct zone_config *zc, const struct table_file *f, char *buf,
		    size_t len, char *rel, size_t rlen);
void sweep_destroy(struct sweep *s);
/*
 * After a reload (the table already new): cfg is the configuration from now
 * on, and zone j keeps what was known of old zone old_of_new[j] (-1: a new
 * zone). 0 or -ENOMEM.
 */
int sweep_reconfigure(struct sweep *s, const struct config *cfg, const int *old_of_new);

/* What the rules say is due now, as the daemon runs (dry when it is; nothing while paused). */
void sweep_due(struct sweep *s);
/* Everything due now, batch after batch, until nothing more is due. */
void sweep_all(struct sweep *s, struct sweep_run *run);
/* When the last pass that could act ended (Unix s); 0: none yet. */
int64_t sweep_last_run(const struct sweep *s);
/* The slow duties: disks filled by others, writes seen long ago forgotten. */
void sweep_housekeeping(struct sweep *s);

/* A reservation: room for bytes more in zone, within its limits and under the high mark. */
struct sweep_reserve {
	size_t zone;
	uint64_t bytes;
	/* after an attempt: what is still missing, and what blocks it */
	uint64_t zone_missing, files_missing, disk_missing;
	const char *why;
};
/* One attempt: sweeps what the zone's rules allow towards the room; fills in what is missing. */
void sweep_reserve(struct sweep *s, struct sweep_run *run, struct sweep_reserve *r);

/* Purges archive entries older than older_than seconds (and what keep and max_size say). */
void sweep_purge(struct sweep *s, int64_t older_than, struct sweep_run *run);
/* A file an operator restored (inode, and mtime as restored) is left alone for one review window. */
void sweep_hold(struct sweep *s, uint64_t dev, uint64_t ino, int64_t mtime);
/*
 * A file a restore is putting at path (absolute) is held from the moment it
 * appears, before its inode is known: until sweep_unhold_path (then
 * sweep_hold by its inode). 0 or -ENOMEM.
 */
int sweep_hold_path(struct sweep *s, const char *path);
/* Until when an operator's restore holds f (0: it is not held). */
int64_t sweep_held_until(struct sweep *s, const struct table_file *f, int64_t now);
void sweep_unhold_path(struct sweep *s, const char *path);

/* Why the zone's directory in the archive cannot take its files, or NULL. */
const char *sweep_archive_blocked(const struct sweep *s, size_t zone);
const struct sweep_episode *sweep_zone_episode(const struct sweep *s, size_t zone);
/* The filesystem's state: under pressure (between the marks), and its episode. */
const struct sweep_episode *sweep_fs_episode(const struct sweep *s, uint64_t dev,
					     bool *pressure);
/* The filesystems holding zones, each once (k < sweep_fs_count): its episode, and a zone path on it. */
size_t sweep_fs_count(const struct sweep *s);
const struct sweep_episode *sweep_fs_at(const struct sweep *s, size_t k, const char **probe);
/* The archive is full: an episode too. */
const struct sweep_episode *sweep_archive_episode(const struct sweep *s);

/* The remote tier's work: status.archive.remote, the remote_failing alarm, the metrics. */
struct sweep_remote_stats {
	uint64_t uploads, uploaded_bytes, failures, purged;
	uint64_t waiting_files, waiting_bytes; /* due to leave the local archive, still there */
	uint64_t waiting_failed; /* of those, files whose last upload failed */
	bool failing;	       /* some file waits after a failed upload */
	int64_t failing_since;
	char last_error[1200];
};
const struct sweep_remote_stats *sweep_remote_stats(const struct sweep *s);
/* The object at rpath (s3://bucket/key) deleted from the bucket: its entry restored. */
void sweep_remote_delete(struct sweep *s, const char *rpath);

#endif
