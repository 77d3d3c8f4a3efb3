#include "rotate.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alarms.h"
#include "fcopy.h"
#include "fileio.h"
#include "log.h"
#include "rotate_priv.h"
#include "table.h"
#include "vec.h"

uint64_t rotate_live_key(uint32_t zone, uint64_t ino)
{
	return (ino << 12) ^ zone ^ 1;
}

static void blocked_free(struct blocked *b)
{
	if (!b)
		return;
	free(b->path);
	free(b->summary);
	free(b);
}

void rotate_free_live(uint64_t key, void *val, void *ud)
{
	struct live *l = val;

	(void)key;
	(void)ud;
	blocked_free(l->blocked);
	blocked_free(l->pre_failed);
	free(l);
}

void rotate_pre_clear(struct rotate *r, struct live *l)
{
	if (!l || !l->pre_failed)
		return;
	blocked_free(l->pre_failed);
	l->pre_failed = NULL;
	r->n_blocked--;
}

/* The rotate_blocked alarm of l ends, said once. */
void rotate_unblock(struct rotate *r, struct live *l, const char *why)
{
	if (!l || !l->blocked)
		return;
	log_info("%s: rotation no longer blocked: %s", l->blocked->path, why);
	blocked_free(l->blocked);
	l->blocked = NULL;
	r->n_blocked--;
}

/*
 * The rotate_blocked alarm of l starts (said once, with what to do) or goes
 * on, perhaps with another writer named.
 */
void rotate_block(struct rotate *r, struct live *l, const struct rotate_job *j)
{
	struct blocked *b = l->blocked;
	char *summary = strdup(j->err), *path = strdup(j->mj.path);

	if (!summary || !path || (!b && !(b = calloc(1, sizeof(*b))))) {
		free(summary);
		free(path);
		log_err("%s", j->err);
		return;
	}
	if (!l->blocked) {
		b->since = j->now;
		l->blocked = b;
		r->n_blocked++;
		log_warn("%s", j->err);
	}
	free(b->summary);
	free(b->path);
	b->summary = summary;
	b->path = path;
	b->linked = j->linked;
	b->pid = j->pid;
	snprintf(b->comm, sizeof(b->comm), "%s", j->comm);
}

static bool is_pending(const struct rotate *r, uint32_t zone, const char *dir, const char *name)
{
	for (size_t i = 0; i < r->n_pend; i++)
		if (r->pend[i].zone == zone && !strcmp(r->pend[i].dir, dir) &&
		    !strcmp(r->pend[i].name, name))
			return true;
	return false;
}

void rotate_add_pending(struct rotate *r, uint32_t zone, uint32_t group, const char *dir,
			const char *name, uint64_t dev, uint64_t ino, uint64_t size)
{
	struct pending *g, p;

	if (is_pending(r, zone, dir, name))
		return;
	g = vec_grow(r->pend, &r->cap_pend, r->n_pend + 1, sizeof(*g));
	if (g)
		r->pend = g;
	p = (struct pending){ .zone = zone, .group = group, .dir = strdup(dir), .name = strdup(name), .dev = dev,
			      .ino = ino, .size = size };
	if (!g || !p.dir || !p.name) {
		free(p.dir);
		free(p.name);
		log_err("%s: out of memory: this copy stays uncompressed", name);
		return;
	}
	r->pend[r->n_pend++] = p;
}

static void saved_key(const struct config *cfg, uint32_t zone, uint64_t ino, char *buf,
		      size_t len)
{
	snprintf(buf, len, "%s:%llu", cfg->zones[zone].name, (unsigned long long)ino);
}

/* The saved last rotation of a log, or 0. */
static int64_t saved_last(const struct rotate *r, uint32_t zone, uint64_t ino)
{
	json_object *v;
	char key[128];

	saved_key(r->eng.cfg, zone, ino, key, sizeof(key));
	if (r->saved && json_object_object_get_ex(r->saved, key, &v) &&
	    json_object_is_type(v, json_type_int) && json_object_get_int64(v) > 0)
		return json_object_get_int64(v);
	return 0;
}

struct saving {
	const struct config *cfg;
	json_object *o;
};

static void save_one(uint64_t key, void *val, void *ud)
{
	struct live *l = val;
	struct saving *sv = ud;
	char name[128];

	(void)key;
	if (l->zone >= sv->cfg->n_zones)
		return;
	saved_key(sv->cfg, l->zone, l->ino, name, sizeof(name));
	json_object_object_add(sv->o, name, json_object_new_int64(l->last));
}

