#ifndef SWEEPD_LOGCUT_H
#define SWEEPD_LOGCUT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

/*
 * Cutting a live log: one rotation of one open file, by one method. The
 * rotated copy is made unnamed (O_TMPFILE) in its directory, written whole
 * and synced, and only then given its name: a crash leaves no half copy.
 * Each returns 0 or -errno.
 */

struct logcut_copy {
	int dirfd;	/* the directory the copy goes into (a real descriptor) */
	const char *name; /* its name there */
	int level;	/* zstd level; 0: a plain copy */
	const struct stat *like; /* the live file: the copy gets its mode and owner */
	/* Between chunks, with the bytes read so far (each copy reads from 0): false stops it. */
	bool (*keep_going)(void *ud, uint64_t done);
	/*
	 * Right before a name is made or removed in dirfd: 0 while dirfd is still
	 * where the job found it, else -ESTALE (its owner moved it, perhaps out of
	 * every zone: nothing is named or removed there). NULL: not asked.
	 */
	int (*in_place)(const void *ud, int dir);
	void *ud;
};

/* Whether the filesystem of fd cuts with FALLOC_FL_COLLAPSE_RANGE (ext4, xfs). */
bool logcut_can_collapse(int fd);

/*
 * collapse: copies the file's whole blocks but the last into the copy, then
 * cuts exactly those bytes out of the live file in place. A writer appending
 * goes on at the new end; no byte is lost or doubled. *cut: the bytes moved
 * (0 when the file holds less than two blocks: nothing done).
 */
int logcut_collapse(int fd, const struct logcut_copy *c, uint64_t *cut);

/*
 * copytruncate: copies the file as it grows, then in one breath reads what
 * is left and truncates it to 0; what a writer appends between that last
 * read and the truncate is lost. With writer, so is a last line not yet
 * finished (it may be half written): the copy ends at a line's end. *cut:
 * the bytes copied.
 */
int logcut_copytruncate(int fd, const struct logcut_copy *c, bool writer, uint64_t *cut);

/*
 * keep_tail_lines: cuts fd (opened for writing) down to its last lines
 * lines, in place. With no writer the rest is moved to the front and the
 * file truncated: exactly the last lines remain. With a writer only whole
 * blocks can go (collapse): the last lines stay with less than one block of
 * what came before them. -EOPNOTSUPP: a writer, and no collapse here.
 */
int logcut_tail(int fd, int64_t lines, bool writer, uint64_t *cut);

/*
 * Compresses what in holds (the file c->dirfd/plain, opened and checked by the
 * caller) into c->name there (the level taken as at least 1), then removes
 * plain if it still names that file; -ESTALE (and no copy made) if not.
 */
int logcut_compress(int in, const char *plain, const struct logcut_copy *c);

#endif
