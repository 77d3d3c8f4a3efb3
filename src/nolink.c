#include "nolink.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
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

int nolink_open_root(const char *path, uint64_t dev)
{
	int fd = nolink_open_prefix(path, strlen(path), O_PATH);
	struct stat st;

	if (fd < 0)
		return -ENOENT;
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_dev != dev) {
		close(fd);
		return -ENOENT;
	}
	return fd;
}
