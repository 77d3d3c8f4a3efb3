#include "scan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "table.h"
#include "vec.h"

/*
 * The walk is all system calls: getdents and one fstatat per entry. With
 * threads > 1 it runs on that many threads; each lists a directory with no
 * lock held and then applies what it found to the table under one mutex, so
 * the table stays single-writer.
 */

struct scan_entry {
	struct stat st;
	size_t name_off;
};

/* What one directory listing found, applied in one go. */
struct scan_listing {
	struct scan_entry *entries;
	size_t len, cap;
	char *names;
	size_t names_len, names_cap;
};

struct scan_job {
	const struct scan_zone *z;
	bool rescan;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct table_dir **stack;
	size_t len, cap;
	struct table_dir *first;
	int first_fd;
	int busy; /* directories being listed */
	int workers_left;
	int done_fd; /* eventfd: written when the last worker is done */
};

static int listing_add(struct scan_listing *l, const char *name, const struct stat *st)
{
	size_t n = strlen(name) + 1;
	struct scan_entry *e = vec_grow(l->entries, &l->cap, l->len + 1, sizeof(*e));
	char *names;

	if (!e)
		return -ENOMEM;
	l->entries = e;
	names = vec_grow(l->names, &l->names_cap, l->names_len + n, 1);
	if (!names)
		return -ENOMEM;
	l->names = names;
	memcpy(l->names + l->names_len, name, n);
	l->entries[l->len].st = *st;
	l->entries[l->len++].name_off = l->names_len;
	l->names_len += n;
	return 0;
}

/*
 * Lists one directory with no lock held. The watch goes on before the
 * listing, so that what is created while we read is either listed or
 * reported. Returns the wd or -errno; -EXDEV when the directory is on another
 * filesystem (the walk does not go there).
 */
static int list_dir(struct scan_job *job, int dfd, struct scan_listing *l)
{
	const struct scan_zone *z = job->z;
	struct dirent *e;
	struct stat st;
	int wd;
	DIR *dir;

	if (fstat(dfd, &st) < 0 || st.st_dev != z->dev) {
		close(dfd);
		return -EXDEV;
	}
	wd = z->ops->add_watch(z->ud, dfd);
	dir = fdopendir(dfd);
	if (!dir) {
		close(dfd);
		return wd;
	}
	while ((e = readdir(dir))) {
		if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
			continue;
		if (e->d_type != DT_REG && e->d_type != DT_DIR && e->d_type != DT_UNKNOWN)
			continue; /* links, sockets, fifos, devices */
		if (e->d_type == DT_DIR && !z->recursive)
			continue;
		if (fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue; /* gone since the listing: its event follows */
		if (S_ISREG(st.st_mode) ||
		    (S_ISDIR(st.st_mode) && z->recursive && st.st_dev == z->dev))
			listing_add(l, e->d_name, &st);
	}
	closedir(dir);
	return wd;
}

static int stack_push(struct scan_job *job, struct table_dir *d)
{
	struct table_dir **n = vec_grow(job->stack, &job->cap, job->len + 1, sizeof(*n));

	if (!n)
		return -ENOMEM;
	job->stack = n;
	job->stack[job->len++] = d;
	return 0;
}

/* Applies a listing of d to the table; called with the lock held. */
static void apply(struct scan_job *job, struct table_dir *d, int wd, struct scan_listing *l)
{
	const struct scan_zone *z = job->z;

	if (wd == -EXDEV)
		return; /* another filesystem, or gone: the rescan or an event drops it */
	if (job->rescan)
		d->flags |= TD_SEEN;
	z->ops->note_wd(z->ud, d, wd);
	for (size_t i = 0; i < l->len; i++) {
		const struct stat *st = &l->entries[i].st;
		const char *name = l->names + l->entries[i].name_off;

		if (S_ISREG(st->st_mode)) {
			z->ops->file_found(z->ud, d, name, st, job->rescan);
		} else if (z->ops->wants_dir(z->ud, d, name)) {
			struct table_dir *c = table_dir_add(z->table, d, z->idx, name, st->st_dev,
							    st->st_ino);
			if (c)
				stack_push(job, c);
		}
	}
}

static void *worker(void *arg)
{
	struct scan_job *job = arg;
	struct scan_listing l = {0};

	pthread_mutex_lock(&job->lock);
	for (;;) {
		struct table_dir *d;
		int fd, wd;

		while (!job->len && job->busy)
			pthread_cond_wait(&job->cond, &job->lock);
		if (!job->len)
			break;
		d = job->stack[--job->len];
		job->busy++;
		fd = d == job->first ? job->first_fd : -1;
		pthread_mutex_unlock(&job->lock);

		if (fd < 0)
			fd = job->z->ops->open_dir(job->z->ud, d, O_RDONLY);
		l.len = l.names_len = 0;
		wd = fd < 0 ? -EXDEV : list_dir(job, fd, &l);

		pthread_mutex_lock(&job->lock);
		apply(job, d, wd, &l);
		job->busy--;
		pthread_cond_broadcast(&job->cond);
	}
	if (--job->workers_left == 0 && job->done_fd >= 0)
		(void)!eventfd_write(job->done_fd, 1);
	pthread_mutex_unlock(&job->lock);
	free(l.entries);
	free(l.names);
	return NULL;
}

/* The caller's thread while the workers walk: keeps the event queue from overflowing. */
static void pump_until_done(struct scan_job *job, const struct scan_pump *pump)
{
	struct pollfd fds[2] = {{.fd = job->done_fd, .events = POLLIN},
				{.fd = pump->fd, .events = POLLIN}};

	for (;;) {
		if (poll(fds, 2, -1) < 0)
			continue;
		if (fds[1].revents)
			pump->fn(pump->ud);
		if (fds[0].revents)
			break;
	}
}

void scan_tree(const struct scan_zone *z, struct table_dir *d, int dfd, bool rescan, int threads,
	       const struct scan_pump *pump)
{
	struct scan_job job = {.z = z, .rescan = rescan, .first = d, .first_fd = dfd, .done_fd = -1};
	pthread_t extra[SCAN_MAX_THREADS];
	int started = 0;

	pthread_mutex_init(&job.lock, NULL);
	pthread_cond_init(&job.cond, NULL);
	if (pump)
		job.done_fd = eventfd(0, EFD_CLOEXEC);
	if (stack_push(&job, d) < 0) {
		close(dfd);
	} else {
		bool pumping = pump && job.done_fd >= 0;
		/* Pumping, every walker is an extra thread; otherwise this one walks too. */
		int want = (threads > SCAN_MAX_THREADS ? SCAN_MAX_THREADS : threads) - !pumping;

		/* The workers wait on the lock until they are counted. */
		pthread_mutex_lock(&job.lock);
		for (int i = 0; i < want; i++)
			if (pthread_create(&extra[started], NULL, worker, &job) == 0)
				started++;
		job.workers_left = started;
		pthread_mutex_unlock(&job.lock);
		if (pumping && started)
			pump_until_done(&job, pump);
		else
			worker(&job);
		for (int i = 0; i < started; i++)
			pthread_join(extra[i], NULL);
	}
	if (job.done_fd >= 0)
		close(job.done_fd);
	pthread_cond_destroy(&job.cond);
	pthread_mutex_destroy(&job.lock);
	free(job.stack);
}
