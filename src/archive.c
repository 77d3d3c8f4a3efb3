#include "archive.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fcopy.h"
#include "lease.h"
#include "u64map.h"
#include "zcodec.h"

#define ARCHIVE_SAMPLE (128 * 1024)
#define ARCHIVE_MAX_CLASH 10000
/* At the archive's root: says sweepd uses this directory, and whether it was empty then. */
#define ARCHIVE_CLAIM ".sweepd-archive"
#define ARCHIVE_CLAIM_EMPTY "claimed: empty\n"

struct archive {
	const struct config *cfg;
	char *root; /* canonical */
	int root_fd;
	uint64_t dev;
	struct archive_index *ix;
	int idx_fd;
	char *idx_path;
	int journal_fd;
	bool xattrs;  /* its filesystem keeps user.* extended attributes: files carry marks */
	bool claimed; /* sweepd made the directory, or found it empty: all of it is sweepd's */
};

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
 * is not sweepd's (see own_dir).
 */
static bool own_dir(const struct stat *st);

static int open_dirs(int base, const char *rel, bool create, mode_t mode, uid_t uid, gid_t gid,
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
		if (own && (fstat(fd, &st) < 0 || !own_dir(&st))) {
			close(fd);
			return -EACCES;
		}
	}
	return fd;
}

/* "a/b/c" -> dir "a/b", base "c"; "c" -> dir "", base "c". */
static void split(const char *path, char *dir, size_t len, const char **base)
{
	const char *slash = strrchr(path, '/');

	*base = slash ? slash + 1 : path;
	snprintf(dir, len, "%.*s", slash ? (int)(slash - path) : 0, path);
}

static void fsync_dir(int dir)
{
	int fd = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* ---- the mark: how sweepd knows the files it put in the archive ---- */

/* Writes e's mark on the file open as fd, over any value someone else put there. */
static int mark_set(int fd, const struct archive_entry *e)
{
	char buf[ARCHIVE_MARK_MAX + 1];
	int n = archive_index_mark(e, buf, sizeof(buf));

	if (n < 0)
		return n;
	return fsetxattr(fd, ARCHIVE_MARK_XATTR, buf, (size_t)n, 0) < 0 ? -errno : 0;
}

/* A file leaving the archive leaves its mark behind. */
static void mark_clear(int fd)
{
	(void)fremovexattr(fd, ARCHIVE_MARK_XATTR);
}

/* Does the file open as fd carry sweepd's mark? Its content goes to e. */
static bool mark_get(int fd, struct archive_entry *e)
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
static bool own_dir(const struct stat *st)
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
			fsync_dir(a->root_fd);
	}
	/* A claim someone else wrote (in a root others may write in) claims nothing. */
	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !own_dir(&st))) {
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

/* ---- the journal: the one move across filesystems under way ---- */

static int journal_set(struct archive *a, const char *src, uint64_t ino, const char *dst)
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

static void journal_clear(struct archive *a)
{
	(void)!ftruncate(a->journal_fd, 0);
}

/*
 * A crash between linking the copy into place and removing the original
 * leaves both: the original (still the same inode) wins, the copy goes. A
 * crash before leaves nothing to undo (the copy was an O_TMPFILE); after,
 * only the copy exists.
 */
static int journal_recover(struct archive *a)
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
	journal_clear(a);
	return r;
}

/* ---- the index file ---- */

static int index_append(struct archive *a, const struct archive_entry *e, bool add)
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

static void index_load(struct archive *a)
{
	FILE *f = fopen(a->idx_path, "re");
	char *line = NULL;
	size_t cap = 0;

	if (!f)
		return;
	while (getline(&line, &cap, f) > 0)
		archive_index_apply(a->ix, line);
	free(line);
	fclose(f);
}

