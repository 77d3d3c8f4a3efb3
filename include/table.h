#ifndef SWEEPD_TABLE_H
#define SWEEPD_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The accounting table: every regular file of every zone, the directories
 * that hold them, per-zone totals and an age index. Pure data: no I/O, no
 * logging. Times are Unix seconds.
 */

enum {
	TF_WRITING = 1 << 0, /* some process has it open for writing */
	TF_LINKED = 1 << 1,  /* st_nlink > 1: its blocks are shared through the inode map */
	TF_SEEN = 1 << 2,    /* found by the rescan under way */
	TF_CHECK = 1 << 3,   /* queued for an open-for-writing check */
	TF_WRITTEN = 1 << 4, /* a write was seen: the table keeps its time */
	TF_PICKED = 1 << 5,  /* chosen by the sweep pass under way */
	TF_REPORTED = 1 << 6, /* a dry run has reported it already */
	TF_READ = 1 << 7,     /* an access by another process was seen: the table keeps its time */
};

enum {
	TD_DEAD = 1 << 0,
	TD_RESCAN = 1 << 1, /* inside the subtree being rescanned */
	TD_SEEN = 1 << 2,
	TD_UNWATCHED = 1 << 3, /* no inotify watch: rescanned by timer and settle */
};

struct table_dir {
	struct table_dir *parent; /* NULL for a zone root */
	struct table_dir *first_child, *next_sibling, *prev_sibling;
	char *name; /* "" for a zone root */
	uint64_t dev, ino;
	uint32_t zone;
	uint32_t nfiles; /* files directly inside */
	int wd;		 /* -1 when not watched */
	uint8_t flags;
};

struct table_file {
	struct table_dir *dir;
	uint64_t size, blocks, ino; /* blocks: st_blocks, 512-byte units */
	int64_t mtime, atime;
	uint32_t heap_idx, use_idx;
	uint8_t flags;
	uint8_t self_opens; /* our own opens whose events are still to come */
	char name[];
};

/* What the table needs of a stat(2). */
struct table_stat {
	uint64_t size, blocks, ino, nlink;
	int64_t mtime, atime;
};

/* A min-heap of every file of a zone: by mtime, or by last use (the later of atime and mtime). */
struct table_heap {
	struct table_file **v;
	size_t len, cap;
	bool by_use;
};

struct table_zone {
	uint64_t files, bytes, disk_bytes, open_files;
	uint64_t changes; /* bumped by every change to its files */
	struct table_heap age; /* by mtime */
	struct table_heap use; /* by last use; empty unless table_zone_track_use() */
	struct u64map *inodes; /* hard-linked inodes: counted once */
	struct table_dir *root;
};

struct table;

struct table *table_create(size_t n_zones);
void table_destroy(struct table *t);
struct table_zone *table_zone(struct table *t, size_t zone);
/*
 * A new list of zones: new zone j is old zone old_of_new[j], whose files and
 * directories it keeps, or a new empty one (-1). Old zones not named are
 * dropped with everything in them (on_dir sees each directory first).
 * 0, or -ENOMEM with the table unchanged.
 */
int table_remap(struct table *t, const int *old_of_new, size_t n_new,
		void (*on_dir)(struct table_dir *, void *), void *ud);
size_t table_files(const struct table *t);

/* Directories. The zone root is the child of NULL named "". */
struct table_dir *table_dir_add(struct table *t, struct table_dir *parent, uint32_t zone,
				const char *name, uint64_t dev, uint64_t ino);
struct table_dir *table_dir_child(struct table_dir *parent, const char *name);
int table_dir_set_wd(struct table *t, struct table_dir *d, int wd);
struct table_dir *table_dir_by_wd(struct table *t, int wd);
/* Moves d (and its subtree) under new_parent as new_name, in the same zone. */
int table_dir_move(struct table *t, struct table_dir *d, struct table_dir *new_parent,
		   const char *new_name);
/* Removes d, its subdirectories and their files; on_dir sees each directory first. */
void table_dir_remove(struct table *t, struct table_dir *d,
		      void (*on_dir)(struct table_dir *, void *), void *ud);
/* The path relative to the zone root ("" for the root) into buf; -ENAMETOOLONG. */
int table_dir_relpath(const struct table_dir *d, char *buf, size_t len);
int table_file_relpath(const struct table_file *f, char *buf, size_t len);
/* The same on the heap, whatever its length (past PATH_MAX too); NULL when out of memory. */
char *table_dir_relpath_dup(const struct table_dir *d);
char *table_file_relpath_dup(const struct table_file *f);

/* Files. */
struct table_file *table_file_get(struct table *t, struct table_dir *d, const char *name);
/* By path relative to the zone's root ("" for the root), or NULL. */
struct table_dir *table_dir_find(struct table *t, size_t zone, const char *rel);
/* The file at rel in zone, if it is still inode ino; else NULL. */
struct table_file *table_file_find(struct table *t, size_t zone, const char *rel, uint64_t ino);
/* Inserts or updates; returns the file or NULL when out of memory. */
/*
 * Counts once, with the rest of their inode, the names that were counted alone
 * before a hard link to them appeared (link(2) tells nothing about the first
 * name). Call at the end of each batch of changes; cheap when there was none.
 */
void table_links_settle(struct table *t);
struct table_file *table_file_put(struct table *t, struct table_dir *d, const char *name,
				  const struct table_stat *st);
void table_file_remove(struct table *t, struct table_file *f);
void table_file_set_writing(struct table *t, struct table_file *f, bool writing);
void table_file_set_access(struct table *t, struct table_file *f, int64_t when);

/* The file with the oldest mtime in a zone, or NULL: O(1); updates are O(log n). */
struct table_file *table_zone_oldest(struct table *t, size_t zone);

/* Also keeps the zone ordered by last use (for max_idle); 0 or -ENOMEM. */
int table_zone_track_use(struct table *t, size_t zone);
/* The later of the file's atime (and accesses seen) and its mtime. */
int64_t table_file_last_use(const struct table_file *f);

/*
 * Files of a zone in ascending mtime (or last use) order, lazily: the first
 * k cost O(k log k). The table must not change while it is used.
 */
struct table_iter {
	struct table_heap *h;
	size_t *idx, n, cap;
	bool failed;
};
void table_iter_init(struct table_iter *it, struct table *t, size_t zone, bool by_use);
struct table_file *table_iter_next(struct table_iter *it);
void table_iter_done(struct table_iter *it);

/* Writes seen by the daemon, for min_age: their time is kept until pruned (as accesses). */
void table_file_note_write(struct table *t, struct table_file *f, int64_t when);
/* The later of mtime and the last write seen. */
int64_t table_file_last_write(const struct table *t, const struct table_file *f);
/* Forgets writes seen before writes_before, accesses seen before reads_before. */
void table_prune_seen(struct table *t, int64_t writes_before, int64_t reads_before);

enum table_order { TABLE_BY_SIZE, TABLE_BY_AGE };
/* Up to n files of the zone, largest or oldest first; returns how many. */
size_t table_top(struct table *t, size_t zone, enum table_order by, struct table_file **out,
		 size_t n);

/* Rescan support: mark a subtree, let the scanner set TF_SEEN/TD_SEEN, then sweep. */
void table_rescan_begin(struct table *t, struct table_dir *d);
void table_rescan_end(struct table *t, struct table_dir *d,
		      void (*on_dir)(struct table_dir *, void *), void *ud);

/* Calls fn for every file (any order); fn must not change the table. */
void table_foreach_file(struct table *t, void (*fn)(struct table_file *, void *), void *ud);

#endif
