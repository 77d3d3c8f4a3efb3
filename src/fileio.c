#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int file_replace(const char *path, const char *tmp, const char *buf, size_t len, bool durable)
{
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	int r = 0;

	if (fd < 0)
		return -errno;
	while (len && !r) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno != EINTR)
			r = -errno;
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
		}
	}
	if (!r && durable && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && rename(tmp, path) < 0)
		r = -errno;
	if (r)
		unlink(tmp);
	return r;
}
