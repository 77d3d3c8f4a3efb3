#include "watch.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "counters.h"
#include "log.h"
#include "notify.h"
#include "table.h"
#include "vec.h"
#include "watch_impl.h"

/*
 * The events: one read of the inotify descriptor is one batch, applied to
 * the table in order; what an event leaves in doubt (is the file open for
 * writing?) is asked once per file at the end of the batch.
 */

#define WATCH_BUF (64 * 1024)
/* What a big walk may hold back of the event queue; past it, as an overflow. */
#define WATCH_BACKLOG_MAX (256u * 1024 * 1024)

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

void watch_cache_drop(struct watch *w)
{
	if (w->cached_fd >= 0)
		close(w->cached_fd);
	w->cached_fd = -1;
	w->cached_dir = NULL;
}

/* The directory d open as O_PATH, kept for the rest of the batch. */
static int dir_fd(struct watch *w, struct table_dir *d)
{
	if (w->cached_dir == d)
		return w->cached_fd;
	watch_cache_drop(w);
	w->cached_fd = watch_open_dir(w, &w->zones[d->zone], d, O_PATH);
	if (w->cached_fd >= 0)
		w->cached_dir = d;
	return w->cached_fd;
}

void watch_check_queue(struct watch *w, struct table_file *f)
{
	struct table_file **checks;

	if (f->flags & TF_CHECK)
		return;
	checks = vec_grow(w->checks, &w->cap_checks, w->n_checks + 1, sizeof(*checks));
	if (!checks)
		return;
	w->checks = checks;
	f->flags |= TF_CHECK;
	w->checks[w->n_checks++] = f;
}

/* Drops f from the table; a queued check of it goes with it. */
void watch_forget_file(struct watch *w, struct table_file *f)
{
	if (f->flags & TF_CHECK)
		for (size_t i = 0; i < w->n_checks; i++)
			if (w->checks[i] == f)
				w->checks[i] = NULL;
	table_file_remove(w->table, f);
}

void watch_checks_flush(struct watch *w)
{
	for (size_t i = 0; i < w->n_checks; i++) {
		struct table_file *f = w->checks[i];
		int fd, r;

		if (!f)
			continue;
		f->flags &= ~TF_CHECK;
		fd = dir_fd(w, f->dir);
		if (fd < 0)
			continue;
		r = watch_writing_at(w, f, fd);
		if (r >= 0)
			table_file_set_writing(w->table, f, r == 1);
	}
	w->n_checks = 0;
}

/*
 * While a big walk runs, the loop is not turning: its own opens of watched
 * directories alone would overflow the queue. The pump reads the queue into a
 * backlog, dropping what carries nothing (directories opened or read), and
 * the backlog is applied once the walk is over: events are reconciled against
 * the disk, so applying them late gives the same table.
 */
