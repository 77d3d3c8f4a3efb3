#ifndef SWEEPD_TABLE_IMPL_H
#define SWEEPD_TABLE_IMPL_H

/*
 * The table's own state, shared by the files that make it, and by no other
 * module:
 *   table.c       making and ending it, files (the hash), zone totals, reloads
 *   table_heap.c  each zone's files by age and by last use; iteration, top
 *   table_seen.c  writes and accesses the daemon saw, kept aside
 *   table_dir.c   directories: the tree, watches, rescans, relative paths
 * All pure: no I/O, no logging.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct slab;
struct table_file;
struct table_heap;
struct table_zone;
struct u64map;

struct table {
	struct table_zone *zones;
	size_t n_zones;
	/* Every file of every zone, by (directory, name): open addressing. */
	struct table_file **slots;
	size_t cap, len;
	struct u64map *wds;
	struct u64map *writes, *reads; /* file -> last write (read) seen, while it matters */
	struct slab *slab;
	bool links_new; /* an inode became hard-linked: see table_links_settle() */
};

/* table_heap.c: f into, out of, or moved in a zone's heap after its key changed. */
int table_heap_push(struct table_heap *h, struct table_file *f);
void table_heap_remove(struct table_heap *h, struct table_file *f);
void table_heap_fix(struct table_heap *h, struct table_file *f);

/*
 * table_seen.c: a write or an access (flag TF_WRITTEN or TF_READ) seen at
 * when; the last one seen (INT64_MIN: none); f's forgotten.
 */
void table_seen_note(struct table *t, struct table_file *f, uint8_t flag, int64_t when);
int64_t table_seen_get(const struct table *t, const struct table_file *f, uint8_t flag);
void table_seen_forget(struct table *t, struct table_file *f);

#endif
