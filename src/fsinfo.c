#include "fsinfo.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>

/* The mount point of device dev, from /proc/self/mountinfo; the last mount wins. */
static void find_mount(uint64_t dev, char *out, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];

	snprintf(out, len, "?");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned maj, min;
		char mnt[4096];

		if (sscanf(line, "%*u %*u %u:%u %*s %4095s", &maj, &min, mnt) != 3)
			continue;
		if (makedev(maj, min) == dev)
			snprintf(out, len, "%.*s", (int)len - 1, mnt);
	}
	fclose(f);
}

int fsinfo_get(const char *path, struct fsinfo *fs)
{
	struct statvfs sv;
	struct stat st;
	uint64_t avail;

	if (stat(path, &st) < 0 || statvfs(path, &sv) < 0)
		return -errno;
	memset(fs, 0, sizeof(*fs));
	fs->dev = st.st_dev;
	find_mount(st.st_dev, fs->mount, sizeof(fs->mount));
	fs->size = (uint64_t)sv.f_blocks * sv.f_frsize;
	fs->used = (uint64_t)(sv.f_blocks - sv.f_bfree) * sv.f_frsize;
	avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	fs->free = avail;
	fs->used_pct = fs->used + avail ? 100.0 * (double)fs->used / (double)(fs->used + avail) : 0;
	return 0;
}
