#ifndef SWEEPD_ROTPLAN_H
#define SWEEPD_ROTPLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Log rotation's decisions, apart from the files: the names of rotated
 * copies, which copies go, how much of a live file may be cut, when a file
 * is due. Pure: no I/O.
 *
 * A copy of BASE is named BASE-YYYYmmddTHHMMSS.uuuuuuZ (UTC, fixed width, so
 * that names sort by time), with ".zst" when compressed.
 */

#define ROTPLAN_STAMP_LEN 24 /* "-20261122T101503.123456Z" */

/* Into buf (len bytes); returns 0 or -ENAMETOOLONG. */
int rotplan_name(char *buf, size_t len, const char *base, int64_t sec, long usec, bool zst);
/* Whether name is a copy of base (with its time in Unix seconds, and compressed or not). */
bool rotplan_parse(const char *name, const char *base, int64_t *when, bool *zst);
/* Whether name ends like a rotated copy of some file: never a live log. */
bool rotplan_is_copy(const char *name);

struct rotplan_copy {
	char *name;
	int64_t when;
	bool zst;
	bool drop; /* set by rotplan_expire */
	bool by_age;
};
/*
 * Sorts the copies newest first and marks for dropping those past the keep
 * newest (keep < 0: no limit) or older than max_age (< 0: no limit) at now.
 * Returns how many are marked.
 */
size_t rotplan_expire(struct rotplan_copy *v, size_t n, int64_t keep, int64_t max_age, int64_t now);

/* The head that collapse can cut from a file of size bytes: whole blocks, ending before the end. */
uint64_t rotplan_collapse_len(uint64_t size, uint64_t blksize);

/*
 * keep_tail_lines: scans buf (the n bytes before the part already scanned,
 * going backwards) for the start of the last *need lines. Returns the offset
 * in buf where they start, or -1 with *need lowered by the lines found.
 * The caller leaves a newline that ends the file out of the first buffer.
 */
long rotplan_tail_start(const char *buf, size_t n, int64_t *need);

/*
 * Due by size: at least limit bytes, and (for keep_tail_lines, whose cut may
 * leave more than limit) grown by a quarter of limit since the last cut left
 * floor bytes.
 */
bool rotplan_size_due(uint64_t size, int64_t limit, uint64_t floor);


/*
 * A name that glob pattern matches ('*' and '?' filled in, a class by its
 * first member), to test the rotated names against include. Returns false
 * when it cannot make one (a negated class).
 */
bool rotplan_glob_example(const char *pattern, char *buf, size_t len);

#endif