void watch_pump(void *ud)
{
	struct watch *w = ud;
	char buf[WATCH_BUF] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	/* A long walk is work, not a hang. */
	notify_watchdog_kick();
	while ((n = read(w->fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			size_t len = sizeof(*ev) + ev->len;
			char *grown;

			p += len;
			if ((ev->mask & IN_ISDIR) && (ev->mask & (IN_OPEN | IN_ACCESS)))
				continue;
			grown = w->backlog_len + len <= WATCH_BACKLOG_MAX
					? vec_grow(w->backlog, &w->backlog_cap, w->backlog_len + len, 1)
					: NULL;
			if (!grown) {
				w->backlog_lost = true;
				continue;
			}
			w->backlog = grown;
			memcpy(w->backlog + w->backlog_len, ev, len);
			w->backlog_len += len;
		}
	}
}

static void on_event(struct watch *w, const struct inotify_event *ev);

/* Applies a buffer of events, then what they queued: lease checks, the cached directory. */
static void apply_events(struct watch *w, const char *buf, size_t len)
{
	for (size_t off = 0; off < len;) {
		const struct inotify_event *ev = (const struct inotify_event *)(buf + off);
		on_event(w, ev);
		off += sizeof(*ev) + ev->len;
	}
	watch_checks_flush(w);
	watch_cache_drop(w);
}

/* Events were lost somewhere: one rescan once the burst is over (or on settle). */
static void note_overflow(struct watch *w)
{
	w->counters->overflows++;
	w->overflows_pending++;
	w->need_rescan = true;
	watch_rescan_arm(w);
}

void watch_rescan_arm(struct watch *w)
{
	ev_tstamp wait = w->rescan_not_before - ev_time();

	w->rescan_timer.repeat = wait > WATCH_RESCAN_QUIET_S ? wait : WATCH_RESCAN_QUIET_S;
	ev_timer_again(w->loop, &w->rescan_timer);
}

void watch_backlog_replay(struct watch *w)
{
	/* The walk's snapshot of writers is older than these events: ask the kernel. */
	struct u64map *snapshot = w->writers;

	w->writers = NULL;
	apply_events(w, w->backlog, w->backlog_len);
	w->backlog_len = 0;
	if (w->backlog_lost) {
		w->backlog_lost = false;
		note_overflow(w);
	}
	w->writers = snapshot;
}

static void on_file_event(struct watch *w, struct watch_zone *z, struct table_dir *d,
			  const struct inotify_event *ev)
{
	struct table_file *f = table_file_get(w->table, d, ev->name);
	struct stat st;
	int fd;

	if (ev->mask & (IN_OPEN | IN_ACCESS)) {
		if (!f)
			return;
		if ((ev->mask & IN_OPEN) && f->self_opens) {
			f->self_opens--;
			return;
		}
		table_file_set_access(w->table, f, now_s());
		if (ev->mask & IN_OPEN)
			watch_check_queue(w, f); /* perhaps for writing: ask */
		return;
	}
	if (ev->mask & (IN_DELETE | IN_MOVED_FROM)) {
		if (f)
			watch_forget_file(w, f);
		return;
	}
	fd = dir_fd(w, d);
	if (fd < 0) {
		/* The directory itself is gone or moved: its own events follow. */
		return;
	}
	if (fstatat(fd, ev->name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (f && errno == ENOENT)
			watch_forget_file(w, f);
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		/* Replaced by a link, a fifo, ...: not counted. */
		if (f)
			watch_forget_file(w, f);
		return;
	}
	f = watch_file_found(w, z, d, ev->name, &st, false);
	if (f && (ev->mask & IN_MODIFY)) {
		/* A write: min_age counts from it even if the mtime is set back later. */
		table_file_note_write(w->table, f, now_s());
		table_file_set_writing(w->table, f, true);
	}
}

static void on_dir_event(struct watch *w, struct watch_zone *z, struct table_dir *d,
			 const struct inotify_event *ev)
{
	struct table_dir *c = table_dir_child(d, ev->name);
	struct stat st;
	int pfd, fd;

	if (!z->cfg->recursive)
		return;
	if (ev->mask & (IN_DELETE | IN_MOVED_FROM)) {
		if (c)
			watch_dir_remove(w, c);
		return;
	}
	if (!(ev->mask & (IN_CREATE | IN_MOVED_TO)) || !watch_wants_dir(w, z, d, ev->name))
		return;
	/* A directory moved in, or created and filled in one breath: walk it. */
	if (c) {
		watch_rescan_subtree(w, z, c, false);
		return;
	}
	pfd = dir_fd(w, d);
	if (pfd < 0)
		return;
	fd = openat(pfd, ev->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fstat(fd, &st) < 0 || st.st_dev != z->dev) {
		close(fd);
		return;
	}
	c = table_dir_add(w->table, d, z->idx, ev->name, st.st_dev, st.st_ino);
	if (!c) {
		close(fd);
		return;
	}
	watch_walk(w, z, c, fd, false, 1, NULL);
}

static void on_event(struct watch *w, const struct inotify_event *ev)
{
	struct table_dir *d;
	struct watch_zone *z;

	w->counters->events++;
	if (ev->mask & IN_CLOSE_WRITE)
		w->counters->write_closes++;
	if (ev->mask & IN_Q_OVERFLOW) {
		note_overflow(w);
		return;
	}
	d = table_dir_by_wd(w->table, ev->wd);
	if (!d) {
		watch_on_ancestor_event(w, ev);
		return;
	}
	z = &w->zones[d->zone];
	if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED | IN_UNMOUNT)) {
		if (!d->parent) {
			/* Whatever stands at the path now (another mount, nothing) is looked for. */
			watch_zone_detach(w, z);
			watch_zone_seek(w, z, false);
		} else if (ev->mask & IN_IGNORED) {
			/* The watch is gone (the directory was removed); its parent says so too. */
			table_dir_set_wd(w->table, d, -1);
		}
		return;
	}
	if (!ev->len)
		return; /* about the directory itself: opens and reads of it */
	if (ev->mask & IN_ISDIR)
		on_dir_event(w, z, d, ev);
	else
		on_file_event(w, z, d, ev);
}

/* Reads and applies one buffer of events; returns the bytes read, 0 when none (or on error). */
static ssize_t read_batch(struct watch *w)
{
	char buf[WATCH_BUF] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n = read(w->fd, buf, sizeof(buf));

	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			log_err("reading inotify events: %s", strerror(errno));
		return 0;
	}
	apply_events(w, buf, (size_t)n);
	return n;
}

/* Reads what is queued now (FIONREAD), and no more. */
static void read_queued(struct watch *w)
{
	int queued = 0;
	ssize_t n;

	if (ioctl(w->fd, FIONREAD, &queued) < 0)
		queued = INT_MAX;
	while (queued > 0 && (n = read_batch(w)) > 0)
		queued -= (int)n;
}

/*
 * Takes in every change made before the call, and no more, so that a writer
 * that never stops cannot keep us here: the queued events, then (after an
 * overflow) one rescan, which sees at least every change made before it.
 * An overflow during that rescan is left to the rescan timer.
 */
void watch_drain(struct watch *w)
{
	read_queued(w);
	if (w->need_rescan) {
		watch_full_rescan(w);
		read_queued(w);
	}
	table_links_settle(w->table);
}

void watch_take_queued(struct watch *w)
{
	read_queued(w);
	table_links_settle(w->table);
}

static void batch_done(struct watch *w)
{
	table_links_settle(w->table);
	if (w->batch_hook)
		w->batch_hook(w->batch_ud);
}

void watch_on_readable(struct ev_loop *loop, ev_io *io, int revents)
{
	(void)loop;
	(void)revents;
	if (read_batch(io->data) > 0)
		batch_done(io->data);
}

/*
 * No overflow for a while: the burst is over, rescan once. Not sooner than
 * three times the last rescan's length after it, so that whoever can make the
 * queue overflow again and again keeps the loop in rescans a quarter of the
 * time at most (a settle still rescans at once: it must see every change).
 */
void watch_on_rescan_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct watch *w = t->data;

	(void)loop;
	(void)revents;
	if (w->need_rescan && ev_time() < w->rescan_not_before) {
		watch_rescan_arm(w);
		return;
	}
	if (w->need_rescan) {
		watch_drain(w);
		batch_done(w);
	}
}
