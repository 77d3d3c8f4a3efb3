#ifndef SWEEPD_ARCHIVE_INDEX_H
#define SWEEPD_ARCHIVE_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

/*
 * What the archive holds: one entry per soft-deleted file, oldest first. Pure
 * data: the archive module keeps it in step with the tree and the index file
 * in state_dir, one JSON object a line ("add" or "del").
 */
struct archive_entry {
	uint64_t id;
	char *zone;
	char *path;  /* where it was: absolute, file-system bytes */
	char *apath; /* where it is: absolute, in the archive; or s3://bucket/key (remote) */
	char *sha256; /* of the original bytes, hex; NULL until an upload computed it */
	uint64_t bytes;	 /* its size in the zone */
	uint64_t stored; /* what it takes in the archive on disk, as du counts it; or the object's size */
	int64_t archived_at;
	enum policy_reason reason;
	bool compressed;
	bool remote; /* in the bucket (location "remote"), no longer in the local archive */
	bool marked; /* its file carries the mark (in the index file, not in replies) */
	bool dead;
	bool reported; /* a dry daemon reported its purge already */
	bool busy; /* a restore job has its file: neither purged nor restored again meanwhile */
	uint32_t fails;	  /* uploads failed in a row (not in the index file) */
	int64_t retry_at; /* not uploaded again before */
};

struct archive_index {
	struct archive_entry *v; /* by archived_at, then id; dead ones until compacted */
	size_t n, cap, head, live;
	uint64_t stored, bytes, next_id; /* totals of the live entries' stored and bytes */
	struct u64map *by_id; /* id -> position + 1 */
};

struct archive_index *archive_index_create(void);
void archive_index_destroy(struct archive_index *ix);

/* Takes a copy of e; e->id 0 means "give it the next id". Returns the entry or NULL. */
struct archive_entry *archive_index_add(struct archive_index *ix, const struct archive_entry *e);
struct archive_entry *archive_index_get(struct archive_index *ix, uint64_t id);
/* The newest live entry whose original path (or archive path) is path. */
struct archive_entry *archive_index_find_path(struct archive_index *ix, const char *path);
void archive_index_remove(struct archive_index *ix, struct archive_entry *e);
/* The oldest live entry, or NULL. */
struct archive_entry *archive_index_oldest(struct archive_index *ix);
/* Live entries in order: pass NULL first. */
struct archive_entry *archive_index_next(struct archive_index *ix, struct archive_entry *e);
/* Drops dead entries (entry pointers change). */
int archive_index_compact(struct archive_index *ix);

/* An entry as a JSON object: the archive command's entries, and the index's lines. */
struct json_object;
struct json_object *archive_index_json(const struct archive_entry *e);
/* One index line, with its newline (malloc'd): "add" for an entry, "del" for its removal. */
char *archive_index_line(const struct archive_entry *e, bool add);
/* Applies one line; -EINVAL when it is not one. */
int archive_index_apply(struct archive_index *ix, const char *line);

/*
 * The mark sweepd writes with each file it puts in the archive (the value of
 * the extended attribute ARCHIVE_MARK_XATTR): when, why, its original size and
 * whether it is compressed, so that a rebuild of a lost index knows its own
 * files from anyone else's and loses nothing but nothing. Returns its length.
 */
#define ARCHIVE_MARK_XATTR "user.sweepd.archived"
#define ARCHIVE_MARK_MAX 96
int archive_index_mark(const struct archive_entry *e, char *buf, size_t len);
/* Fills archived_at, reason, bytes and compressed from a mark; -EINVAL when v is not one. */
int archive_index_mark_parse(const char *v, size_t n, struct archive_entry *e);

#endif
