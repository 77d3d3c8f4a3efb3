#include "beneath.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/openat2.h>
#include <unistd.h>

#include "nolink.h"

static int openat2_dir(int at, const char *path, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_DIRECTORY | O_CLOEXEC),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_XDEV | RESOLVE_NO_SYMLINKS |
			   RESOLVE_NO_MAGICLINKS,
	};
	int fd = (int)syscall(SYS_openat2, at, path, &how, sizeof(how));

	return fd < 0 ? -errno : fd;
}

int beneath_open_dir(int root, const char *rel, int flags)
{
	const char *piece = rel;
	int fd = -1;

	do {
		size_t n = strlen(piece);
		char part[PATH_MAX];
		int next;

		if (n >= PATH_MAX) {
			n = PATH_MAX - 1;
			while (n && piece[n] != '/')
				n--;
			if (!n) {
				if (fd >= 0)
					close(fd);
				return -ENAMETOOLONG;
			}
		}
		memcpy(part, piece, n);
		part[n] = '\0';
		next = openat2_dir(fd >= 0 ? fd : root, part[0] ? part : ".",
				  *piece && piece[n] ? O_PATH : flags);
		if (fd >= 0)
			close(fd);
		if (next < 0)
			return next;
		fd = next;
		piece += n;
		if (*piece == '/')
			piece++;
	} while (*piece);
	return fd;
}

int beneath_same_dir(int fd, int dir)
{
	struct stat now, held;
	int r;

	if (fd < 0)
		return -ESTALE;
	r = fstat(fd, &now) == 0 && fstat(dir, &held) == 0 && now.st_dev == held.st_dev &&
			    now.st_ino == held.st_ino
		    ? 0
		    : -ESTALE;
	close(fd);
	return r;
}

int beneath_still_at(const char *root_path, uint64_t dev, const char *rel, int dir)
{
	int root = nolink_open_root(root_path, dev), fd;

	if (root < 0)
		return -ESTALE;
	fd = beneath_open_dir(root, rel, O_PATH);
	close(root);
	return beneath_same_dir(fd, dir);
}
