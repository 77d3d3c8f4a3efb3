#include "rotate_job.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "beneath.h"
#include "fcopy.h"
#include "lease.h"
#include "logcut.h"
#include "nolink.h"
#include "units.h"
#include "vec.h"
#include "writers.h"

/* An open for writing that meets a lease is tried this many times more, this far apart. */
#define LEASE_TRIES 50
#define LEASE_PAUSE_NS 2000000L

struct rotate_job *rotate_job_new(enum rotate_job_kind kind, const char *root, const char *path,
				  const char *dir_rel, const char *name, const char *copy_rel,
				  const char *zone, const struct rotate_config *rc)
{
	struct rotate_job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->kind = kind;
	j->root = strdup(root);
	j->root_fd = -1;
	j->mj.lane = MOVER_LOGS;
	j->mj.path = strdup(path);
	j->dir_rel = strdup(dir_rel);
	j->name = strdup(name);
	j->copy_rel = strdup(copy_rel);
	j->zone = strdup(zone);
	j->olddir = rc->olddir ? strdup(rc->olddir) : NULL;
	j->rc = *rc;
	j->rc.olddir = j->rc.postrotate = j->rc.prerotate = j->rc.pidfile = NULL;
	j->rc.include = (struct globs){ NULL, 0 };
	if (!j->root || !j->mj.path || !j->dir_rel || !j->name || !j->copy_rel || !j->zone ||
	    (rc->olddir && !j->olddir)) {
		rotate_job_free(j);
		return NULL;
	}
	return j;
}

struct rotate_look *rotate_look_new(void)
{
	struct rotate_look *look = calloc(1, sizeof(*look));

	if (look)
		look->refs = 1;
	return look;
}

struct rotate_look *rotate_look_hold(struct rotate_look *look)
{
	if (look)
		look->refs++;
	return look;
}

void rotate_look_release(struct rotate_look *look)
{
	if (look && !--look->refs) {
		writers_snap_free(look->snap);
		free(look);
	}
}

void rotate_job_free(struct rotate_job *j)
{
	if (!j)
		return;
	rotate_look_release(j->look);
	if (j->root_fd >= 0)
		close(j->root_fd);
	free(j->root);
	for (size_t i = 0; i < j->n_expired; i++)
		free(j->expired[i].name);
	free(j->expired);
	free(j->dir_rel);
	free(j->name);
	free(j->copy_rel);
	free(j->olddir);
	free(j->zone);
	mover_job_free(&j->mj);
}

uid_t rotate_owner_at(int dirfd, const char *name)
{
	struct stat st;

	return dirfd >= 0 && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 ? st.st_uid
										   : (uid_t)-1;
}

/*
 * Is this copy one of ours? Anyone who can write in the directory can make a
 * file with a copy's name; counting it would make keep delete real copies (and
 * a name dated in the future would stop every). A copy is a regular file with
 * one name, owned by us or by the log's owner (owner; (uid_t)-1 when unknown),
 * who can only fool sweepd about their own log.
 */
static bool own_copy(int dirfd, const char *name, uid_t owner)
{
	struct stat st;

	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
	       st.st_nlink == 1 && (st.st_uid == geteuid() || st.st_uid == owner);
}

