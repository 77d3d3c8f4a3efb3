#ifndef SWEEPD_WRITERS_H
#define SWEEPD_WRITERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

/*
 * Who holds a file open for writing, from /proc: each process's descriptors
 * (/proc/PID/fd), their open flags (/proc/PID/fdinfo/FD) and its command
 * (/proc/PID/comm). Another user's entries are readable only with privilege:
 * what cannot be read is said, never guessed.
 */

/*
 * Called for each descriptor of another process open for writing on a
 * regular file: fdd is /proc/PID/fd, fd the descriptor's name there. Returns
 * true to stop the walk.
 */
typedef bool (*writers_fn)(void *ud, int pid, int fdd, const char *fd, const struct stat *st);

/*
 * Every process but this one. *hidden (may be NULL): processes whose
 * descriptors could not be read. Returns 0 or -errno (no /proc).
 */
int writers_walk(writers_fn fn, void *ud, size_t *hidden);

/* One descriptor open for writing on a file. */
struct writers_fd {
	int pid;
	int fd;
	int flags;	/* its open flags, or -errno when they could not be read */
	char comm[16]; /* the process's command, or "?" */
};

/*
 * Every descriptor of another process open for writing on (dev, ino); *out
 * is malloc'd (NULL when none). *hidden: processes whose descriptors could
 * not be read. Returns 0 or -errno.
 */
int writers_of(uint64_t dev, uint64_t ino, struct writers_fd **out, size_t *n, size_t *hidden);

/* The open flags in the text of /proc/PID/fdinfo/FD ("flags:\t02100001"), or -EINVAL. */
int writers_parse_flags(const char *text);

/*
 * The first descriptor that an in-place cut would leave a hole under: one
 * without O_APPEND, or whose flags are unknown. NULL: every one appends.
 */
const struct writers_fd *writers_unsafe(const struct writers_fd *v, size_t n);

/*
 * Every descriptor open for writing on a regular file, from one walk of /proc,
 * for a pass that looks at many files (a thousand blocked logs must not cost
 * a thousand walks). NULL when /proc cannot be read or memory runs out.
 */
struct writers_snap;
struct writers_snap *writers_snap_take(void);
void writers_snap_free(struct writers_snap *s);
/*
 * Does a descriptor in the snapshot that is still open write (dev, ino)
 * without O_APPEND (or with flags that cannot be read)? *out says which.
 * false says nothing of descriptors opened since: ask writers_of() then.
 */
bool writers_snap_unsafe(const struct writers_snap *s, uint64_t dev, uint64_t ino,
			 struct writers_fd *out);

#endif
