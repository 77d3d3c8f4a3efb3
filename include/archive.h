#ifndef SWEEPD_ARCHIVE_H
#define SWEEPD_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "archive_index.h"
#include "config.h"

struct lease_held;

/*
 * The soft-delete archive: archive.path mirrors zone/relative path. Within
 * one filesystem a file moves by one rename; across filesystems it is copied
 * (compressed where it pays), made durable, linked into place, and only then
 * removed from its zone, under a journal in state_dir that recovery replays
 * at start: after a crash at any instant each file is whole in exactly one
 * place. The index (state_dir/archive.idx) is reconciled with the tree at
 * every start and rebuilt from it when lost.
 */
struct archive;

/*
 * What opening the archive found: recovered (half-done moves undone) means
 * a crash; dropped (entries whose file is gone) and found
 * (its own files indexed again) a rebuild; disowned (entries an older sweepd
 * made for files it cannot show it put there: dropped, the files left alone),
 * foreign and foreign_dirs what is someone else's and left alone.
 */
struct archive_report {
	uint64_t recovered, dropped, found, disowned, foreign, foreign_dirs;
	bool shared;   /* the directory held other files when sweepd first used it */
	bool no_marks; /* its filesystem keeps no extended attributes */
	bool no_index; /* state_dir held no index: the bucket's listing is its part of it */
};

/* Creates the archive directory if needed, recovers, loads the index; NULL with err. */
struct archive *archive_open(const struct config *cfg, struct archive_report *rep, char *err,
			     size_t errlen);
/* After a reload: the new config (its archive path is the same). */
void archive_set_config(struct archive *a, const struct config *cfg);
void archive_close(struct archive *a);

/* The entries of the local archive, and those in the bucket (archive.remote). */
struct archive_index *archive_entries(struct archive *a);
struct archive_index *archive_remote_entries(struct archive *a);
/* An entry of either, by id; the newest by its original (or archive) path. */
struct archive_entry *archive_find(struct archive *a, uint64_t id);
struct archive_entry *archive_find_path(struct archive *a, const char *path);
uint64_t archive_dev(const struct archive *a);
const char *archive_path(const struct archive *a);

/* What a move into the archive is told, copied out of the config (a reload may free it). */
struct archive_opts {
	int compress; /* COMPRESS_* */
	int level;
	/*
	 * Asked between chunks of a copy, with the bytes done (of the source's data,
	 * or of the stream read); false: give up (the move is undone). NULL: go on.
	 */
	bool (*keep_going)(void *ud, uint64_t done);
	/*
	 * Asked right before the file's name is changed (renamed into the archive, or
	 * unlinked once copied), with the directory it is reached through: 0 when
	 * that directory is still where the job found it, else -ESTALE (someone who
	 * owns it moved it, perhaps out of every zone: nothing is changed there, a
	 * copy is dropped). NULL: not asked.
	 */
	int (*in_place)(const void *ud, int dir);
	void *ud;
};

/*
 * Moves the file held open and leased in h (named name in dirfd, rel in its
 * zone) into the archive, off the loop (it touches no shared state but the
 * journal, kept by one thread). e comes in with zone, path (where it was),
 * reason and archived_at; 0 with e filled in (apath malloc'd), to be
 * committed by archive_commit(); -EBUSY when a writer opened it meanwhile
 * (it stays where it was); -ESTALE when its directory was moved away
 * meanwhile (in_place); -ENOSPC or -EDQUOT when the archive is full;
 * -ENOENT when it vanished; -EACCES when a directory it would go into is not
 * sweepd's (someone else's, or writable by others); -ECANCELED when
 * keep_going said stop; other -errno. Nothing is lost either way.
 */
int archive_store_io(struct archive *a, const struct archive_opts *o, const char *rel,
		     int dirfd, const char *name, struct lease_held *h, struct archive_entry *e);