int rotate_list_copies(int dirfd, const char *base, uid_t owner, struct rotplan_copy **out,
		       size_t *n)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct rotplan_copy *v = NULL;
	size_t cap = 0;
	struct dirent *e;
	DIR *dir;

	*out = NULL;
	*n = 0;
	if (fd < 0 || !(dir = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	while ((e = readdir(dir))) {
		struct rotplan_copy c = { 0 };
		struct rotplan_copy *g;

		if (!rotplan_parse(e->d_name, base, &c.when, &c.zst) ||
		    !own_copy(fd, e->d_name, owner))
			continue;
		g = vec_grow(v, &cap, *n + 1, sizeof(*v));
		if (g)
			v = g;
		if (!g || !(c.name = strdup(e->d_name)))
			break;
		v[(*n)++] = c;
	}
	closedir(dir);
	*out = v;
	return 0;
}

void rotate_free_copies(struct rotplan_copy *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

/*
 * Is dir still the copies' directory (log_dir_in_place: the log's), where
 * the zone's path names it now? Asked right before a name is made or removed
 * there: its owner may have swapped it out of every zone meanwhile
 * (beneath_still_at).
 */
static int copies_in_place(const void *ud, int dir)
{
	const struct rotate_job *j = ud;

	return beneath_still_at(j->root, j->mj.dev, j->copy_rel, dir);
}

static int log_dir_in_place(const struct rotate_job *j, int dir)
{
	return beneath_still_at(j->root, j->mj.dev, j->dir_rel, dir);
}

/* Drops the copies of base past keep and max_age, each said in j->expired; one still open for writing stays. */
static void expire(struct rotate_job *j, int dirfd, const char *base, uid_t owner)
{
	struct rotplan_copy *v;
	size_t n, cap = 0;

	if ((j->rc.keep < 0 && j->rc.max_age < 0) ||
	    rotate_list_copies(dirfd, base, owner, &v, &n) < 0)
		return;
	rotplan_expire(v, n, j->rc.keep, j->rc.max_age, (int64_t)time(NULL));
	for (size_t i = 0; i < n; i++) {
		struct rotate_expired *g;
		struct stat st;

		if (!v[i].drop || fstatat(dirfd, v[i].name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode) || lease_writing_at(dirfd, v[i].name, st.st_ino) != 0)
			continue;
		g = vec_grow(j->expired, &cap, j->n_expired + 1, sizeof(*g));
		if (!g)
			break;
		j->expired = g;
		if (copies_in_place(j, dirfd) < 0)
			break; /* moved away meanwhile: nothing removed out there */
		if (unlinkat(dirfd, v[i].name, 0) < 0)
			continue;
		g[j->n_expired++] = (struct rotate_expired){ v[i].name, (uint64_t)st.st_size,
							     (uint64_t)st.st_blocks, v[i].by_age };
		v[i].name = NULL;
	}
	rotate_free_copies(v, n);
}

/* Between chunks: how far the copy is (bytes read), and whether the daemon is stopping. */
static bool keep_going(void *ud, uint64_t done)
{
	struct rotate_job *j = ud;

	return mover_chunk_done(&j->mj, done);
}

static int64_t now_us(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

/* Whether the log is open for writing now; counted as one of its opens when it was opened. */
static int writing_at(struct rotate_job *j, int dfd)
{
	int r = lease_writing_at(dfd, j->name, j->mj.ino);

	if (!(r == -ENOENT || r == -ELOOP || r == -ESTALE || r == -ENXIO || r == -EACCES))
		j->opens++;
	return r;
}

/*
 * The live file opened for writing, still the file the table knows. With
 * O_NONBLOCK an open for writing never waits on a read lease: it fails with
 * EAGAIN. The loop takes one for an instant to ask whether anyone writes the
 * file (after our own open's events, say): that is waited out, for a moment;
 * a lease someone else keeps is an error, as ever.
 */
static int open_live(struct rotate_job *j, int dfd)
{
	struct stat st;
	int fd, tries = 0;

	while ((fd = openat(dfd, j->name, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0 &&
	       errno == EAGAIN && tries++ < LEASE_TRIES)
		nanosleep(&(struct timespec){ 0, LEASE_PAUSE_NS }, NULL);
	if (fd < 0)
		return -errno;
	j->opens++;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_ino != j->mj.ino) {
		close(fd);
		return -ESTALE;
	}
	/*
	 * Another name of the same file may lie outside every zone (ln
	 * /etc/app.conf logs/x.log): a cut in place would cut that file too.
	 */
	if (st.st_nlink > 1) {
		close(fd);
		j->blocked = j->linked = true;
		j->pid = 0;
		snprintf(j->comm, sizeof(j->comm), "-");
		snprintf(j->err, sizeof(j->err),
			 "%s: not cut in place: it has %ju names (hard links), and cutting it "
			 "would cut the file under every other name too, perhaps outside the "
			 "zone; remove the other names, or use method = \"rename\"",
			 j->mj.path, (uintmax_t)st.st_nlink);
		return -EBUSY;
	}
	return fd;
}

/*
 * Before an in-place cut under a writer: every writer must append
 * (O_APPEND). One that writes at its own offset would go on past the new end
 * of a collapsed or truncated log and leave a hole of NUL bytes, and the log
 * would look as big as before. Returns 0 (safe to cut) or -EBUSY, blocked,
 * with j->err saying who and what to do. rename needs no such check.
 */
static int check_writers(struct rotate_job *j, int dfd)
{
	static const char todo[] = "open it for appending (>> in a shell, O_APPEND, \"a\" in "
				   "Python), or use method = \"rename\" with signal or postrotate";
	const char *what = j->rc.keep_tail_lines > 0 ? "cut down" : "rotated";
	const struct writers_fd *bad;
	struct writers_fd *v = NULL, one;
	size_t n = 0, hidden = 0;
	struct stat st;
	int r;

	if (fstatat(dfd, j->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	/*
	 * One walk of /proc serves the whole pass for the logs it shows a bad
	 * writer of; a log it shows none for is asked about afresh, so that a
	 * writer opened since the walk is never missed before a cut.
	 */
	if (j->look && !j->look->taken) {
		j->look->snap = writers_snap_take();
		j->look->taken = true;
	}
	if (j->look && j->look->snap &&
	    writers_snap_unsafe(j->look->snap, st.st_dev, st.st_ino, &one)) {
		bad = &one;
		r = 0;
	} else {
		r = writers_of(st.st_dev, st.st_ino, &v, &n, &hidden);
		bad = r == 0 ? writers_unsafe(v, n) : NULL;
	}
	if (r == 0 && !bad && (n > 0 || hidden == 0)) {
		free(v); /* each appends, or the writer has gone meanwhile */
		return 0;
	}
	j->blocked = true;
	j->pid = bad ? bad->pid : 0;
	snprintf(j->comm, sizeof(j->comm), "%s", bad ? bad->comm : "?");
	if (r < 0)
		snprintf(j->err, sizeof(j->err),
			 "%s: not %s: it is open for writing and sweepd cannot read /proc to "
			 "tell whether its writers append (%s); %s",
			 j->mj.path, what, strerror(-r), todo);
	else if (!bad)
		snprintf(j->err, sizeof(j->err),
			 "%s: not %s: it is open for writing by a process whose /proc entries "
			 "sweepd (uid %u) cannot read, so it cannot tell whether it appends: "
			 "a cut in place could leave a hole; run sweepd as root, or %s",
			 j->mj.path, what, (unsigned)geteuid(), todo);
	else if (bad->flags < 0)
		snprintf(j->err, sizeof(j->err),
			 "%s: not %s: pid %d (%s) holds it open for writing and its open flags "
			 "cannot be read (/proc/%d/fdinfo/%d: %s), so a cut in place could leave "
			 "a hole; run sweepd as root, or %s",
			 j->mj.path, what, bad->pid, bad->comm, bad->pid, bad->fd,
			 strerror(-bad->flags), todo);
	else
		snprintf(j->err, sizeof(j->err),
			 "%s: not %s: pid %d (%s) writes it without O_APPEND, at its own offset: "
			 "a cut in place would leave a hole of NUL bytes that it goes on writing "
			 "after; %s",
			 j->mj.path, what, bad->pid, bad->comm, todo);
	free(v);
	return -EBUSY;
}

/* keep_tail_lines: the live file cut down to its last lines. */
static int tail_cut(struct rotate_job *j, int dfd)
{
	struct stat st;
	int writing, fd, r;

	writing = writing_at(j, dfd);
	if (writing == 1 && (r = check_writers(j, dfd)) < 0)
		return r;
	fd = writing < 0 ? writing : open_live(j, dfd);
	if (fd < 0)
		return fd;
	r = logcut_tail(fd, j->rc.keep_tail_lines, writing == 1, &j->cut);
	if (r == 0 && fstat(fd, &st) == 0) {
		j->floor_set = true;
		j->new_floor = (uint64_t)st.st_size;
	}
	close(fd);
	if (r == -EOPNOTSUPP)
		snprintf(j->err, sizeof(j->err),
			 "%s: keep_tail_lines needs a filesystem that collapses (ext4, xfs) while "
			 "a writer holds the file; here it waits until the writer closes it",
			 j->mj.path);
	return r;
}

/*
 * Into a copy named for now: collapse under a writer (copytruncate where the
 * method or the filesystem says so); a log nobody writes to is taken whole,
 * which loses nothing either way. A log that is mostly holes is copied by its
 * data into a plain, sparse copy (no .zst), whatever compress says: zstd
 * would read every zero of its holes.
 */
static int cut_copy(struct rotate_job *j, int dfd, int cdir)
{
	const struct rotate_config *rc = &j->rc;
	int64_t us = now_us();
	struct stat st;
	int writing, fd, r;
	bool collapse, zst;

	writing = writing_at(j, dfd);
	if (writing < 0)
		return writing;
	if (writing == 1 && (r = check_writers(j, dfd)) < 0)
		return r;
	fd = open_live(j, dfd);
	if (fd < 0)
		return fd;
	collapse = writing && rc->method != ROTATE_COPYTRUNCATE &&
		   (rc->method == ROTATE_COLLAPSE || logcut_can_collapse(fd));
	if (writing && rc->method == ROTATE_COLLAPSE && !logcut_can_collapse(fd)) {
		snprintf(j->err, sizeof(j->err),
			 "%s: method \"collapse\" needs ext4 or xfs; this filesystem cannot cut "
			 "a file's head in place: use method \"auto\" or \"copytruncate\"",
			 j->mj.path);
		close(fd);
		return -EOPNOTSUPP;
	}
	r = fstat(fd, &st) < 0 ? -errno : 0;
	zst = r == 0 && rc->compress == COMPRESS_ZSTD && !fcopy_mostly_holes(&st);
	if (r == 0)
		r = rotplan_name(j->copy, sizeof(j->copy), j->name, us / 1000000,
				 (long)(us % 1000000), zst);
	if (r == 0) {
		struct logcut_copy c = { .dirfd = cdir, .name = j->copy,
					 .level = zst ? rc->level : 0, .like = &st,
					 .keep_going = keep_going, .in_place = copies_in_place,
					 .ud = j };
		r = collapse ? logcut_collapse(fd, &c, &j->cut)
			     : logcut_copytruncate(fd, &c, writing == 1, &j->cut);
	}
	close(fd);
	if (r < 0)
		j->copy[0] = '\0';
	return r;
}

/*
 * create: the new empty live log, in the log's directory (held open beneath
 * the zone root), never over anything there (O_EXCL) nor through a link
 * (O_NOFOLLOW); its mode, owner and group as configured, else the moved
 * log's (never a setuid, setgid or sticky bit). 1, or -errno.
 */
static int create_live(struct rotate_job *j, int dfd, const struct stat *old)
{
	const struct rotate_create *c = &j->rc.create;
	mode_t mode = c->mode >= 0 ? (mode_t)c->mode : old->st_mode & 0777;
	uid_t uid = c->uid != (uid_t)-1 ? c->uid : old->st_uid;
	gid_t gid = c->gid != (gid_t)-1 ? c->gid : old->st_gid;
	int fd = openat(dfd, j->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	int r = 1;

	if (fd < 0)
		return -errno;
	/* Owner first: a chown may clear mode bits, and the mode is not the umask's. */
	if (fchown(fd, uid, gid) < 0 || fchmod(fd, mode) < 0) {
		struct stat mine, there;

		r = -errno;
		/* Not as create says (a writer would find it with the wrong owner): taken back. */
		if (fstat(fd, &mine) == 0 && fstatat(dfd, j->name, &there, AT_SYMLINK_NOFOLLOW) == 0 &&
		    mine.st_ino == there.st_ino && mine.st_dev == there.st_dev)
			unlinkat(dfd, j->name, 0);
	}
	fsync(fd);
	close(fd);
	fsync(dfd);
	return r;
}

/* rename: the live file moved aside; its writer is told to reopen it (by the rotator). */
static int move_aside(struct rotate_job *j, int dfd, int cdir)
{
	int64_t us = now_us();
	struct stat st;
	int r;

	if (fstatat(dfd, j->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (st.st_ino != j->mj.ino || !S_ISREG(st.st_mode))
		return -ESTALE;
	r = rotplan_name(j->copy, sizeof(j->copy), j->name, us / 1000000, (long)(us % 1000000),
			 false);
	if (r < 0)
		return r;
	if (log_dir_in_place(j, dfd) < 0 || copies_in_place(j, cdir) < 0) {
		j->copy[0] = '\0';
		return -ESTALE; /* moved away meanwhile, perhaps out of every zone */
	}
	if (renameat2(dfd, j->name, cdir, j->copy, RENAME_NOREPLACE) < 0) {
		r = -errno;
		j->copy[0] = '\0';
		if (r == -EXDEV)
			snprintf(j->err, sizeof(j->err),
				 "%s: method \"rename\" needs olddir on the log's own filesystem",
				 j->mj.path);
		return r;
	}
	j->cut = (uint64_t)st.st_size;
	j->copy_ino = st.st_ino;
	if (j->rc.create.set)
		j->created = create_live(j, dfd, &st);
	fsync(cdir);
	return 0;
}

/* The copies' directory, as a real descriptor; olddir made when missing (its parent must be there). */
static int open_copy_dir(struct rotate_job *j, bool make)
{
	int fd = beneath_open_dir(j->root_fd, j->copy_rel, O_RDONLY);

	if (fd == -ENOENT && j->olddir && make) {
		int pfd = beneath_open_dir(j->root_fd, j->dir_rel, O_PATH);
		if (pfd < 0)
			return pfd;
		fd = mkdirat(pfd, j->olddir, 0750) < 0 && errno != EEXIST ? -errno : 0;
		close(pfd);
		if (fd == 0)
			fd = beneath_open_dir(j->root_fd, j->copy_rel, O_RDONLY);
	}
	return fd;
}

/* Checked again right before it is touched: still there, still due (else nothing is done). */
static bool still_due(struct rotate_job *j, int dfd)
{
	struct stat st;

	return fstatat(dfd, j->name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_ino == j->mj.ino &&
	       st.st_size > 0 &&
	       (j->why != REASON_ROTATE_SIZE ||
		rotplan_size_due(units_data_bytes((uint64_t)st.st_size, (uint64_t)st.st_blocks),
				 j->rc.size, j->rc.keep_tail_lines > 0 ? j->floor : 0));
}

/* 0 (j->cut says whether anything was cut) or -errno, err said where it says more. */
static int run_cut(struct rotate_job *j, int dfd)
{
	uid_t owner;
	int cdir, r;

	if (!still_due(j, dfd))
		return 0;
	if (j->rc.keep_tail_lines > 0)
		return tail_cut(j, dfd);
	cdir = open_copy_dir(j, true);
	if (cdir < 0) {
		if (cdir == -ELOOP && j->olddir)
			snprintf(j->err, sizeof(j->err),
				 "%s: not rotated: olddir %s is a symbolic link (or one is on its "
				 "way): sweepd never follows one; make it a directory",
				 j->mj.path, j->olddir);
		else
			snprintf(j->err, sizeof(j->err),
				 "%s: cannot open the copies' directory %s: %s", j->mj.path,
				 j->olddir ? j->olddir : ".", strerror(-cdir));
		return cdir;
	}
	owner = rotate_owner_at(dfd, j->name); /* before a rename moves it (or create makes another) */
	r = j->rc.method == ROTATE_RENAME ? move_aside(j, dfd, cdir) : cut_copy(j, dfd, cdir);
	if (r == 0)
		expire(j, cdir, j->name, owner);
	close(cdir);
	return r;
}

/* 0 (done, or still_written) or -errno. */
static int run_compress(struct rotate_job *j, int dfd)
{
	/* Held, not opened again by name: a fifo or another file swapped in is never read. */
	struct lease_held h = { .fd = -1 };
	char zname[NAME_MAX + 1], base[NAME_MAX + 1];
	int w = lease_hold(dfd, j->name, j->mj.ino, &h), r;

	if (w == 1) {
		j->still_written = true; /* lines still arrive in it */
		return 0;
	}
	if (w != 0)
		return w == -ESTALE || w == -ELOOP ? -ENOENT : w;
	/* What status shows the progress of: the copy as held now (queued, its size then). */
	atomic_store(&j->mj.bytes, fcopy_disk_bytes(&h.st));
	if (fcopy_mostly_holes(&h.st)) {
		/* Left sparse on purpose: done (rotate_live_get does not queue it again). */
		lease_release(&h);
		return 0;
	}
	if (snprintf(zname, sizeof(zname), "%s.zst", j->name) >= (int)sizeof(zname)) {
		lease_release(&h);
		return -ENAMETOOLONG;
	}
	{
		struct logcut_copy c = { .dirfd = dfd, .name = zname, .level = j->rc.level,
					 .like = &h.st, .keep_going = keep_going,
					 .in_place = copies_in_place, .ud = j };
		r = logcut_compress(h.fd, j->name, &c);
	}
	if (r == 0) {
		snprintf(base, sizeof(base), "%.*s", (int)(strlen(j->name) - ROTPLAN_STAMP_LEN),
			 j->name);
		expire(j, dfd, base, h.st.st_uid);
	}
	lease_release(&h);
	return r;
}

static void run_job(struct rotate_job *j)
{
	struct mover_job *mj = &j->mj;
	int dfd;

	if (j->kind == ROTATE_JOB_EXPIRE) {
		int ldir = beneath_open_dir(j->root_fd, j->dir_rel, O_PATH);
		int cdir = open_copy_dir(j, false);

		if (cdir >= 0)
			expire(j, cdir, j->name, rotate_owner_at(ldir, j->name));
		if (cdir >= 0)
			close(cdir);
		if (ldir >= 0)
			close(ldir);
		j->r = 0;
		return;
	}
	dfd = beneath_open_dir(j->root_fd, j->kind == ROTATE_JOB_COMPRESS ? j->copy_rel : j->dir_rel,
			       O_RDONLY);
	if (dfd < 0) {
		j->r = dfd == -ELOOP || dfd == -EXDEV ? -ENOENT : dfd;
		return;
	}
	if (j->kind == ROTATE_JOB_COMPRESS) {
		j->r = run_compress(j, dfd);
		if (j->r == 0)
			j->r = !j->still_written;
	} else {
		j->r = run_cut(j, dfd);
		if (j->r == 0)
			j->r = j->cut > 0;
	}
	if (j->r > 0)
		mover_progress(mj, mj->bytes);
	close(dfd);
}

void rotate_job_run(struct mover_job *mj)
{
	struct rotate_job *j = (struct rotate_job *)mj;

	j->err[0] = '\0';
	j->root_fd = nolink_open_root(j->root, mj->dev);
	if (j->root_fd < 0) {
		j->r = -ENOENT; /* moved away, gone, or another filesystem there: events follow */
		return;
	}
	run_job(j);
	/* Its result may wait for the loop a while: no descriptor kept meanwhile. */
	close(j->root_fd);
	j->root_fd = -1;
}