/* Writes the whole index anew (tmp, fsync, rename) and reopens it for appending. */
static int index_rewrite(struct archive *a)
{
	char *tmp = NULL;
	FILE *f;
	int r = 0;

	if (asprintf(&tmp, "%s.tmp", a->idx_path) < 0)
		return -ENOMEM;
	f = fopen(tmp, "we");
	if (!f) {
		r = -errno;
		free(tmp);
		return r;
	}
	for (struct archive_entry *e = archive_index_next(a->ix, NULL); e;
	     e = archive_index_next(a->ix, e)) {
		char *line = archive_index_line(e, true);
		if (!line || fputs(line, f) == EOF)
			r = -EIO;
		free(line);
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

/* ---- reconciling the index with the tree ---- */

struct found {
	char *rel;
	struct archive_entry e; /* from its mark, or its size and ctime */
};

enum { UNSEEN, SEEN, DISOWNED };

struct walk {
	struct archive *a;
	struct u64map *known; /* hash of archive path -> entry */
	char *seen;	     /* by entry position: UNSEEN, SEEN, DISOWNED */
	struct found *found;
	size_t n_found, cap_found;
	struct archive_report *rep;
};

static uint64_t str_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h | 1;
}

/*
 * One file in one of sweepd's directories of the archive. An indexed one is
 * kept (and marked, if an older sweepd left it without) unless its entry
 * came from a rebuild and nothing shows sweepd put it there; an unindexed
 * one is indexed again only when it carries sweepd's mark (or, where the
 * filesystem keeps no marks, when the whole archive is sweepd's). Anything
 * else is someone else's file: left alone, only counted for the log.
 */
/*
 * What an entry found in the tree really holds, whatever its mark says (a
 * user who kept a descriptor on their archived file can write the mark): a
 * plain copy holds its size; a .zst the content size its frame declares, else the mark's figure,
 * but never more than the frame could hold (ZCODEC_MAX_RATIO times its size).
 */
static void true_bytes(int fd, const struct stat *st, struct archive_entry *m)
{
	unsigned char head[ZCODEC_HEAD_MAX];
	uint64_t size = (uint64_t)st->st_size, declared;
	ssize_t n = fd < 0 ? -1 : pread(fd, head, sizeof(head), 0);

	if (!m->compressed)
		m->bytes = size;
	else if (n > 0 && zcodec_content_size(head, (size_t)n, &declared) == 0)
		m->bytes = declared;
	else if (m->bytes / ZCODEC_MAX_RATIO >= size)
		m->bytes = size * ZCODEC_MAX_RATIO;
}

static void walk_file(struct walk *w, int dfd, const char *name, const char *rel)
{
	struct archive *a = w->a;
	struct archive_entry m = { .reason = REASON_REBUILT };
	char *apath = NULL;
	struct archive_entry *e;
	struct stat st;
	bool marked = false;
	int fd;

	if (!strchr(rel, '/')) {
		if (strcmp(name, ARCHIVE_CLAIM))
			w->rep->foreign++; /* sweepd never puts a file at the root */
		return;
	}
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) ||
	    asprintf(&apath, "%s/%s", a->root, rel) < 0)
		return;
	e = u64map_get(w->known, str_hash(apath));
	if (e && strcmp(e->apath, apath))
		e = NULL;
	if (e && e->marked && e->reason != REASON_REBUILT) {
		w->seen[e - a->ix->v] = SEEN; /* what it wrote itself: no need to look */
		free(apath);
		return;
	}
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd >= 0)
		marked = mark_get(fd, &m);
	if (e) {
		bool proven = marked || (!a->xattrs && a->claimed);

		if (e->reason == REASON_REBUILT && !proven) {
			w->seen[e - a->ix->v] = DISOWNED;
		} else {
			w->seen[e - a->ix->v] = SEEN;
			if (!marked && a->xattrs && fd >= 0)
				marked = mark_set(fd, e) == 0;
			e->marked = marked;
		}
	} else if (marked || (!a->xattrs && a->claimed)) {
		struct found *fv = w->found;

		if (!marked) {
			unsigned char head[4] = { 0 };

			if (fd >= 0)
				(void)!pread(fd, head, sizeof(head), 0);
			m.bytes = (uint64_t)st.st_size;
			m.archived_at = st.st_ctim.tv_sec;
			m.compressed = zcodec_is_zstd(head, 4);
		}
		true_bytes(fd, &st, &m);
		/* Nobody can set a file's ctime back: a mark cannot postpone its purge. */
		if (m.archived_at > st.st_ctim.tv_sec)
			m.archived_at = st.st_ctim.tv_sec;
		if (m.reason == REASON_NONE)
			m.reason = REASON_REBUILT;
		m.stored = (uint64_t)st.st_size;
		m.marked = marked;
		if (w->n_found == w->cap_found) {
			w->cap_found = w->cap_found ? 2 * w->cap_found : 16;
			fv = realloc(w->found, w->cap_found * sizeof(*fv));
			if (!fv)
				goto out;
			w->found = fv;
		}
		fv[w->n_found++] = (struct found){ strdup(rel), m };
	} else {
		w->rep->foreign++;
	}