/*
 * Writes rotations.json when it changed: the logs known now, nothing of the
 * gone. cfg: the configuration the zone indexes of what is known refer to.
 */
void rotate_save_lasts(struct rotate *r, const struct config *cfg)
{
	struct saving sv = { cfg, NULL };
	char tmp[PATH_MAX + 8];
	const char *text;
	json_object *o;
	int e;

	if (!r->dirty || !r->saved_path || r->eng.dry_run || !(o = json_object_new_object()))
		return;
	sv.o = o;
	u64map_foreach(r->lives, save_one, &sv);
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	snprintf(tmp, sizeof(tmp), "%s.tmp", r->saved_path);
	e = file_replace(r->saved_path, tmp, text, strlen(text), false);
	if (e < 0)
		log_warn("cannot save %s: %s", r->saved_path, strerror(-e));
	json_object_put(r->saved);
	r->saved = o;
	r->dirty = false;
}

/*
 * What is known of f; made when first seen: its last rotation is the later of
 * its newest copy's and the saved one (neither: now, its first sight), and
 * its uncompressed copies wait for compression.
 */
struct live *rotate_live_get(struct rotate *r, uint32_t zone, struct table_file *f)
{
	uint64_t key = rotate_live_key(zone, f->ino);
	struct live *l = u64map_get(r->lives, key);
	const struct rotate_config *rc;
	char copy_rel[PATH_MAX];
	struct rotplan_copy *v;
	size_t n;
	int fd;

