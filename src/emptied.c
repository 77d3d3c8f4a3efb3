#include "emptied.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "table.h"
#include "u64map.h"
#include "vec.h"
#include "watch.h"

/* A directory mtime this much older than our removal in it is not from that removal. */
#define DIR_MTIME_SLACK_S 2

struct emptied {
	struct u64map *dirs; /* watch descriptor -> struct dir_age */
};

/*
 * A directory's age as its users left it: sweepd's own removals bump its mtime,
 * so the mtime they left (ours) is remembered with the one before (user). young:
 * emptied but not old enough to prune, to be looked at again.
 */
struct dir_age {
	int64_t user;
	struct timespec ours;
	bool young;
};

int64_t emptied_user_mtime(struct emptied *e, const struct table_dir *d,
			   const struct timespec *mtim)
{
	struct dir_age *a = d->wd >= 0 ? u64map_get(e->dirs, (uint64_t)d->wd) : NULL;

	if (a && a->ours.tv_sec == mtim->tv_sec && a->ours.tv_nsec == mtim->tv_nsec)
		return a->user;
	return mtim->tv_sec;
}

/*
 * After a removal in d: the mtime sweepd left (ours), and the one before it (user).
 * An ours older than the removal was set by someone between the removal and our
 * look at it (touch -d, a restore of times): theirs, so it is the user's mtime.
 */
void emptied_removed_in(struct emptied *e, const struct table_dir *d, int64_t user,
			const struct timespec *ours, int64_t now)
{
	struct dir_age *a;

	if (d->wd < 0)
		return;
	if (ours->tv_sec < now - DIR_MTIME_SLACK_S)
		user = ours->tv_sec;
	a = u64map_get(e->dirs, (uint64_t)d->wd);
	if (!a) {
		a = calloc(1, sizeof(*a));
		if (!a || u64map_put(e->dirs, (uint64_t)d->wd, a) < 0) {
			free(a);
			return;
		}
	}
	a->user = user;
	a->ours = *ours;
}

static void dir_forget(struct emptied *e, const struct table_dir *d)
{
	if (d->wd >= 0) {
		free(u64map_get(e->dirs, (uint64_t)d->wd));
		u64map_del(e->dirs, (uint64_t)d->wd);
	}
}

/*
 * Removes the directories our sweep emptied, up to (never including) the zone
 * root, as systemd-tmpfiles does: only one whose own mtime, as its users left it
 * (sweepd's removals in it do not count), is older than the zone's min_age, so a
 * directory something is still filling is left alone. A younger one is marked
 * and looked at again at each pass (housekeeping runs one) until it is old enough.
 */
void emptied_prune(struct emptied *e, struct watch *w, const struct zone_config *zc,
		   struct table_dir *d, int64_t now)
{
	while (d->parent && !d->nfiles && !d->first_child) {
		struct table_dir *p = d->parent;
		int pfd = watch_dir_open(w, p), r;
		struct dir_age *a;
		struct stat st;
		int64_t user;

		if (pfd < 0)
			return;
		if (fstatat(pfd, d->name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode)) {
			close(pfd);
			return;
		}
		if (emptied_user_mtime(e, d, &st.st_mtim) > now - zc->min_age) {
			close(pfd);
			a = d->wd >= 0 ? u64map_get(e->dirs, (uint64_t)d->wd) : NULL;
			if (a)
				a->young = true;
			return;
		}
		r = fstat(pfd, &st);
		user = r == 0 ? emptied_user_mtime(e, p, &st.st_mtim) : now;
		r = unlinkat(pfd, d->name, AT_REMOVEDIR);
		if (r == 0 && fstat(pfd, &st) == 0)
			emptied_removed_in(e, p, user, &st.st_mtim, now);
		close(pfd);
		if (r < 0)
			return;
		dir_forget(e, d);
		watch_dir_gone(w, d);
		d = p;
	}
}

struct dir_keys {
	uint64_t *v;
	size_t n, cap;
	int64_t before; /* also collects those sweepd last touched before this */
};

static void dir_key(uint64_t key, void *val, void *ud)
{
	struct dir_keys *keys = ud;
	struct dir_age *a = val;
	uint64_t *g;

	if (!a->young && a->ours.tv_sec >= keys->before)
		return;
	g = vec_grow(keys->v, &keys->cap, keys->n + 1, sizeof(*g));
	if (!g)
		return;
	keys->v = g;
	keys->v[keys->n++] = key;
}

/*
 * The emptied directories left for being young: those now old enough go. Ages
 * sweepd set longer ago than any min_age are forgotten: the mtime says as much.
 */
void emptied_prune_young(struct emptied *e, struct watch *w, struct table *t,
			 const struct config *cfg, int64_t now)
{
	struct dir_keys keys = { .before = now - 1 };

	if (!u64map_len(e->dirs))
		return;
	for (size_t i = 0; i < cfg->n_zones; i++)
		if (now - cfg->zones[i].min_age - 1 < keys.before)
			keys.before = now - cfg->zones[i].min_age - 1;
	u64map_foreach(e->dirs, dir_key, &keys);
	for (size_t i = 0; i < keys.n; i++) {
		struct table_dir *d = table_dir_by_wd(t, (int)keys.v[i]);
		struct dir_age *a = u64map_get(e->dirs, keys.v[i]);

		if (a->young) {
			a->young = false; /* marked again if still too young */
			if (d && d->zone < cfg->n_zones && cfg->zones[d->zone].prune_empty_dirs)
				emptied_prune(e, w, &cfg->zones[d->zone], d, now);
		}
		a = u64map_get(e->dirs, keys.v[i]);
		if (a && !a->young && a->ours.tv_sec < keys.before) {
			free(a);
			u64map_del(e->dirs, keys.v[i]);
		}
	}
	free(keys.v);
}

static void dir_age_free(uint64_t key, void *val, void *ud)
{
	(void)key;
	(void)ud;
	free(val);
}


struct emptied *emptied_create(void)
{
	struct emptied *e = calloc(1, sizeof(*e));

	if (e && !(e->dirs = u64map_create())) {
		free(e);
		e = NULL;
	}
	return e;
}

void emptied_destroy(struct emptied *e)
{
	if (!e)
		return;
	u64map_foreach(e->dirs, dir_age_free, NULL);
	u64map_destroy(e->dirs);
	free(e);
}
