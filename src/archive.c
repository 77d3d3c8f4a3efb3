#include "archive.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "archive_impl.h"

#define ARCHIVE_CLAIM_EMPTY "claimed: empty\n"

struct archive_index *archive_entries(struct archive *a)
{
	return a->ix;
}

uint64_t archive_dev(const struct archive *a)
{
	return a->dev;
}

const char *archive_path(const struct archive *a)
{
	return a->root;
}

/*
 * Opens (creating with mode, owned by uid:gid, where missing) each directory
 * of rel beneath base, one component at a time and following no link: a
 * directory swapped for a symlink stops the walk. Returns an O_RDONLY
 * descriptor (fsync-able) or -errno; with own, -EACCES for a directory that
 * is not sweepd's (see archive_own_dir).
 */
int archive_open_dirs(int base, const char *rel, bool create, mode_t mode, uid_t uid, gid_t gid,
		      bool own)
{
	char buf[PATH_MAX], *save = NULL, *c;
	struct stat st;
	int fd = openat(base, rel[0] == '/' ? "/" : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (snprintf(buf, sizeof(buf), "%s", rel) >= (int)sizeof(buf)) {
		close(fd);
		return -ENAMETOOLONG;
	}
	for (c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		int next = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		if (next < 0 && errno == ENOENT && create) {
			if (mkdirat(fd, c, mode) < 0 && errno != EEXIST) {
				int r = -errno;
				close(fd);
				return r;
			}
			next = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (next >= 0 && (uid != (uid_t)-1 || gid != (gid_t)-1))
				(void)!fchown(next, uid, gid);
		}
		if (next < 0) {
			int r = -errno;
			close(fd);
			return r;
		}
		close(fd);
		fd = next;
		if (own && (fstat(fd, &st) < 0 || !archive_own_dir(&st))) {
			close(fd);
			return -EACCES;
		}
	}
	return fd;
}

/* "a/b/c" -> dir "a/b", base "c"; "c" -> dir "", base "c". */
void archive_split(const char *path, char *dir, size_t len, const char **base)
{
	const char *slash = strrchr(path, '/');

	*base = slash ? slash + 1 : path;
	snprintf(dir, len, "%.*s", slash ? (int)(slash - path) : 0, path);
}

void archive_fsync_dir(int dir)
{
	int fd = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* ---- the mark: how sweepd knows the files it put in the archive ---- */

/* Writes e's mark on the file open as fd, over any value someone else put there. */
int archive_mark_set(int fd, const struct archive_entry *e)
{
	char buf[ARCHIVE_MARK_MAX + 1];
	int n = archive_index_mark(e, buf, sizeof(buf));

	if (n < 0)
		return n;
	return fsetxattr(fd, ARCHIVE_MARK_XATTR, buf, (size_t)n, 0) < 0 ? -errno : 0;
}

/* A file leaving the archive leaves its mark behind. */
void archive_mark_clear(int fd)
{
	(void)fremovexattr(fd, ARCHIVE_MARK_XATTR);
}

/* Does the file open as fd carry sweepd's mark? Its content goes to e. */
bool archive_mark_get(int fd, struct archive_entry *e)
{
	char buf[ARCHIVE_MARK_MAX + 1];
	ssize_t n = fgetxattr(fd, ARCHIVE_MARK_XATTR, buf, sizeof(buf));

	return n > 0 && archive_index_mark_parse(buf, (size_t)n, e) == 0;
}

/*
 * Whether sweepd may call a directory inside the archive (or its claim) its
 * own: it made them (its user, mode 0700), so one owned by someone else, or
 * that others may write in, holds files that somebody else put there.
 */
bool archive_own_dir(const struct stat *st)
{
	return st->st_uid == geteuid() && !(st->st_mode & 022);
}

/*
 * The claim at the archive's root, written the first time sweepd opens the
 * directory: "claimed: empty" when it was empty (or made now), so that on a
 * filesystem without extended attributes everything in sweepd's own
 * directories is known to be its own; a directory that held other files is
 * claimed as shared, and there only marked files are sweepd's. Also finds
 * out whether the filesystem keeps marks.
 */
static void claim(struct archive *a)
{
	char buf[256];
	struct stat st;
	ssize_t n;
	int fd = openat(a->root_fd, ARCHIVE_CLAIM, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0 && errno == ENOENT) {
		DIR *dir;
		struct dirent *de;
		bool empty = true;
		int dfd = openat(a->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dfd >= 0 && (dir = fdopendir(dfd))) {
			while (empty && (de = readdir(dir)))
				empty = !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..");
			closedir(dir);
		} else if (dfd >= 0) {
			close(dfd);
		}
		fd = openat(a->root_fd, ARCHIVE_CLAIM,
			    O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		n = snprintf(buf, sizeof(buf),
			     "sweepd archive: it indexes, purges and restores only files it put "
			     "here (marked %s)\n%s",
			     ARCHIVE_MARK_XATTR, empty ? ARCHIVE_CLAIM_EMPTY : "claimed: shared\n");
		if (fd >= 0 && (pwrite(fd, buf, (size_t)n, 0) != n || fsync(fd) < 0)) {
			close(fd);
			unlinkat(a->root_fd, ARCHIVE_CLAIM, 0);
			fd = -1;
		}
		if (fd >= 0)
			archive_fsync_dir(a->root_fd);
	}
	/* A claim someone else wrote (in a root others may write in) claims nothing. */
	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !archive_own_dir(&st))) {
		close(fd);
		fd = -1;
	}
	if (fd >= 0 && (n = pread(fd, buf, sizeof(buf) - 1, 0)) > 0) {
		buf[n] = '\0';
		a->claimed = !strncmp(buf, "sweepd archive", 14) && strstr(buf, "\n" ARCHIVE_CLAIM_EMPTY);
	}
	/* A probe that changes nothing but the claim (or the root, without one). */
	if (fsetxattr(fd >= 0 ? fd : a->root_fd, "user.sweepd.probe", "1", 1, 0) == 0) {
		a->xattrs = true;
		(void)fremovexattr(fd >= 0 ? fd : a->root_fd, "user.sweepd.probe");
	} else {
		a->xattrs = errno != EOPNOTSUPP;
	}
	if (fd >= 0)
		close(fd);
}

struct archive *archive_open(const struct config *cfg, struct archive_report *rep, char *err,
			     size_t errlen)
{
	struct archive *a = calloc(1, sizeof(*a));
	char *jpath = NULL;
	struct stat st;
	int fd, r;

	memset(rep, 0, sizeof(*rep));
	if (!a)
		goto nomem;
	a->cfg = cfg;
	a->root_fd = a->idx_fd = a->journal_fd = a->rjournal_fd = -1;
	fd = archive_open_dirs(AT_FDCWD, cfg->archive_path, true, 0700, (uid_t)-1, (gid_t)-1,
			       false);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create archive %s: %s", cfg->archive_path,
			 strerror(-fd));
		goto fail;
	}
	a->root_fd = fd;
	a->root = realpath(cfg->archive_path, NULL);
	if (!a->root || fstat(fd, &st) < 0)
		goto nomem;
	a->dev = st.st_dev;
	a->ix = archive_index_create();
	if (!a->ix || asprintf(&a->idx_path, "%s/archive.idx", cfg->state_dir) < 0 ||
	    asprintf(&jpath, "%s/journal", cfg->state_dir) < 0)
		goto nomem;
	a->journal_fd = open(jpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	free(jpath);
	if (a->journal_fd < 0) {
		snprintf(err, errlen, "cannot open %s/journal: %s", cfg->state_dir, strerror(errno));
		goto fail;
	}
	rep->recovered = (uint64_t)archive_journal_recover(a);
	claim(a);
	rep->shared = !a->claimed;
	rep->no_marks = !a->xattrs;
	archive_idxfile_load(a);
	rep->no_index = a->no_index;
	r = archive_remote_open(a);
	if (r < 0) {
		snprintf(err, errlen, "cannot open %s/remote.journal: %s", cfg->state_dir,
			 strerror(-r));
		goto fail;
	}
	archive_reconcile(a, rep);
	r = archive_idxfile_rewrite(a);
	if (r < 0) {
		snprintf(err, errlen, "cannot write %s: %s", a->idx_path, strerror(-r));
		goto fail;
	}
	archive_remote_journal_done(a);
	return a;
nomem:
	snprintf(err, errlen, "out of memory opening the archive");
fail:
	archive_close(a);
	return NULL;
}

void archive_set_config(struct archive *a, const struct config *cfg)
{
	a->cfg = cfg;
}

void archive_close(struct archive *a)
{
	if (!a)
		return;
	if (a->root_fd >= 0)
		close(a->root_fd);
	if (a->idx_fd >= 0)
		close(a->idx_fd);
	if (a->journal_fd >= 0)
		close(a->journal_fd);
	if (a->rjournal_fd >= 0)
		close(a->rjournal_fd);
	archive_index_destroy(a->ix);
	archive_index_destroy(a->rix);
	free(a->idx_path);
	free(a->root);
	free(a);
}
