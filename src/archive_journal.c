#include "archive.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive_impl.h"

/* The journal: the one move across filesystems under way. */

int archive_journal_set(struct archive *a, const char *src, uint64_t ino, const char *dst)
{
	char *rec = NULL;
	int n = asprintf(&rec, "sweepd-journal 1%c%s%c%llu%c%s%c", 0, src, 0,
			 (unsigned long long)ino, 0, dst, 0);
	int r = 0;

	if (n < 0)
		return -ENOMEM;
	if (ftruncate(a->journal_fd, 0) < 0 || pwrite(a->journal_fd, rec, (size_t)n, 0) != n ||
	    fdatasync(a->journal_fd) < 0)
		r = -errno;
	free(rec);
	return r;
}

void archive_journal_clear(struct archive *a)
{
	(void)!ftruncate(a->journal_fd, 0);
}

/*
 * A crash between linking the copy into place and removing the original
 * leaves both: the original (still the same inode) wins, the copy goes. A
 * crash before leaves nothing to undo (the copy was an O_TMPFILE); after,
 * only the copy exists.
 */
int archive_journal_recover(struct archive *a)
{
	char buf[2 * PATH_MAX + 64];
	ssize_t n = pread(a->journal_fd, buf, sizeof(buf) - 1, 0);
	const char *f[4];
	struct stat st, dst;
	size_t k = 0;
	int r = 0;

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	for (char *p = buf; p < buf + n && k < 4; p += strlen(p) + 1)
		f[k++] = p;
	if (k == 4 && !strcmp(f[0], "sweepd-journal 1") && lstat(f[1], &st) == 0 &&
	    (uint64_t)st.st_ino == strtoull(f[2], NULL, 10) && lstat(f[3], &dst) == 0 &&
	    S_ISREG(dst.st_mode) && unlink(f[3]) == 0)
		r = 1;
	archive_journal_clear(a);
	return r;
}

/* The index file: state_dir/archive.idx, appended to, written anew at each opening. */

int archive_idxfile_append(struct archive *a, const struct archive_entry *e, bool add)
{
	char *line = archive_index_line(e, add);
	size_t n;
	int r = 0;

	if (!line)
		return -ENOMEM;
	n = strlen(line);
	if (write(a->idx_fd, line, n) != (ssize_t)n)
		r = -errno;
	free(line);
	return r;
}

void archive_idxfile_load(struct archive *a)
{
	FILE *f = fopen(a->idx_path, "re");
	char *line = NULL;
	size_t cap = 0;

	a->no_index = !f && errno == ENOENT;
	if (!f)
		return;
	while (getline(&line, &cap, f) > 0)
		archive_index_apply(a->ix, line);
	free(line);
	fclose(f);
}

/*
 * Writes the whole index anew (tmp, fsync, rename) and reopens it for
 * appending. It names every archived file: 0600, whatever the umask, and
 * whatever mode an index left by an older sweepd (0644) or a stale tmp had.
 */
int archive_idxfile_rewrite(struct archive *a)
{
	char *tmp = NULL;
	FILE *f = NULL;
	int fd, r = 0;

	if (asprintf(&tmp, "%s.tmp", a->idx_path) < 0)
		return -ENOMEM;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || fchmod(fd, 0600) < 0 || !(f = fdopen(fd, "w"))) {
		r = -errno;
		if (fd >= 0)
			close(fd);
		free(tmp);
		return r;
	}
	for (int k = 0; k < 2; k++) {
		struct archive_index *ix = k ? a->rix : a->ix;
		for (struct archive_entry *e = archive_index_next(ix, NULL); e;
		     e = archive_index_next(ix, e)) {
			char *line = archive_index_line(e, true);
			if (!line || fputs(line, f) == EOF)
				r = -EIO;
			free(line);
		}
	}
	if (fflush(f) == EOF || fsync(fileno(f)) < 0)
		r = -errno;
	fclose(f);
	if (r == 0 && rename(tmp, a->idx_path) < 0)
		r = -errno;
	free(tmp);
	if (a->idx_fd >= 0)
		close(a->idx_fd);
	a->idx_fd = open(a->idx_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	return a->idx_fd < 0 ? -errno : r;
}
