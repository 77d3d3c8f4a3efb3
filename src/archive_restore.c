#include "archive.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "archive_impl.h"
#include "beneath.h"

/*
 * Restores: the archived copy put back where it was (or where the request
 * says), through no link, never over a file, never into sweepd's own
 * directories however they are reached, and undone when a directory on the
 * way moves meanwhile.
 */

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

/* "uid N (name)", or "uid N" for an id without an account: into buf. */
static const char *user_named(uid_t uid, char *buf, size_t len)
{
	struct passwd pw, *found = NULL;
	char rec[1024];

	if (getpwuid_r(uid, &pw, rec, sizeof(rec), &found) == 0 && found)
		snprintf(buf, len, "uid %u (%s)", (unsigned)uid, found->pw_name);
	else
		snprintf(buf, len, "uid %u", (unsigned)uid);
	return buf;
}

/*
 * May the restored file (file) go below the directory open as fd, reached at
 * at? Not when someone other than root, sweepd's user or the file's owner owns
 * it, nor when its group or others may write in it without the sticky bit:
 * they could read the file there (if its mode lets them) or rename and
 * replace it, as systemd-tmpfiles refuses an "unsafe path transition". Looked
 * at through the descriptor the restore goes on with, so a swap of names in
 * between changes nothing. -EPERM with err naming the directory and its owner.
 */
static int dest_dir_safe(int fd, const struct stat *file, const char *at, char *err,
			 size_t errlen)
{
	struct stat st;
	char who[300];

	if (fstat(fd, &st) < 0) {
		int r = -errno;

		dest_error(r, at, err, errlen);
		return r;
	}
	user_named(st.st_uid, who, sizeof(who));
	if (st.st_uid != 0 && st.st_uid != geteuid() && st.st_uid != file->st_uid) {
		snprintf(err, errlen,
			 "restore under %s refused: that directory's owner is %s, neither root, "
			 "sweepd's user nor the file's owner (uid %u), and could read the file "
			 "there or replace it; move the directory away (or give it to the file's "
			 "owner), then restore again",
			 at, who, (unsigned)file->st_uid);
		return -EPERM;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)) {
		snprintf(err, errlen,
			 "restore under %s refused: that directory (owner %s, mode %04o) is "
			 "writable by %s without the sticky bit, so they could rename or replace "
			 "the file there; close it (chmod go-w) or set the sticky bit (chmod +t), "
			 "then restore again",
			 at, who, (unsigned)(st.st_mode & 07777),
			 st.st_mode & S_IWOTH ? "everyone" : "its group");
		return -EPERM;
	}
	return 0;
}