out:
	if (fd >= 0)
		close(fd);
	free(apath);
}

static void walk_dir(struct walk *w, int fd, const char *rel, int depth)
{
	DIR *dir = fdopendir(fd);
	struct dirent *de;

	if (!dir) {
		close(fd);
		return;
	}
	while ((de = readdir(dir))) {
		char sub[PATH_MAX];
		int cfd;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", de->d_name) >=
		    (int)sizeof(sub))
			continue;
		cfd = depth < 256 ? openat(dirfd(dir), de->d_name,
					   O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
				  : -1;
		if (cfd >= 0) {
			struct stat st;

			if (fstat(cfd, &st) == 0 && own_dir(&st)) {
				walk_dir(w, cfd, sub, depth + 1);
			} else {
				/* Not sweepd's: nothing in it is looked at, let alone touched. */
				w->rep->foreign_dirs++;
				close(cfd);
			}
		} else {
			walk_file(w, dirfd(dir), de->d_name, sub);
		}
	}
	closedir(dir);
}

/* "zone/a/b.txt.~2~.zst" (compressed) -> the zone's path + "/a/b.txt". */
static char *original_path(const struct config *cfg, const char *rel, bool compressed,
			   char **zone)
{
	const char *slash = strchr(rel, '/');
	char *rest, *p, *out = NULL;
	size_t n;
	int i;

	*zone = strndup(rel, (size_t)(slash - rel));
	rest = strdup(slash + 1);
	if (!*zone || !rest) {
		free(rest);
		return NULL;
	}
	n = strlen(rest);
	if (compressed && n > 4 && !strcmp(rest + n - 4, ".zst"))
		rest[n -= 4] = '\0';
	if (n > 3 && rest[n - 1] == '~' && (p = strrchr(rest, '.')) && p[1] == '~' &&
	    strspn(p + 2, "0123456789") == (size_t)(rest + n - 1 - (p + 2)))
		*p = '\0';
	i = config_zone_index(cfg, *zone);
	if (i < 0) {
		free(rest);
		return strdup(""); /* its zone is no longer configured: restore needs "to" */
	}
	if (asprintf(&out, "%s/%s", strcmp(cfg->zones[i].path, "/") ? cfg->zones[i].path : "",
		     rest) < 0)
		out = NULL;
	free(rest);
	return out;
}

