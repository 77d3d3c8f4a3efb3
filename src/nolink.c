#include "nolink.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int nolink_open_dir(int dirfd, const char *path, int flags, uint64_t resolve)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_DIRECTORY | O_CLOEXEC),
		.resolve = resolve | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));

	return fd < 0 ? -errno : fd;
}

int nolink_open_beneath(int root, const char *rel, int flags)
{
	if (root < 0)
		return -ENOENT;
	return nolink_open_dir(root, rel[0] ? rel : ".", flags, RESOLVE_BENEATH | RESOLVE_NO_XDEV);
}

int nolink_open_beneath_long(int root, char *rel, int flags)
{
	int fd = -1;

	if (root < 0)
		return -ENOENT;
	for (char *piece = rel; fd < 0 || *piece;) {
		size_t n = strlen(piece);
		char *end = piece + n;
		int next;

		if (n >= PATH_MAX) {
			end = piece + PATH_MAX - 1;
			while (end > piece && *end != '/')
				end--;
			if (end == piece) {
				if (fd >= 0)
					close(fd);
				return -ENAMETOOLONG; /* no name is that long */
			}
			*end = '\0';
		}
		next = nolink_open_dir(fd >= 0 ? fd : root, piece[0] ? piece : ".",
				       end != piece + n ? O_PATH : flags,
				       RESOLVE_BENEATH | RESOLVE_NO_XDEV);
		if (end != piece + n)
			*end = '/';
		if (fd >= 0)
			close(fd);
		if (next < 0)
			return next;
		fd = next;
		piece = end == piece + n ? end : end + 1;
	}
	return fd;
}

int nolink_open_prefix(const char *path, size_t len, int flags)
{
	char buf[PATH_MAX];

	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	if (len)
		memcpy(buf, path, len);
	else
		buf[len++] = '/';
	buf[len] = '\0';
	return nolink_open_dir(AT_FDCWD, buf, flags, 0);
}