/*
 * Opens the directory that is to hold the destination, one component at a
 * time beneath to->base, through no symbolic link (nor, inside a zone, onto
 * another mount), making the missing ones (0700, owned like the file they
 * are for: the directory the file lived in may have been closed, and none
 * made is opened wider than that), refusing any that is (or lies inside) one
 * of own and, with st, any below the trusted ones that is not safe for it.
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
	size_t used, depth = 0;
	int fd = openat(to->base, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	archive_split(to->rel, dir, sizeof(dir), base);
	used = (size_t)snprintf(done, sizeof(done), "%s", to->base_abs[0] ? to->base_abs : "/");
	if (fd >= 0 && own_dir_reached(own, fd, done, err, errlen) < 0) {
		close(fd);
		return -EPERM;
	}
	if (!to->base_abs[0])
		used = 0;
	for (char *save = NULL, *c = strtok_r(dir, "/", &save); fd >= 0 && c;
	     c = strtok_r(NULL, "/", &save)) {
		int next = (int)syscall(SYS_openat2, fd, c, &how, sizeof(how)), r;

		if (used < sizeof(done))
			used += (size_t)snprintf(done + used, sizeof(done) - used, "/%s", c);
		if (next < 0 && errno == ENOENT && make) {
			/* Only one made here is given away: another's is looked at below. */
			bool made = mkdirat(fd, c, 0700) == 0;

			if (made || errno == EEXIST)
				next = (int)syscall(SYS_openat2, fd, c, &how, sizeof(how));
			if (next >= 0 && made) {
				(void)!fchown(next, st->st_uid, st->st_gid); /* not root: sweepd's */
				(void)!fchmod(next, 0700); /* whatever the umask, no set-gid */
			}
		}
		if (next < 0) {
			r = -errno;
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
		if (st && ++depth > to->trusted && (r = dest_dir_safe(fd, st, done, err, errlen)) < 0) {
			close(fd);
			return r;
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
	const char *base;
	char err[8];
	int fd = dest_dir(to, NULL, false, NULL, &base, err, sizeof(err));

	return fd < 0 ? fd : beneath_same_dir(fd, dir);
}

/*
 * The file written from a source (the bucket) straight into the destination's
 * directory: an unnamed file filled and made durable, linked in as tbase
 * (never over a file), and taken back out if the directory moved meanwhile.
 */
static int restore_from(const struct archive_restore *rs, int tdir, const char *tbase,
			char *err, size_t errlen)
{
	int tmp = archive_open_tmpfile(tdir), r;

	if (tmp < 0)
		return tmp;
	r = rs->from->fill(rs->from->ud, tmp, err, errlen);
	if (r == 0)
		r = archive_link_tmpfile(tmp, tdir, tbase);
	close(tmp);
	if (r == 0) {
		archive_fsync_dir(tdir);
		if (dest_in_place(&rs->to, tdir) < 0) {
			unlinkat(tdir, tbase, 0);
			r = -ESTALE;
		}
	}
	return r;
}

int archive_restore_io(struct archive *a, struct archive_restore *rs)
{
	const struct archive_dest *to = &rs->to;
	const char *rel = archive_rel_of(a, rs->apath), *abase, *tbase;
	char adirp[PATH_MAX], *target = NULL, *err = rs->err;
	size_t errlen = sizeof(rs->err);
	int adir = -1, tdir = -1, src = -1, r;
	struct archive_opts o = { .keep_going = rs->keep_going, .ud = rs->ud };
	struct stat st, tst;
	struct own_dirs own;
	int state = -1;

	if ((!rel && !rs->from) || asprintf(&target, "%s/%s", to->base_abs, to->rel) < 0) {
		snprintf(err, errlen, "out of memory restoring %s", rs->apath);
		free(target);
		return -ENOMEM;
	}
	if (rs->from) {
		r = rs->from->describe(rs->from->ud, &st, err, errlen);
		if (r < 0)
			goto out;
		goto dest;
	}
	archive_split(rel, adirp, sizeof(adirp), &abase);
	adir = archive_open_dirs(a->root_fd, adirp, false, 0, (uid_t)-1, (gid_t)-1, false);
	src = adir < 0 ? -1 : openat(adir, abase, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (src < 0 || fstat(src, &st) < 0) {
		r = adir < 0 ? adir : -errno;
		snprintf(err, errlen,
			 "cannot restore entry %llu: its archived copy %s %s; nothing was moved",
			 (unsigned long long)rs->id, rs->apath,
			 r == -ENOENT ? "is gone (removed from outside sweepd)" : strerror(-r));
		goto out;
	}
dest:
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
	if (rs->from) {
		r = restore_from(rs, tdir, tbase, err, errlen);
		if (r < 0 && r != -ESTALE && r != -ECANCELED && r != -ENOSPC && r != -EDQUOT)
			goto out; /* err says it, as the source found it */
		goto done;
	}
	if (fstat(tdir, &tst) == 0 && tst.st_dev == st.st_dev && !rs->compressed) {
		r = renameat2(adir, abase, tdir, tbase, RENAME_NOREPLACE) < 0 ? -errno : 0;
		if (r == 0 && dest_in_place(to, tdir) < 0)
			r = renameat2(tdir, tbase, adir, abase, RENAME_NOREPLACE) < 0 ? -errno
											: -ESTALE;
		if (r == 0)
			archive_mark_clear(src);
		if (r != -EXDEV)
			goto done;
	}
	r = archive_move_across(a, src, &st, &(struct archive_end){adir, abase, rs->apath},
				&(struct archive_end){tdir, tbase, target, dest_in_place, to},
				rs->compressed ? -1 : 0, 0, NULL, &o, NULL, NULL);
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
