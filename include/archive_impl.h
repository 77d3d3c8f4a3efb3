#ifndef SWEEPD_ARCHIVE_IMPL_H
#define SWEEPD_ARCHIVE_IMPL_H

/*
 * The archive's own state, shared by the files that make it, and by no other
 * module:
 *   archive.c            opening and closing; its directories, marks and claim
 *   archive_journal.c    the journal of the move under way, the index file
 *   archive_reconcile.c  the index brought in step with the tree at opening
 *   archive_move.c       files moved in (and across filesystems), purged
 *   archive_restore.c    files put back, the destination checked on the way
 *   archive_remote.c     the entries in the bucket, the upload journal
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

struct archive_entry;
struct archive_opts;
struct archive_report;
struct config;
struct lease_held;

/* At the archive's root: says sweepd uses this directory, and whether it was empty then. */
#define ARCHIVE_CLAIM ".sweepd-archive"

struct archive {
	const struct config *cfg;
	char *root; /* canonical */
	int root_fd;
	uint64_t dev;
	struct archive_index *ix;  /* what the local archive holds */
	struct archive_index *rix; /* what is in the bucket (archive_remote.c) */
	int idx_fd;
	int rjournal_fd; /* state_dir/remote.journal */
	char *idx_path;
	int journal_fd;
	bool xattrs;  /* its filesystem keeps user.* extended attributes: files carry marks */
	bool claimed; /* sweepd made the directory, or found it empty: all of it is sweepd's */
	bool no_index; /* there was no index file to read at opening */
};

/* archive.c */

/*
 * Each directory of rel beneath base, created (mode, uid:gid) where missing
 * when create, following no link: an O_RDONLY descriptor or -errno; with
 * own, -EACCES for a directory that is not sweepd's (archive_own_dir).
 */
int archive_open_dirs(int base, const char *rel, bool create, mode_t mode, uid_t uid, gid_t gid,
		      bool own);
/* "a/b/c" -> dir "a/b", base "c"; "c" -> dir "", base "c". */
void archive_split(const char *path, char *dir, size_t len, const char **base);
void archive_fsync_dir(int dir);
/* Whether sweepd may call a directory in the archive its own: its user's, mode 0700. */
bool archive_own_dir(const struct stat *st);
/* sweepd's mark on a file in the archive: written (over anyone's), cleared, read into e. */
int archive_mark_set(int fd, const struct archive_entry *e);
void archive_mark_clear(int fd);
bool archive_mark_get(int fd, struct archive_entry *e);

/* archive_journal.c */

/* The one move across filesystems under way: src (inode ino) to dst. */
int archive_journal_set(struct archive *a, const char *src, uint64_t ino, const char *dst);
void archive_journal_clear(struct archive *a);
/* At opening: a move a crash cut short undone; 1 when there was one. */
int archive_journal_recover(struct archive *a);
/* The index file: an entry added (or removed) at its end; read whole; written anew. */
int archive_idxfile_append(struct archive *a, const struct archive_entry *e, bool add);
void archive_idxfile_load(struct archive *a);
int archive_idxfile_rewrite(struct archive *a);

/* archive_reconcile.c */

/*
 * Where the file at rel in the archive ("zone/a/b.txt.~2~.zst") came from:
 * the zone's path + "/a/b.txt" (malloc'd; "" when the zone is no longer
 * configured), its zone in *zone (malloc'd); NULL when rel names no zone.
 */
char *archive_original_path(const struct config *cfg, const char *rel, bool compressed,
			    char **zone);
/* The index brought in step with the tree: what was dropped, found, and left alone, in rep. */
void archive_reconcile(struct archive *a, struct archive_report *rep);

/* archive_move.c */

/* Either end of a move across filesystems: a directory, a name in it, its absolute path. */
struct archive_end {
	int dir;
	const char *name, *abs;
	/* A destination's dir may be moved meanwhile: 0 if it is still where it was. */
	int (*in_place)(const void *ctx, int dir);
	const void *ctx;
};

/* An unnamed file in dir (O_TMPFILE), and its linking in as name, never over a file: -errno. */
int archive_open_tmpfile(int dir);
int archive_link_tmpfile(int fd, int dir, const char *name);
/* A move across filesystems, under the journal (see archive_move.c); 0 or -errno. */
int archive_move_across(struct archive *a, int fd, const struct stat *st,
			const struct archive_end *src, const struct archive_end *dst, int mode,
			int level, struct lease_held *h, const struct archive_opts *o,
			const struct archive_entry *mark, uint64_t *stored);
/* The empty directories of rel (a file's path in the archive) removed, deepest first. */
void archive_prune_dirs(struct archive *a, const char *rel);

/* archive_remote.c */

/* At opening, after the index file is read: the remote entries apart, the upload journal replayed. */
int archive_remote_open(struct archive *a);
/* Once the index file is written anew: the upload journal emptied. */
void archive_remote_journal_done(struct archive *a);

#endif
