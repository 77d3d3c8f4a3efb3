#include "writers.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vec.h"

int writers_parse_flags(const char *text)
{
	const char *p = text;

	/* "pos:", "flags:", "mnt_id:", ... one a line; flags in octal. */
	while (p && *p) {
		if (!strncmp(p, "flags:", 6)) {
			char *end;
			unsigned long v;

			p += 6;
			while (*p == ' ' || *p == '\t')
				p++;
			if (*p < '0' || *p > '7')
				return -EINVAL;
			errno = 0;
			v = strtoul(p, &end, 8);
			if (errno || v > 0x7fffffffUL || (*end && *end != '\n'))
				return -EINVAL;
			return (int)v;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -EINVAL;
}

const struct writers_fd *writers_unsafe(const struct writers_fd *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].flags < 0 || !(v[i].flags & O_APPEND))
			return &v[i];
	return NULL;
}

/*
 * The link /proc/PID/fd/N carries the descriptor's access mode in its own
 * permission bits (S_IWUSR when open for writing), so one lstat tells the
 * mode and one stat through it the file. Returns true when fn stopped.
 */
static bool walk_pid(int procfd, const char *pid, writers_fn fn, void *ud, size_t *hidden)
{
	char path[64];
	struct dirent *e;
	bool stop = false;
	DIR *dir;
	int fdd;

	snprintf(path, sizeof(path), "%s/fd", pid);
	fdd = openat(procfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fdd < 0) {
		if (hidden && (errno == EACCES || errno == EPERM))
			(*hidden)++;
		return false;
	}
	dir = fdopendir(fdd);
	if (!dir) {
		close(fdd);
		return false;
	}
	while (!stop && (e = readdir(dir))) {
		struct stat lst, st;

		if (e->d_name[0] == '.')
			continue;
		if (fstatat(fdd, e->d_name, &lst, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !(lst.st_mode & S_IWUSR))
			continue;
		if (fstatat(fdd, e->d_name, &st, 0) < 0 || !S_ISREG(st.st_mode))
			continue;
		stop = fn(ud, atoi(pid), fdd, e->d_name, &st);
	}
	closedir(dir);
	return stop;
}

int writers_walk(writers_fn fn, void *ud, size_t *hidden)
{
	int procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *e;
	pid_t self = getpid();
	DIR *dir;

	if (hidden)
		*hidden = 0;
	if (procfd < 0)
		return -errno;
	dir = fdopendir(procfd);
	if (!dir) {
		close(procfd);
		return -errno;
	}
	while ((e = readdir(dir))) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9' || atoi(e->d_name) == self)
			continue;
		if (walk_pid(dirfd(dir), e->d_name, fn, ud, hidden))
			break;
	}
	closedir(dir);
	return 0;
}

/* A small file of /proc into buf (NUL-ended); 0 or -errno. */
static int read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		n = -errno;
		close(fd);
		return (int)n;
	}
	close(fd);
	buf[n] = '\0';
	return 0;
}

/*
 * A process's command, its whole name (which may hold newlines of its own:
 * only the one the kernel adds goes), or "?".
 */
static void writers_comm(int pid, char *comm, size_t len)
{
	char path[64], buf[18]; /* 15 bytes at most, the kernel's newline, NUL: all of it read */
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	if (read_small(path, buf, sizeof(buf)) < 0 || !buf[0]) {
		snprintf(comm, len, "?");
		return;
	}
	n = strlen(buf);
	if (buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	snprintf(comm, len, "%.15s", buf);
}

struct finding {
	uint64_t dev, ino;
	struct writers_fd *v;
	size_t n, cap;
	bool oom;
};

static bool found_one(void *ud, int pid, int fdd, const char *fd, const struct stat *st)
{
	struct finding *fi = ud;
	struct writers_fd w = { .pid = pid, .fd = atoi(fd) };
	struct writers_fd *g;
	char path[96], text[512];
	int r;

	(void)fdd;
	if ((uint64_t)st->st_dev != fi->dev || (uint64_t)st->st_ino != fi->ino)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, w.fd);
	r = read_small(path, text, sizeof(text));
	w.flags = r < 0 ? r : writers_parse_flags(text);
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	writers_comm(pid, w.comm, sizeof(w.comm));
	g = vec_grow(fi->v, &fi->cap, fi->n + 1, sizeof(*g));
	if (!g) {
		fi->oom = true;
		return true;
	}
	fi->v = g;
	fi->v[fi->n++] = w;
	return false;
}

int writers_of(uint64_t dev, uint64_t ino, struct writers_fd **out, size_t *n, size_t *hidden)
{
	struct finding fi = { .dev = dev, .ino = ino };
	int r = writers_walk(found_one, &fi, hidden);

	if (r == 0 && fi.oom)
		r = -ENOMEM;
	if (r < 0) {
		free(fi.v);
		fi.v = NULL;
		fi.n = 0;
	}
	*out = fi.v;
	*n = fi.n;
	return r;
}

/* ---- one walk for many files ---- */

struct snap_fd {
	uint64_t dev, ino;
	int pid, fd;
};

struct writers_snap {
	struct snap_fd *v;
	size_t n, cap;
	bool oom;
};

static bool snap_one(void *ud, int pid, int fdd, const char *fd, const struct stat *st)
{
	struct writers_snap *s = ud;
	struct snap_fd *g = vec_grow(s->v, &s->cap, s->n + 1, sizeof(*g));

	(void)fdd;
	if (!g) {
		s->oom = true;
		return true;
	}
	s->v = g;
	s->v[s->n++] = (struct snap_fd){ st->st_dev, st->st_ino, pid, atoi(fd) };
	return false;
}

struct writers_snap *writers_snap_take(void)
{
	struct writers_snap *s = calloc(1, sizeof(*s));

	if (s && (writers_walk(snap_one, s, NULL) < 0 || s->oom)) {
		writers_snap_free(s);
		s = NULL;
	}
	return s;
}

void writers_snap_free(struct writers_snap *s)
{
	if (s)
		free(s->v);
	free(s);
}

bool writers_snap_unsafe(const struct writers_snap *s, uint64_t dev, uint64_t ino,
			 struct writers_fd *out)
{
	for (size_t i = 0; i < s->n; i++) {
		char path[96], text[512];
		int r;

		if (s->v[i].dev != dev || s->v[i].ino != ino)
			continue;
		*out = (struct writers_fd){ .pid = s->v[i].pid, .fd = s->v[i].fd };
		snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", out->pid, out->fd);
		r = read_small(path, text, sizeof(text));
		if (r == -ENOENT)
			continue; /* closed since */
		out->flags = r < 0 ? r : writers_parse_flags(text);
		if (out->flags >= 0 && (out->flags & O_APPEND))
			continue;
		writers_comm(out->pid, out->comm, sizeof(out->comm));
		return true;
	}
	return false;
}