static void reconcile(struct archive *a, struct archive_report *rep)
{
	struct walk w = { .a = a, .rep = rep };
	int fd;

	w.known = u64map_create();
	w.seen = calloc(a->ix->n + 1, sizeof(*w.seen)); /* all UNSEEN */
	if (!w.known || !w.seen)
		goto out;
	for (struct archive_entry *e = archive_index_next(a->ix, NULL); e;
	     e = archive_index_next(a->ix, e))
		u64map_put(w.known, str_hash(e->apath), e);
	fd = openat(a->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0)
		walk_dir(&w, fd, "", 0);
	for (size_t i = 0; i < a->ix->n; i++)
		if (!a->ix->v[i].dead && w.seen[i] != SEEN) {
			archive_index_remove(a->ix, &a->ix->v[i]);
			if (w.seen[i] == DISOWNED)
				rep->disowned++;
			else
				rep->dropped++;
		}
	for (size_t i = 0; i < w.n_found; i++) {
		struct found *f = &w.found[i];
		struct archive_entry e = f->e;

		e.path = original_path(a->cfg, f->rel, e.compressed, &e.zone);
		if (e.path && e.zone && asprintf(&e.apath, "%s/%s", a->root, f->rel) >= 0) {
			if (archive_index_add(a->ix, &e))
				rep->found++;
			free(e.apath);
		}
		free(e.path);
		free(e.zone);
	}
out:
	for (size_t i = 0; i < w.n_found; i++)
		free(w.found[i].rel);
	free(w.found);
	free(w.seen);
	u64map_destroy(w.known);
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
	a->root_fd = a->idx_fd = a->journal_fd = -1;
	fd = open_dirs(AT_FDCWD, cfg->archive_path, true, 0700, (uid_t)-1, (gid_t)-1, false);
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
	rep->recovered = (uint64_t)journal_recover(a);
	claim(a);
	rep->shared = !a->claimed;
	rep->no_marks = !a->xattrs;
	index_load(a);
	reconcile(a, rep);
	r = index_rewrite(a);
	if (r < 0) {
		snprintf(err, errlen, "cannot write %s: %s", a->idx_path, strerror(-r));
		goto fail;
	}
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
	archive_index_destroy(a->ix);
	free(a->idx_path);
	free(a->root);
	free(a);
}

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

static bool still_going(void *ud)
{
	const struct chunk_check *c = ud;

	if (c->h && lease_broken(c->h))
		return false;
	return !c->o || !c->o->keep_going || c->o->keep_going(c->o->ud);
}

