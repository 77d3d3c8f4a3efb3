#include "trusted.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool trusted_owner(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

/* One name on the way: owner, and who may write where it lies. */
static int check_one(const char *name, const struct stat *st, bool last, char *why, size_t len)
{
	if (!trusted_owner(st->st_uid)) {
		snprintf(why, len, "%s is owned by uid %u, neither root nor sweepd's user: whoever "
				   "owns it could change what runs",
			 name, (unsigned)st->st_uid);
		return -EPERM;
	}
	if (S_ISLNK(st->st_mode))
		return 0; /* its target is checked on the resolved path */
	if (last && !S_ISREG(st->st_mode)) {
		snprintf(why, len, "%s is not a regular file", name);
		return -EPERM;
	}
	if (last && !(st->st_mode & 0111)) {
		snprintf(why, len, "%s is not executable (chmod +x it; it is run without a shell)",
			 name);
		return -EACCES;
	}
	if (!last && !S_ISDIR(st->st_mode)) {
		snprintf(why, len, "%s is not a directory", name);
		return -ENOTDIR;
	}
	if ((st->st_mode & 022) && (last || !(st->st_mode & S_ISVTX))) {
		snprintf(why, len, "%s may be written by %s (mode %04o): anyone there could change "
				   "what runs; chmod go-w it",
			 name, st->st_mode & 002 ? "anyone" : "its group",
			 (unsigned)(st->st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

/* Every prefix of path ("/", "/a", "/a/b", ...) looked at without following its last link. */
static int check_chain(const char *path, char *why, size_t len)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);
	struct stat st;
	int r;

	if (n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		if (i > 1 && buf[i - 1] == '/')
			continue;
		char c = buf[i];
		buf[i] = '\0';
		if (lstat(i == 0 ? "/" : buf, &st) < 0) {
			r = -errno;
			snprintf(why, len, "%s: %s", buf, strerror(errno));
			return r;
		}
		r = check_one(buf, &st, c == '\0', why, len);
		if (r < 0)
			return r;
		buf[i] = c;
	}
	if (lstat("/", &st) == 0)
		return check_one("/", &st, false, why, len);
	return 0;
}

int path_trusted(const char *path, char *why, size_t len)
{
	char *real;
	int r;

	if (path[0] != '/') {
		snprintf(why, len, "%s is not an absolute path", path);
		return -EINVAL;
	}
	r = check_chain(path, why, len);
	if (r < 0)
		return r;
	real = realpath(path, NULL);
	if (!real) {
		r = -errno;
		snprintf(why, len, "%s: %s", path, strerror(errno));
		return r;
	}
	r = check_chain(real, why, len);
	free(real);
	return r;
}
