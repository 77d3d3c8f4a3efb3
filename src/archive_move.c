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
#include "fcopy.h"
#include "lease.h"
#include "zcodec.h"

/*
 * Files into the archive: by one rename within its filesystem, else copied
 * (compressed where it pays) under the journal; entries committed to the
 * index and forgotten, files purged.
 */

#define ARCHIVE_SAMPLE (128 * 1024)
#define ARCHIVE_MAX_CLASH 10000

/* name, name.~1~, name.~2~, ... then .zst when compressed. */
static int clash_name(char *buf, size_t len, const char *name, unsigned k, bool zst)
{
	int n = k ? snprintf(buf, len, "%s.~%u~%s", name, k, zst ? ".zst" : "")
		  : snprintf(buf, len, "%s%s", name, zst ? ".zst" : "");

	return n < 0 || (size_t)n >= len || n > NAME_MAX ? -ENAMETOOLONG : 0;
}

/* Between two chunks of a copy: still ours (when a lease is held), and not told to stop. */
struct chunk_check {
	struct lease_held *h;
	const struct archive_opts *o;
};

static bool still_going(void *ud, uint64_t done)
{
	const struct chunk_check *c = ud;

	if (c->h && lease_broken(c->h))
		return false;
	return !c->o || !c->o->keep_going || c->o->keep_going(c->o->ud, done);
}

/*
 * A file mostly of holes never is, whatever the config says: zstd has no
 * holes, and would read and squeeze each of their zeros (a file made by
 * truncate -s 15T would hold the lane for hours); it is copied by its data
 * and kept sparse instead, its entry saying it is not compressed.
 */
static bool should_compress(const struct archive_opts *o, const char *name, int fd,
			    const struct stat *st)
{
	char *sample;
	ssize_t n;
	bool yes;

	if (o->compress == COMPRESS_OFF || fcopy_mostly_holes(st))
		return false;
	sample = malloc(ARCHIVE_SAMPLE);
	if (!sample)
		return false;
	n = pread(fd, sample, ARCHIVE_SAMPLE, 0);
	yes = n > 0 && !zcodec_incompressible(name, sample, (size_t)n) &&
	      (o->compress == COMPRESS_ZSTD || zcodec_pays(sample, (size_t)n));
	free(sample);
	return yes;
}