static bool should_compress(const struct archive_opts *o, const char *name, int fd)
{
	char *sample;
	ssize_t n;
	bool yes;

	if (o->compress == COMPRESS_OFF)
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
static int open_tmpfile(int dir)
{
	int fd = openat(dir, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	return fd < 0 ? -errno : fd;
}

static int link_tmpfile(int fd, int dir, const char *name)
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
		(void)mark_set(out, mark);
	else if (r == 0)
		mark_clear(out);
	if (r == 0 && fsync(out) < 0)
		r = -errno;
	return r;
}

/* Removes the archive's now empty directories above rel, up to the zone's. */
static void prune_archive_dirs(struct archive *a, const char *rel)
{
	char dir[PATH_MAX];
	const char *base;

	split(rel, dir, sizeof(dir), &base);
	while (strchr(dir, '/') && unlinkat(a->root_fd, dir, AT_REMOVEDIR) == 0)
		*strrchr(dir, '/') = '\0';
}

static const char *rel_of(const struct archive *a, const char *apath)
{
	size_t n = strlen(a->root);

	return !strncmp(apath, a->root, n) && apath[n] == '/' ? apath + n + 1 : NULL;
}

/* Either end of a move across filesystems: a directory, a name in it, its absolute path. */
struct end {
	int dir;
	const char *name, *abs;
	/* A destination's dir may be moved meanwhile: 0 if it is still where it was. */
	int (*in_place)(const void *ctx, int dir);
	const void *ctx;
};

/*
 * A move across filesystems, into the archive or back out of it. Under the
 * journal, src (open as fd, stat st) is written into an unnamed file beside
 * dst (compressed, decompressed or copied as mode says), made durable,
 * linked in as dst (never over a file), and only then unlinked. h, when
 * given, is the lease on src: a writer breaking it undoes the copy, as does
 * src's name now holding another file. *stored gets the copy's size. The
 * copy gets mark when going into the archive; coming out (mark NULL), it
 * loses the one its source had.
 */
static int move_across(struct archive *a, int fd, const struct stat *st, const struct end *src,
		       const struct end *dst, int mode, int level, struct lease_held *h,
		       const struct archive_opts *o, const struct archive_entry *mark,
		       uint64_t *stored)
{
	struct stat now;
	int tmp, r;

	tmp = open_tmpfile(dst->dir);
	if (tmp < 0)
		return tmp;
	r = journal_set(a, src->abs, st->st_ino, dst->abs);
	if (r == 0)
		r = fill(fd, tmp, st, mode, level, h, o, mark);
	if (r == 0 && stored && fstat(tmp, &now) == 0)
		*stored = (uint64_t)now.st_size;
	if (r == 0)
		r = link_tmpfile(tmp, dst->dir, dst->name);
	close(tmp);
	if (r < 0)
		goto out;
	fsync_dir(dst->dir);
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
	if (unlinkat(src->dir, src->name, 0) < 0) {
		r = -errno;
		unlinkat(dst->dir, dst->name, 0);
		goto out;
	}
	fsync_dir(src->dir);
out:
	journal_clear(a);
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

	e->compressed = should_compress(o, name, h->fd);
	do {
		int r = clash_name(cand, cand_len, name, k, e->compressed);
		if (r < 0)
			return r;
	} while (fstatat(adir, cand, &st, AT_SYMLINK_NOFOLLOW) == 0 && ++k < ARCHIVE_MAX_CLASH);
	if (snprintf(dst, sizeof(dst), "%s/%s", adir_abs, cand) >= (int)sizeof(dst))
		return -ENAMETOOLONG;
	return move_across(a, h->fd, &h->st, &(struct end){ dirfd, name, orig },
			   &(struct end){ adir, cand, dst }, e->compressed ? 1 : 0, o->level, h, o,
			   e, &e->stored);
}

int archive_store_io(struct archive *a, const struct archive_opts *o, const char *rel,
		     int dirfd, const char *name, struct lease_held *h, struct archive_entry *e)
{
	char arel[PATH_MAX], dir[PATH_MAX], cand[NAME_MAX + 1], adir_abs[PATH_MAX * 2 + 8];
	const char *base;
	int adir, r = -EXDEV;
	bool marked = false;

	e->bytes = e->stored = (uint64_t)h->st.st_size;
	e->apath = NULL;
	if (snprintf(arel, sizeof(arel), "%s/%s", e->zone, rel) >= (int)sizeof(arel))
		return -ENAMETOOLONG;
	split(arel, dir, sizeof(dir), &base);
	/* Only into directories of its own: nobody else can rename or swap what it keeps. */
	adir = open_dirs(a->root_fd, dir, true, 0700, (uid_t)-1, (gid_t)-1, true);
	if (adir < 0)
		return adir;
	snprintf(adir_abs, sizeof(adir_abs), "%s/%s", a->root, dir);
	if ((uint64_t)h->st.st_dev == a->dev) {
		/*
		 * Marked before the move (a crash after it leaves a marked file, never
		 * an unmarked one of ours); whatever mark its owner may have set is
		 * replaced. Unmarked again if it stays.
		 */
		marked = mark_set(h->fd, e) == 0;
		e->marked = marked;

		for (unsigned k = 0; k < ARCHIVE_MAX_CLASH; k++) {
			if ((r = clash_name(cand, sizeof(cand), name, k, false)) < 0)
				break;
			r = renameat2(dirfd, name, adir, cand, RENAME_NOREPLACE) < 0 ? -errno : 0;
			if (r != -EEXIST)
				break;
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
		mark_clear(h->fd); /* it stays in its zone */
	if (r < 0) {
		if (r != -EACCES) /* never someone else's directory */
			prune_archive_dirs(a, arel);
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
		index_append(a, in, true);
	return in;
}

static void forget(struct archive *a, struct archive_entry *e)
{
	const char *rel = rel_of(a, e->apath);

	index_append(a, e, false);
	if (rel)
		prune_archive_dirs(a, rel);
	archive_index_remove(a->ix, e);
}

int archive_unlink(struct archive *a, const char *apath)
{
	const char *rel = rel_of(a, apath);

	if (rel && unlinkat(a->root_fd, rel, 0) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

void archive_forget(struct archive *a, uint64_t id)
{
	struct archive_entry *e = archive_index_get(a->ix, id);

	if (e)
		forget(a, e);
}

/* What went wrong with the destination's directory at path, and what to do: into err. */
static void dest_error(int r, const char *path, char *err, size_t errlen)
{
	if (r == -ELOOP)
		snprintf(err, errlen,
			 "cannot restore under %s: it is a symbolic link, and sweepd follows none; "
			 "give \"to\" a path made of real directories",
			 path);
	else if (r == -ENOTDIR)
		snprintf(err, errlen,
			 "cannot restore under %s: it is not a directory; move it away or give "
			 "\"to\" another path",
			 path);
	else if (r == -EXDEV)
		snprintf(err, errlen,
			 "cannot restore under %s: another filesystem is mounted there, inside the "
			 "zone; give \"to\" a path on the zone's own filesystem",
			 path);
	else
		snprintf(err, errlen, "cannot restore under %s: %s", path, strerror(-r));
}

/*
 * sweepd's own directories, by identity: a restore reaches neither under any
 * name. mnt: a descriptor in the mount each is reached through (not O_PATH:
 * open_by_handle_at refuses one).
 */
struct own_dirs {
	const char *what[2], *path[2];
	struct stat st[2];
	int mnt[2];
	int n;
};

/*
 * Whether the directory open as fd lies inside own (st, reached in the mount
 * of mnt) in the filesystem's own tree, whatever name it was reached by: the
 * same directory opened again by its handle in own's mount and walked up
 * there through "..". A bind mount of a directory below own has its own root,
 * whose ".." leads elsewhere; the handle does not. false where the filesystem
 * gives no handles, or the directory is outside that mount.
 */
static bool below_by_handle(int mnt, const struct stat *own, int fd)
{
	struct file_handle *h = malloc(sizeof(*h) + MAX_HANDLE_SZ);
	int mount_id, cur = -1;
	bool below = false;

	if (!h)
		return false;
	h->handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(fd, "", h, &mount_id, AT_EMPTY_PATH) == 0)
		cur = open_by_handle_at(mnt, h, O_PATH | O_DIRECTORY | O_CLOEXEC);
	free(h);
	for (int depth = 0; cur >= 0 && depth < PATH_MAX / 2; depth++) {
		struct stat st, up_st;
		int up;

		if (fstat(cur, &st) < 0)
			break;
		if (st.st_dev == own->st_dev && st.st_ino == own->st_ino) {
			below = true;
			break;
		}
		up = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (up < 0)
			break;
		close(cur);
		cur = up;
		if (fstat(up, &up_st) < 0 || (up_st.st_dev == st.st_dev && up_st.st_ino == st.st_ino))
			break; /* the top of the mount */
	}
	if (cur >= 0)
		close(cur);
	return below;
}

/*
 * Whether the open directory fd is, or lies inside, the archive or
 * state_dir, however it was reached (a bind mount, another name): -EPERM
 * with err naming at and which.
 */
static int own_dir_reached(const struct own_dirs *own, int fd, const char *at, char *err,
			   size_t errlen)
{
	struct stat st;

	if (!own || fstat(fd, &st) < 0)
		return 0;
	for (int i = 0; i < own->n; i++) {
		if (st.st_dev != own->st[i].st_dev)
			continue;
		if (st.st_ino == own->st[i].st_ino || below_by_handle(own->mnt[i], &own->st[i], fd)) {
			snprintf(err, errlen,
				 "restore under %s refused: it is, or lies inside, %s %s (reached "
				 "by another name, such as a bind mount), which belongs to sweepd; "
				 "restore into a zone",
				 at, own->what[i], own->path[i]);
			return -EPERM;
		}
	}
	return 0;
}

/*
 * Opens the directory that is to hold the destination, one component at a
 * time beneath to->base, through no symbolic link (nor, inside a zone, onto
 * another mount), making the missing ones owned like the file they are for,
 * and refusing any that is (or lies inside) one of own.
 */
static int dest_dir(const struct archive_dest *to, const struct stat *st, bool make,
		    const struct own_dirs *own, const char **base, char *err, size_t errlen)
{
	struct open_how how = {
		.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
			   (to->same_mount ? RESOLVE_NO_XDEV : 0),
	};
	char dir[PATH_MAX], done[PATH_MAX * 2];
	size_t used;
	int fd = openat(to->base, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	split(to->rel, dir, sizeof(dir), base);
	used = (size_t)snprintf(done, sizeof(done), "%s", to->base_abs[0] ? to->base_abs : "/");
	if (fd >= 0 && own_dir_reached(own, fd, done, err, errlen) < 0) {
		close(fd);
		return -EPERM;
	}
	if (!to->base_abs[0])
		used = 0;
	for (char *save = NULL, *c = strtok_r(dir, "/", &save); fd >= 0 && c;
	     c = strtok_r(NULL, "/", &save)) {
		int next = (int)syscall(SYS_openat2, fd, c, &how, sizeof(how));

		if (used < sizeof(done))
			used += (size_t)snprintf(done + used, sizeof(done) - used, "/%s", c);
		if (next < 0 && errno == ENOENT && make) {
			if (mkdirat(fd, c, 0755) < 0 && errno != EEXIST)
				next = -1;
			else if ((next = (int)syscall(SYS_openat2, fd, c, &how, sizeof(how))) >= 0)
				(void)!fchown(next, st->st_uid, st->st_gid);
		}
		if (next < 0) {
			int r = -errno;

			dest_error(r, done, err, errlen);
			close(fd);
			return r;
		}
		close(fd);
		fd = next;
		if (own_dir_reached(own, fd, done, err, errlen) < 0) {
			close(fd);
			return -EPERM;
		}
	}
	if (fd < 0) {
		int r = -errno;

		dest_error(r, to->base_abs, err, errlen);
		return r;
	}
	return fd;
}

/*
 * Is dir still the directory that to names? Whoever owns a directory on the
 * way can rename it elsewhere (outside every zone) while the file is being
 * copied into it: then the file must not stay there.
 */
static int dest_in_place(const void *ctx, int dir)
{
	const struct archive_dest *to = ctx;
	struct stat a, b;
	const char *base;
	char err[8];
	int fd = dest_dir(to, NULL, false, NULL, &base, err, sizeof(err)), r;

	if (fd < 0)
		return fd;
	r = fstat(fd, &a) == 0 && fstat(dir, &b) == 0 && a.st_dev == b.st_dev &&
			    a.st_ino == b.st_ino
		    ? 0
		    : -ESTALE;
	close(fd);
	return r;
}

int archive_restore_io(struct archive *a, struct archive_restore *rs)
{
	const struct archive_dest *to = &rs->to;
	const char *rel = rel_of(a, rs->apath), *abase, *tbase;
	char adirp[PATH_MAX], *target = NULL, *err = rs->err;
	size_t errlen = sizeof(rs->err);
	int adir = -1, tdir = -1, src = -1, r;
	struct archive_opts o = { .keep_going = rs->keep_going, .ud = rs->ud };
	struct stat st, tst;
	struct own_dirs own;
	int state = -1;

	if (!rel || asprintf(&target, "%s/%s", to->base_abs, to->rel) < 0) {
		snprintf(err, errlen, "out of memory restoring %s", rs->apath);
		free(target);
		return -ENOMEM;
	}
	split(rel, adirp, sizeof(adirp), &abase);
	adir = open_dirs(a->root_fd, adirp, false, 0, (uid_t)-1, (gid_t)-1, false);
	src = adir < 0 ? -1 : openat(adir, abase, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	rs->src = src;
	if (src < 0 || fstat(src, &st) < 0) {
		r = adir < 0 ? adir : -errno;
		snprintf(err, errlen,
			 "cannot restore entry %llu: its archived copy %s %s; nothing was moved",
			 (unsigned long long)rs->id, rs->apath,
			 r == -ENOENT ? "is gone (removed from outside sweepd)" : strerror(-r));
		goto out;
	}
	own = (struct own_dirs){ { "the archive", "state_dir" },
				 { a->root, rs->state_dir }, { { 0 } }, { a->root_fd, -1 }, 0 };
	if (fstat(a->root_fd, &own.st[0]) == 0)
		own.n = 1;
	state = open(rs->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (state >= 0 && fstat(state, &own.st[own.n]) == 0) {
		own.what[own.n] = "state_dir";
		own.mnt[own.n] = state;
		own.path[own.n++] = rs->state_dir;
	}
	tdir = dest_dir(to, &st, true, &own, &tbase, err, errlen);
	if (tdir < 0) {
		r = tdir;
		goto out;
	}
	if (fstatat(tdir, tbase, &tst, AT_SYMLINK_NOFOLLOW) == 0) {
		r = -EEXIST;
		snprintf(err, errlen,
			 "%s already exists: restore never overwrites; move it away or give \"to\" "
			 "another path",
			 target);
		goto out;
	}
	if (fstat(tdir, &tst) == 0 && tst.st_dev == st.st_dev && !rs->compressed) {
		r = renameat2(adir, abase, tdir, tbase, RENAME_NOREPLACE) < 0 ? -errno : 0;
		if (r == 0 && dest_in_place(to, tdir) < 0)
			r = renameat2(tdir, tbase, adir, abase, RENAME_NOREPLACE) < 0 ? -errno
											: -ESTALE;
		if (r == 0)
			mark_clear(src);
		if (r != -EXDEV)
			goto done;
	}
	r = move_across(a, src, &st, &(struct end){ adir, abase, rs->apath },
			&(struct end){ tdir, tbase, target, dest_in_place, to }, rs->compressed ? -1 : 0,
			0, NULL, &o, NULL, NULL);
done:
	if (r == 0) {
		rs->where = target;
		target = NULL;
	} else if (r == -ECANCELED) {
		snprintf(err, errlen,
			 "the restore of %s to %s was stopped (sweepd is stopping): nothing was "
			 "moved, it stays in the archive; restore it again",
			 rs->apath, target);
	} else if (r == -ESTALE) {
		snprintf(err, errlen,
			 "cannot restore %s to %s: a directory on the way was moved or replaced "
			 "while the file was restored; it stays in the archive: restore it again",
			 rs->apath, target);
	} else {
		int dl = strrchr(target, '/') > target ? (int)(strrchr(target, '/') - target) : 1;

		snprintf(err, errlen,
			 r == -ENOSPC || r == -EDQUOT
				 ? "cannot restore %s to %s: %s; it stays in the archive: free room "
				   "on the filesystem of %.*s (or give \"to\" a path on another), "
				   "then restore again"
				 : "cannot restore %s to %s: %s; it stays in the archive: set that "
				   "right in %.*s (or give \"to\" another path), then restore again",
			 rs->apath, target, strerror(-r), dl, target);
	}
out:
	free(target);
	rs->src = -1;
	if (src >= 0)
		close(src);
	if (adir >= 0)
		close(adir);
	if (tdir >= 0)
		close(tdir);
	if (state >= 0)
		close(state);
	return r;
}

void archive_restore_clear(struct archive_restore *rs)
{
	free(rs->apath);
	free(rs->state_dir);
	free((char *)rs->to.base_abs);
	free((char *)rs->to.rel);
	free(rs->where);
	if (rs->to.base >= 0)
		close(rs->to.base);
	rs->apath = rs->state_dir = rs->where = NULL;
	rs->to = (struct archive_dest){ .base = -1 };
}
