#include "watch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "lease.h"
#include "log.h"
#include "nolink.h"
#include "table.h"
#include "u64map.h"
#include "watch_impl.h"

int watch_open_beneath(struct watch *w, size_t zone, const char *rel, int flags)
{
	if (zone >= w->n_zones)
		return -ENOENT;
	return nolink_open_beneath(w->zones[zone].root_fd, rel, flags);
}

/*
 * Asks the kernel, once per file per batch, whether anyone holds it open for
 * writing. Our own open comes back as IN_OPEN: counted in self_opens so that
 * it is not taken for an access.
 */
int watch_writing_at(struct watch *w, struct table_file *f, int dirfd)
{
	int r;

	watch_self_open(w, f, true);
	r = lease_writing_at(dirfd, f->name, f->ino);
	if (r == -ENOENT || r == -ELOOP || r == -ESTALE || r == -ENXIO || r == -EACCES)
		watch_self_open(w, f, false); /* not opened: no event of ours will come */
	return r;
}

struct watch *watch_create(struct ev_loop *loop, const struct config *cfg, struct table *t,
			   struct counters *counters)
{
	struct watch *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->loop = loop;
	w->cfg = cfg;
	w->table = t;
	w->counters = counters;
	w->cached_fd = -1;
	/* The big walks (the first, and after an overflow) use every core, up to a few. */
	w->threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (w->threads < 1)
		w->threads = 1;
	if (w->threads > SCAN_MAX_THREADS)
		w->threads = SCAN_MAX_THREADS;
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	w->zones = calloc(cfg->n_zones, sizeof(*w->zones));
	w->n_zones = cfg->n_zones;
	if (w->fd < 0 || !w->zones) {
		watch_destroy(w);
		return NULL;
	}
	for (size_t i = 0; i < cfg->n_zones; i++)
		if (watch_zone_init(&w->zones[i], &cfg->zones[i], i) < 0) {
			watch_destroy(w);
			return NULL;
		}
	ev_io_init(&w->io, watch_on_readable, w->fd, EV_READ);
	w->io.data = w;
	w->pump.fd = w->fd;
	w->pump.fn = watch_pump;
	w->pump.ud = w;
	ev_init(&w->rescan_timer, watch_on_rescan_timer);
	w->rescan_timer.repeat = WATCH_RESCAN_QUIET_S;
	w->rescan_timer.data = w;
	return w;
}

void watch_destroy(struct watch *w)
{
	if (!w)
		return;
	if (w->loop) {
		ev_io_stop(w->loop, &w->io);
		ev_timer_stop(w->loop, &w->rescan_timer);
	}
	watch_cache_drop(w);
	for (size_t i = 0; i < w->n_zones && w->zones; i++) {
		if (w->zones[i].root_fd >= 0)
			close(w->zones[i].root_fd);
	}
	free(w->zones);
	free(w->checks);
	free(w->backlog);
	u64map_destroy(w->writers);
	if (w->fd >= 0)
		close(w->fd);
	free(w);
}

/*
 * The first walk of new zones (every zone when old_of_new is NULL), with one
 * look at who holds what open for writing. A zone whose root is not there
 * (or is a link, or a file) is watched for, as one removed later; at the
 * start, a root there that cannot be opened is an error.
 */
static int attach_new(struct watch *w, const int *old_of_new)
{
	int r = 0;

	w->writers = lease_writers_snapshot();
	for (size_t i = 0; i < w->n_zones && !r; i++) {
		struct watch_zone *z = &w->zones[i];

		if (old_of_new && old_of_new[i] >= 0)
			continue;
		r = watch_zone_seek(w, z, true);
		if (r == -ENOENT || r == -ELOOP || r == -ENOTDIR || old_of_new)
			r = 0;
		else if (r < 0)
			log_err("zone \"%s\": cannot open %s: %s", z->cfg->name, z->cfg->path,
				strerror(-r));
	}
	u64map_destroy(w->writers);
	w->writers = NULL;
	return r;
}

int watch_start(struct watch *w)
{
	int r = attach_new(w, NULL);

	if (r < 0)
		return r;
	table_links_settle(w->table);
	ev_io_start(w->loop, &w->io);
	return 0;
}

int watch_reconfigure(struct watch *w, const struct config *cfg, const int *old_of_new)
{
	size_t n_old = w->n_zones, n_new = cfg->n_zones;
	struct watch_zone *zones = calloc(n_new ? n_new : 1, sizeof(*zones)), *old = w->zones;
	int *parents = calloc(n_old ? n_old : 1, sizeof(*parents));
	bool *kept = calloc(n_old ? n_old : 1, sizeof(*kept));
	int r = -ENOMEM;

	/* Everything that can fail comes before the first change. */
	if (!zones || !parents || !kept)
		goto out;
	for (size_t j = 0; j < n_new; j++) {
		if (old_of_new[j] >= 0)
			kept[old_of_new[j]] = true;
		else if (watch_zone_init(&zones[j], &cfg->zones[j], j) < 0)
			goto out;
	}
	watch_checks_flush(w);
	watch_cache_drop(w);
	r = table_remap(w->table, old_of_new, n_new, watch_on_dir_dropped, w);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < n_old; i++) {
		parents[i] = kept[i] ? -1 : old[i].anc_wd;
		if (kept[i])
			continue;
		if (old[i].root_fd >= 0)
			close(old[i].root_fd);
	}
	for (size_t j = 0; j < n_new; j++) {
		if (old_of_new[j] < 0)
			continue;
		/* The same path (anc_len stays right), in the new config's copy. */
		zones[j] = old[old_of_new[j]];
		zones[j].cfg = &cfg->zones[j];
		zones[j].idx = (uint32_t)j;
	}
	w->zones = zones;
	w->n_zones = n_new;
	w->cfg = cfg;
	zones = old; /* the old array is what is freed below */
	attach_new(w, old_of_new);
	/* An ancestor watch may serve several zones: unwatch only those no zone needs now. */
	for (size_t i = 0; i < n_old; i++) {
		bool used = parents[i] < 0;
		for (size_t j = 0; j < w->n_zones && !used; j++)
			used = w->zones[j].anc_wd == parents[i];
		if (!used)
			inotify_rm_watch(w->fd, parents[i]);
	}
	r = 0;
out:
	free(zones);
	free(parents);
	free(kept);
	return r;
}

bool watch_zone_attached(const struct watch *w, size_t zone)
{
	return zone < w->n_zones && w->zones[zone].root_fd >= 0;
}

uint64_t watch_unwatched_at_limit(const struct watch *w)
{
	return w->limit_hit ? w->unwatched : 0;
}

uint64_t watch_roots_gen(const struct watch *w)
{
	return w->roots_gen;
}

void watch_set_batch_hook(struct watch *w, void (*fn)(void *ud), void *ud)
{
	w->batch_hook = fn;
	w->batch_ud = ud;
}

int watch_dir_open(struct watch *w, struct table_dir *d)
{
	return watch_open_dir(w, &w->zones[d->zone], d, O_PATH);
}

void watch_self_open(struct watch *w, struct table_file *f, bool opening)
{
	(void)w;
	if (f->dir->wd < 0)
		return;
	if (opening && f->self_opens < UINT8_MAX)
		f->self_opens++;
	else if (!opening && f->self_opens)
		f->self_opens--;
}

void watch_dir_gone(struct watch *w, struct table_dir *d)
{
	watch_dir_remove(w, d);
}