/* An unnamed file in dir, to be linked in once whole: a crash leaves nothing behind. */
int archive_open_tmpfile(int dir)
{
	int fd = openat(dir, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	return fd < 0 ? -errno : fd;
}

int archive_link_tmpfile(int fd, int dir, const char *name)
{
	char proc[64];

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	return linkat(AT_FDCWD, proc, dir, name, AT_SYMLINK_FOLLOW) < 0 ? -errno : 0;
}

/*
 * Writes src (open at 0) into the unnamed file out, compressed or not, with
 * src's metadata and mark (or without a mark, when mark is NULL).
 */
static int fill(int src, int out, const struct stat *st, int mode, int level,
		struct lease_held *h, const struct archive_opts *o, const struct archive_entry *mark)
{
	struct chunk_check cc = { h, o };
	struct zcodec_opts zo = { .level = level, .keep_going = still_going, .ud = &cc };
	int r;

	if (lseek(src, 0, SEEK_SET) < 0)
		return -errno;
	if (mode > 0)
		r = zcodec_compress(src, out, &zo);
	else if (mode < 0)
		r = zcodec_decompress(src, out, &zo);
	else
		r = fcopy_data(src, out, still_going, &cc);
	if (r == 0)
		r = fcopy_meta(src, out, st);
	/* After the source's attributes (a forged mark among them), durable with the copy. */
	if (r == 0 && mark)
		(void)archive_mark_set(out, mark);
	else if (r == 0)
		archive_mark_clear(out);
	if (r == 0 && fsync(out) < 0)
		r = -errno;
	return r;
}

/* Removes the archive's now empty directories above rel, up to the zone's. */
void archive_prune_dirs(struct archive *a, const char *rel)
{
	char dir[PATH_MAX];
	const char *base;

	archive_split(rel, dir, sizeof(dir), &base);
	while (strchr(dir, '/') && unlinkat(a->root_fd, dir, AT_REMOVEDIR) == 0)
		*strrchr(dir, '/') = '\0';
}

const char *archive_rel_of(const struct archive *a, const char *apath)
{
	size_t n = strlen(a->root);

	return !strncmp(apath, a->root, n) && apath[n] == '/' ? apath + n + 1 : NULL;
}

/*
 * A move across filesystems, into the archive or back out of it. Under the
 * journal, src (open as fd, stat st) is written into an unnamed file beside
 * dst (compressed, decompressed or copied as mode says), made durable,
 * linked in as dst (never over a file), and only then unlinked. h, when
 * given, is the lease on src: a writer breaking it undoes the copy, as does
 * src's name now holding another file. *stored gets what the copy holds on disk. The
 * copy gets mark when going into the archive; coming out (mark NULL), it
 * loses the one its source had. src's directory moved away meanwhile (as
 * o->in_place says, when given) undoes the copy too: nothing unlinked there.
 */
int archive_move_across(struct archive *a, int fd, const struct stat *st,
			const struct archive_end *src, const struct archive_end *dst, int mode,
			int level, struct lease_held *h, const struct archive_opts *o,
			const struct archive_entry *mark, uint64_t *stored)
{
	struct stat now;
	int tmp, r;

	tmp = archive_open_tmpfile(dst->dir);
	if (tmp < 0)
		return tmp;
	r = archive_journal_set(a, src->abs, st->st_ino, dst->abs);
	if (r == 0)
		r = fill(fd, tmp, st, mode, level, h, o, mark);
	if (r == 0 && stored && fstat(tmp, &now) == 0)
		*stored = fcopy_allocated(&now);
	if (r == 0)
		r = archive_link_tmpfile(tmp, dst->dir, dst->name);
	close(tmp);
	if (r < 0)
		goto out;
	archive_fsync_dir(dst->dir);
	if (dst->in_place && dst->in_place(dst->ctx, dst->dir) < 0) {
		unlinkat(dst->dir, dst->name, 0);
		r = -ESTALE;
		goto out;
	}
	if ((h && lease_broken(h)) ||
	    fstatat(src->dir, src->name, &now, AT_SYMLINK_NOFOLLOW) < 0 || now.st_ino != st->st_ino) {
		unlinkat(dst->dir, dst->name, 0);
		r = h && lease_broken(h) ? -EBUSY : -ENOENT;
		goto out;
	}
	/* src's directory moved meanwhile (out of every zone, maybe): nothing unlinked there. */
	if (o && o->in_place && (r = o->in_place(o->ud, src->dir)) < 0) {
		unlinkat(dst->dir, dst->name, 0);
		goto out;
	}
	if (unlinkat(src->dir, src->name, 0) < 0) {
		r = -errno;
		unlinkat(dst->dir, dst->name, 0);
		goto out;
	}
	archive_fsync_dir(src->dir);
out:
	archive_journal_clear(a);
	/* Stopped by a writer's open (the lease), or by the daemon stopping. */
	return r == -ECANCELED && h && lease_broken(h) ? -EBUSY : r;
}

/* Into an archive on another filesystem: compressed where it pays, under a free name. */
static int store_cross(struct archive *a, const struct archive_opts *o, int adir,
		       const char *adir_abs, int dirfd, const char *name, const char *orig,
		       struct lease_held *h, char *cand, size_t cand_len, struct archive_entry *e)
{
	char dst[PATH_MAX * 3];
	struct stat st;
	unsigned k = 0;

	e->compressed = should_compress(o, name, h->fd, &h->st);
	do {
		int r = clash_name(cand, cand_len, name, k, e->compressed);
		if (r < 0)
			return r;
	} while (fstatat(adir, cand, &st, AT_SYMLINK_NOFOLLOW) == 0 && ++k < ARCHIVE_MAX_CLASH);
	if (snprintf(dst, sizeof(dst), "%s/%s", adir_abs, cand) >= (int)sizeof(dst))
		return -ENAMETOOLONG;
	return archive_move_across(a, h->fd, &h->st, &(struct archive_end){dirfd, name, orig},
				   &(struct archive_end){adir, cand, dst}, e->compressed ? 1 : 0,
				   o->level, h, o, e, &e->stored);
}

/* Is name in dir (not followed) the file st describes? */
static bool same_file_at(int dir, const char *name, const struct stat *st)
{
	struct stat now;

	return fstatat(dir, name, &now, AT_SYMLINK_NOFOLLOW) == 0 && now.st_dev == st->st_dev &&
	       now.st_ino == st->st_ino;
}

int archive_store_io(struct archive *a, const struct archive_opts *o, const char *rel,
		     int dirfd, const char *name, struct lease_held *h, struct archive_entry *e)
{
	char arel[PATH_MAX], dir[PATH_MAX], cand[NAME_MAX + 1], adir_abs[PATH_MAX * 2 + 8];
	const char *base;
	int adir, r = -EXDEV;
	bool marked = false;

	e->bytes = (uint64_t)h->st.st_size;
	e->stored = fcopy_allocated(&h->st); /* as du counts it: a sparse file is small */
	e->apath = NULL;
	if (snprintf(arel, sizeof(arel), "%s/%s", e->zone, rel) >= (int)sizeof(arel))
		return -ENAMETOOLONG;
	archive_split(arel, dir, sizeof(dir), &base);
	/* Only into directories of its own: nobody else can rename or swap what it keeps. */
	adir = archive_open_dirs(a->root_fd, dir, true, 0700, (uid_t)-1, (gid_t)-1, true);
	if (adir < 0)
		return adir;
	snprintf(adir_abs, sizeof(adir_abs), "%s/%s", a->root, dir);
	if ((uint64_t)h->st.st_dev == a->dev) {
		/*
		 * Marked before the move (a crash after it leaves a marked file, never
		 * an unmarked one of ours); whatever mark its owner may have set is
		 * replaced. Unmarked again if it stays.
		 */
		marked = archive_mark_set(h->fd, e) == 0;
		e->marked = marked;

		for (unsigned k = 0; k < ARCHIVE_MAX_CLASH; k++) {
			if ((r = clash_name(cand, sizeof(cand), name, k, false)) < 0)
				break;
			/* Not out of a directory moved away meanwhile, perhaps out of the zones. */
			if (o->in_place && (r = o->in_place(o->ud, dirfd)) < 0)
				break;
			r = renameat2(dirfd, name, adir, cand, RENAME_NOREPLACE) < 0 ? -errno : 0;
			if (r != -EEXIST)
				break;
		}
		if (r == 0 && !same_file_at(adir, cand, &h->st)) {
			/*
			 * Swapped for something else (renameat2 RENAME_EXCHANGE, by whoever may
			 * rename in the zone) between the checks and the rename: not the file
			 * checked, never ours to keep. Put back; left where it is if its old
			 * name was taken meanwhile (unindexed: a start says it is not sweepd's).
			 */
			(void)!renameat2(adir, cand, dirfd, name, RENAME_NOREPLACE);
			r = -ESTALE;
		}
		if (r == 0 && lease_broken(h)) {
			/* Someone opened it for writing as it moved: put it back. */
			r = renameat2(adir, cand, dirfd, name, RENAME_NOREPLACE) < 0 ? -errno : -EBUSY;
			if (r != -EBUSY)
				r = 0; /* cannot put it back: it is archived, and indexed below */
		}
	}
	if (r == -EXDEV) {
		e->marked = a->xattrs; /* the copy's mark is set with its attributes */
		r = store_cross(a, o, adir, adir_abs, dirfd, name, e->path, h, cand, sizeof(cand), e);
	}
	close(adir);
	if (r < 0 && marked)
		archive_mark_clear(h->fd); /* it stays in its zone */
	if (r < 0) {
		if (r != -EACCES) /* never someone else's directory */
			archive_prune_dirs(a, arel);
		return r;
	}
	if (asprintf(&e->apath, "%s/%s", adir_abs, cand) < 0) /* after adir_abs */
		return -ENOMEM;
	return 0;
}

struct archive_entry *archive_commit(struct archive *a, const struct archive_entry *e)
{
	struct archive_entry *in = archive_index_add(a->ix, e);

	if (in)
		archive_idxfile_append(a, in, true);
	return in;
}

static void forget(struct archive *a, struct archive_index *ix, struct archive_entry *e)
{
	const char *rel = e->remote ? NULL : archive_rel_of(a, e->apath);

	archive_idxfile_append(a, e, false);
	if (rel)
		archive_prune_dirs(a, rel);
	archive_index_remove(ix, e);
}

int archive_unlink(struct archive *a, const char *apath)
{
	const char *rel = archive_rel_of(a, apath);

	if (rel && unlinkat(a->root_fd, rel, 0) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

void archive_forget(struct archive *a, uint64_t id)
{
	struct archive_entry *e = archive_index_get(a->ix, id);

	if (e)
		forget(a, a->ix, e);
	else if ((e = archive_index_get(a->rix, id)))
		forget(a, a->rix, e);
}