	if (l && l->ino == f->ino && l->zone == zone)
		return l;
	if (!l && (!(l = calloc(1, sizeof(*l))) || u64map_put(r->lives, key, l) < 0)) {
		free(l);
		return NULL;
	}
	rotate_unblock(r, l, "another file now has its place"); /* a key shared with another inode */
	rotate_pre_clear(r, l);
	*l = (struct live){ .ino = f->ino, .zone = zone, .last = saved_last(r, zone, f->ino) };
	r->dirty = true;
	rc = rotate_group_of(r, zone, f);
	fd = rc ? rotate_open_copy_dir(r, zone, rc, f, copy_rel) : -ENOENT;
	if (fd >= 0 && rotate_list_copies(fd, f->name, rotate_live_owner(r, f), &v, &n) == 0) {
		int64_t soon = (int64_t)time(NULL) + 60;

		for (size_t i = 0; i < n; i++) {
			struct stat st;

			/* A name dated in the future is no rotation of ours: it would stop every. */
			if (v[i].when > l->last && v[i].when <= soon)
				l->last = v[i].when;
			/* One mostly of holes was left plain on purpose: never compressed. */
			if (!v[i].zst && rc->compress == COMPRESS_ZSTD &&
			    fstatat(fd, v[i].name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    !fcopy_mostly_holes(&st))
				rotate_add_pending(r, zone,
						   (uint32_t)(rc - r->eng.cfg->zones[zone].rotates),
						   copy_rel, v[i].name, st.st_dev, st.st_ino,
						   fcopy_disk_bytes(&st));
		}
		rotate_free_copies(v, n);
	}
	if (fd >= 0)
		close(fd);
	if (!l->last)
		l->last = (int64_t)time(NULL);
	return l;
}

struct prune {
	struct rotate *r;
	struct u64map *present;
};

static bool not_present(uint64_t key, void *val, void *ud)
{
	(void)val;
	return !u64map_get(((struct prune *)ud)->present, key);
}

static void live_gone(uint64_t key, void *val, void *ud)
{
	struct prune *p = ud;

	(void)key;
	rotate_unblock(p->r, val, "it is gone, or its zone no longer rotates");
	rotate_pre_clear(p->r, val);
	free(val);
	p->r->dirty = true;
}

/* Forgets the files no longer in any rotating zone. */
void rotate_prune_lives(struct rotate *r)
{
	struct prune p = { r, u64map_create() };

	for (uint32_t zi = 0; p.present && zi < r->eng.cfg->n_zones; zi++) {
		struct table_zone *tz = table_zone(r->eng.table, zi);

		for (size_t i = 0; r->eng.cfg->zones[zi].n_rotates && i < tz->age.len; i++)
			if (u64map_put(p.present, rotate_live_key(zi, tz->age.v[i]->ino), r) < 0)
				goto out;
	}
	if (p.present)
		u64map_drop_if(r->lives, not_present, live_gone, &p);
out:
	u64map_destroy(p.present);
}

void rotate_drop_pending(struct rotate *r)
{
	for (size_t i = 0; i < r->n_pend; i++) {
		free(r->pend[i].dir);
		free(r->pend[i].name);
	}
	r->n_pend = 0;
}

/*
 * A blocked log whose zone still cuts in place keeps its alarm (and its
 * start) across a reload, looked at again at the next pass; any other ends.
 */
/* The group of the log at path (absolute) in zc; NULL: none, or not beneath its root. */
static const struct rotate_config *group_by_path(const struct zone_config *zc, const char *path)
{
	size_t n = strlen(zc->path);
	const char *rel = !strcmp(zc->path, "/") ? path + 1 : path + n + 1, *name;

	if (strcmp(zc->path, "/") && (strncmp(path, zc->path, n) || path[n] != '/'))
		return NULL;
	name = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
	return config_rotate_group(zc, name, rel);
}

void rotate_carry_blocked(uint64_t key, void *val, void *ud)
{
	struct carrying *c = ud;
	const struct config *cfg = c->r->eng.cfg;
	const struct rotate_config *rc = NULL;
	struct live *l = val, *n = NULL;
	const char *path = l->blocked ? l->blocked->path : l->pre_failed ? l->pre_failed->path : NULL;
	uint32_t zi = 0;
	bool blocked, pre;

	(void)key;
	if (!path)
		return;
	while (l->zone < c->old->n_zones && zi < cfg->n_zones &&
	       strcmp(cfg->zones[zi].name, c->old->zones[l->zone].name))
		zi++;
	if (l->zone < c->old->n_zones && zi < cfg->n_zones)
		rc = group_by_path(&cfg->zones[zi], path);
	/* Still cut in place: still blocked. Still a prerotate: its failure (and wait) stands. */
	blocked = l->blocked && rc && !(rc->method == ROTATE_RENAME && rc->keep_tail_lines <= 0);
	pre = l->pre_failed && rc && rc->prerotate;
	if (!blocked)
		rotate_unblock(c->r, l, "its zone's configuration changed");
	if (!pre)
		rotate_pre_clear(c->r, l);
	if ((!blocked && !pre) || !(n = calloc(1, sizeof(*n))) ||
	    u64map_put(c->fresh, rotate_live_key(zi, l->ino), n) < 0) {
		free(n);
		rotate_unblock(c->r, l, "its zone's configuration changed");
		rotate_pre_clear(c->r, l);
		return;
	}
	*n = (struct live){ .ino = l->ino, .zone = zi, .last = l->last, .floor = l->floor,
			    .failed_at = l->failed_at, .blocked = l->blocked,
			    .pre_failed = l->pre_failed };
	l->blocked = NULL;
	l->pre_failed = NULL;
}

struct alarming {
	struct rotate *r;
	struct alarms *a;
	int64_t now;
};

static void alarm_one(uint64_t key, void *val, void *ud)
{
	struct alarming *al = ud;
	const struct config *cfg = al->r->eng.cfg;
	struct live *l = val;
	char pid[24];

	(void)key;
	if (l->pre_failed && l->zone < cfg->n_zones)
		alarms_hold(al->a, "prerotate_failed",
			    (const char *const[]){ "zone", cfg->zones[l->zone].name, "path",
						   l->pre_failed->path, NULL },
			    l->pre_failed->summary, l->pre_failed->since, al->now);
	if (!l->blocked || l->zone >= cfg->n_zones)
		return;
	snprintf(pid, sizeof(pid), "%d", l->blocked->pid);
	alarms_hold(al->a, "rotate_blocked",
		    (const char *const[]){ "zone", cfg->zones[l->zone].name, "path", l->blocked->path,
					   "pid", l->blocked->pid ? pid : "?", "comm",
					   l->blocked->comm, NULL },
		    l->blocked->summary, l->blocked->since, al->now);
}

void rotate_alarms(struct rotate *r, struct alarms *a, int64_t now)
{
	struct alarming al = { r, a, now };

	if (r->n_blocked)
		u64map_foreach(r->lives, alarm_one, &al);
}

void rotate_log_state(struct rotate *r, uint32_t zone, struct table_file *f, int64_t *last,
		      const char **blocked)
{
	struct live *l = rotate_live_get(r, zone, f);

	*last = l ? l->last : 0;
	*blocked = l && l->blocked	 ? l->blocked->summary
		   : l && l->pre_failed ? l->pre_failed->summary
					: NULL;
}