/* On the loop: a stored file into the index (a copy of e); NULL when out of memory. */
struct archive_entry *archive_commit(struct archive *a, const struct archive_entry *e);
/*
 * Where a restore puts a file: rel beneath the directory base (a zone's
 * root, or / for root's own choice), whose path is base_abs ("" for /).
 * Each directory on the way below base must be safe for the file (see
 * archive_restore_io), but for the first trusted ones of rel: the zone's
 * root and those above it, which the configuration names, when root
 * restores into a zone from /.
 */
struct archive_dest {
	int base;
	const char *base_abs;
	const char *rel;
	bool same_mount; /* never onto another mount on the way (inside a zone) */
	size_t trusted;
};

/*
 * A restore, as a value a worker can run: what it needs of the entry and of
 * the request is copied in (the strings are the restore's own), and what it
 * found comes back in r, where and err.
 */
/*
 * Where a restore's bytes come from when they are not in the local archive
 * (an entry in the bucket): off the loop, describe says what the file is
 * (owner, mode, times, size: the checks of the way and the directories made
 * for it go by them), fill writes it whole into out (an unnamed file in the
 * destination's directory) with its owner, mode and times, made durable.
 * Each returns 0 or -errno with err set (a sentence, nothing moved).
 */
struct archive_source {
	int (*describe)(void *ud, struct stat *st, char *err, size_t errlen);
	int (*fill)(void *ud, int out, char *err, size_t errlen);
	void *ud;
};

struct archive_restore {
	uint64_t id;	 /* the entry's */
	const struct archive_source *from; /* NULL: the local copy at apath */
	char *apath;	 /* the entry's archived copy */
	bool compressed; /* the entry's */
	char *state_dir; /* never written into, under any name */
	struct archive_dest to; /* its base, base_abs and rel are the restore's own */
	/* As archive_opts' keep_going: between chunks, with the bytes done. */
	bool (*keep_going)(void *ud, uint64_t done);
	void *ud;
	char *where; /* on success, the path it went to (malloc'd) */
	char err[3 * 4096]; /* on failure, what went wrong, naming the path, and what to do */
};

/*
 * Off the loop: puts the archived copy back at to, making missing parent
 * directories (0700, the file's owner's and group's), through no symbolic
 * link, never overwriting (-EEXIST), decompressing as needed, with its mode,
 * owner and times. -EPERM when a directory on the way below to's base (but
 * the trusted ones) belongs to someone other than root, sweepd's user or the
 * file's owner, or is writable by its group or others without the sticky
 * bit: they could read the file there, or rename and replace it. Touches no
 * index: archive_forget() takes the entry out after success. On failure err
 * says what, and nothing was moved.
 */
int archive_restore_io(struct archive *a, struct archive_restore *rs);
/* A restore's own strings and descriptor. */
void archive_restore_clear(struct archive_restore *rs);

/* Off the loop: an entry's file removed for good; one already gone counts as done. */
int archive_unlink(struct archive *a, const char *apath);
/*
 * Off the loop, on the remote lane, once the bucket holds entry id's file
 * whole at apath (s3://bucket/key; stored bytes, sha256 of the original):
 * a durable line in the upload journal, before the local copy goes.
 */
int archive_remote_journal(struct archive *a, uint64_t id, const char *apath, uint64_t stored,
			   const char *sha256);
/*
 * On the loop: an entry found in the bucket's listing (a rebuild of a lost
 * index) into the remote index, unless one names its object already; rel is
 * its key after the prefix, which gives its zone and original path. The
 * entry (or the one there), or NULL when rel names no zone (or no memory).
 */
struct archive_entry *archive_remote_adopt(struct archive *a, const struct archive_entry *e,
					   const char *rel);
/* On the loop, after that: the entry made remote in the index; NULL when it is not there. */
struct archive_entry *archive_uploaded(struct archive *a, uint64_t id, const char *apath,
				       uint64_t stored, const char *sha256);
/* apath relative to the archive's root, or NULL when it is not inside. */
const char *archive_rel_of(const struct archive *a, const char *apath);
/* Off the loop: an entry's local copy opened to be read (through no link); fd or -errno. */
int archive_open_copy(struct archive *a, const char *apath);
/* On the loop: an entry out of the index (written to the index file), by its id. */
void archive_forget(struct archive *a, uint64_t id);

#endif
