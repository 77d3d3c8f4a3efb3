#include "scan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "table.h"
#include "watch_priv.h"

struct scan_stack {
	struct table_dir **dirs;
	size_t len, cap;
};

static int stack_push(struct scan_stack *s, struct table_dir *d)
{
	if (s->len == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct table_dir **n = realloc(s->dirs, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		s->dirs = n;
		s->cap = cap;
	}
	s->dirs[s->len++] = d;
	return 0;
}

/*
 * Lists one directory: the watch goes on before the listing, so that what is
 * created while we read is either listed or reported. Returns whether the
 * directory got its watch.
 */
static bool scan_one(struct watch *w, struct watch_zone *z, struct table_dir *d, int dfd,
		     bool rescan, struct scan_stack *todo)
{
	bool watched = watch_add(w, z, d, dfd) == 0;
	struct dirent *e;
	DIR *dir;

	if (rescan)
		d->flags |= TD_SEEN;
	dir = fdopendir(dfd);
	if (!dir) {
		close(dfd);
		return watched;
	}
	while ((e = readdir(dir))) {
		struct stat st;

		if (e->d_name[0] == '.' &&
		    (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
			continue;
		if (e->d_type != DT_REG && e->d_type != DT_DIR && e->d_type != DT_UNKNOWN)
			continue; /* links, sockets, fifos, devices */
		if (e->d_type == DT_DIR && !z->cfg->recursive)
			continue;
		if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue; /* gone since the listing: its event follows */
		if (S_ISREG(st.st_mode)) {
			watch_file_found(w, z, d, e->d_name, &st, rescan);
		} else if (S_ISDIR(st.st_mode) && z->cfg->recursive && st.st_dev == z->dev &&
			   watch_wants_dir(w, z, d, e->d_name)) {
			struct table_dir *c =
				table_dir_add(w->table, d, z->idx, e->d_name, st.st_dev, st.st_ino);
			if (c)
				stack_push(todo, c);
		}
	}
	closedir(dir);
	return watched;
}

uint64_t scan_tree(struct watch *w, struct watch_zone *z, struct table_dir *d, int dfd,
		   bool rescan)
{
	struct scan_stack todo = {0};
	uint64_t unwatched = 0;

	if (!scan_one(w, z, d, dfd, rescan, &todo))
		unwatched++;
	while (todo.len) {
		struct table_dir *c = todo.dirs[--todo.len];
		int fd = watch_open_dir(w, z, c, O_RDONLY);
		struct stat st;

		if (fd < 0)
			continue; /* gone, or no longer beneath the zone: rescan_end drops it */
		if (fstat(fd, &st) < 0 || st.st_dev != z->dev) {
			close(fd);
			continue;
		}
		if (!scan_one(w, z, c, fd, rescan, &todo))
			unwatched++;
	}
	free(todo.dirs);
	return unwatched;
}
