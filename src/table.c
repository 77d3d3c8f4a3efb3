#include "table.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "slab.h"
#include "u64map.h"

struct table {
	struct table_zone *zones;
	size_t n_zones;
	/* Every file of every zone, by (directory, name): open addressing. */
	struct table_file **slots;
	size_t cap, len;
	struct u64map *wds;
	struct u64map *writes, *reads; /* file -> last write (read) seen, while it matters */
	struct slab *slab;
	bool links_new; /* an inode became hard-linked: see table_links_settle() */
};

/* A hard-linked inode of a zone: its blocks are counted once, for all its names. */
struct table_inode {
	uint64_t blocks;
	uint32_t refs;
	bool fresh; /* first seen linked since the last table_links_settle() */
};

static size_t file_hash(const struct table_dir *d, const char *name)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ ((uintptr_t)d * 0x9e3779b97f4a7c15ULL);

	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	return (size_t)(h ^ (h >> 29));
}

static size_t file_alloc_size(const char *name)
{
	return sizeof(struct table_file) + strlen(name) + 1;
}

struct table *table_create(size_t n_zones)
{
	struct table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->n_zones = n_zones;
	t->zones = calloc(n_zones ? n_zones : 1, sizeof(*t->zones));
	t->wds = u64map_create();
	t->writes = u64map_create();
	t->reads = u64map_create();
	t->slab = slab_create();
	if (!t->zones || !t->wds || !t->writes || !t->reads || !t->slab) {
		table_destroy(t);
		return NULL;
	}
	for (size_t i = 0; i < n_zones; i++) {
		t->zones[i].inodes = u64map_create();
		if (!t->zones[i].inodes) {
			table_destroy(t);
			return NULL;
		}
	}
	return t;
}

static void dir_free_tree(struct table_dir *d)
{
	while (d->first_child) {
		struct table_dir *c = d->first_child;
		d->first_child = c->next_sibling;
		dir_free_tree(c);
	}
	free(d->name);
	free(d);
}

static void free_inode(uint64_t key, void *val, void *ud)
{
	(void)key;
	(void)ud;
	free(val);
}

void table_destroy(struct table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->cap; i++)
		if (t->slots[i])
			slab_free(t->slab, t->slots[i], file_alloc_size(t->slots[i]->name));
	for (size_t i = 0; i < t->n_zones && t->zones; i++) {
		struct table_zone *z = &t->zones[i];
		if (z->inodes) {
			u64map_foreach(z->inodes, free_inode, NULL);
			u64map_destroy(z->inodes);
		}
		free(z->age.v);
		free(z->use.v);
		if (z->root)
			dir_free_tree(z->root);
	}
	free(t->zones);
	free(t->slots);
	u64map_destroy(t->wds);
	u64map_destroy(t->writes);
	u64map_destroy(t->reads);
	slab_destroy(t->slab);
	free(t);
}

struct table_zone *table_zone(struct table *t, size_t zone)
{
	return zone < t->n_zones ? &t->zones[zone] : NULL;
}

size_t table_files(const struct table *t)
{
	return t->len;
}

/* ---- the two heaps: by mtime (every zone), by last use (zones that ask) ---- */

int64_t table_file_last_use(const struct table_file *f)
{
	return f->atime > f->mtime ? f->atime : f->mtime;
}

static int64_t heap_key(const struct table_heap *h, const struct table_file *f)
{
	return h->by_use ? table_file_last_use(f) : f->mtime;
}

static uint32_t *heap_idx(const struct table_heap *h, struct table_file *f)
{
	return h->by_use ? &f->use_idx : &f->heap_idx;
}

static void heap_set(struct table_heap *h, size_t i, struct table_file *f)
{
	h->v[i] = f;
	*heap_idx(h, f) = (uint32_t)i;
}

static void heap_up(struct table_heap *h, size_t i)
{
	struct table_file *f = h->v[i];
	int64_t k = heap_key(h, f);

	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (heap_key(h, h->v[p]) <= k)
			break;
		heap_set(h, i, h->v[p]);
		i = p;
	}
	heap_set(h, i, f);
}

static void heap_down(struct table_heap *h, size_t i)
{
	struct table_file *f = h->v[i];
	int64_t k = heap_key(h, f);

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= h->len)
			break;
		if (c + 1 < h->len && heap_key(h, h->v[c + 1]) < heap_key(h, h->v[c]))
			c++;
		if (k <= heap_key(h, h->v[c]))
			break;
		heap_set(h, i, h->v[c]);
		i = c;
	}
	heap_set(h, i, f);
}

static int heap_push(struct table_heap *h, struct table_file *f)
{
	if (h->len == h->cap) {
		/* 1.5x, not 2x: the heap is a fixed part of each file's memory. */
		size_t cap = h->cap ? h->cap + h->cap / 2 : 64;
		struct table_file **v = realloc(h->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		h->v = v;
		h->cap = cap;
	}
	heap_set(h, h->len++, f);
	heap_up(h, h->len - 1);
	return 0;
}

static void heap_remove(struct table_heap *h, struct table_file *f)
{
	size_t i = *heap_idx(h, f);
	struct table_file *last = h->v[--h->len];

	if (i == h->len)
		return;
	heap_set(h, i, last);
	heap_up(h, i);
	heap_down(h, *heap_idx(h, last));
}

static void heap_fix(struct table_heap *h, struct table_file *f)
{
	heap_up(h, *heap_idx(h, f));
	heap_down(h, *heap_idx(h, f));
}

struct table_file *table_zone_oldest(struct table *t, size_t zone)
{
	struct table_zone *z = table_zone(t, zone);
	return z && z->age.len ? z->age.v[0] : NULL;
}

int table_zone_track_use(struct table *t, size_t zone)
{
	struct table_zone *z = table_zone(t, zone);

	if (!z || z->use.by_use)
		return 0;
	z->use.by_use = true;
	for (size_t i = 0; i < z->age.len; i++)
		if (heap_push(&z->use, z->age.v[i]) < 0)
			return -ENOMEM;
	return 0;
}

/*
 * Walks a heap in ascending order without changing it: a second, small heap
 * holds the frontier (indices whose parents were taken), so the k first
 * files cost O(k log k), whatever the size of the zone.
 */
void table_iter_init(struct table_iter *it, struct table *t, size_t zone, bool by_use)
{
	struct table_zone *z = table_zone(t, zone);

	memset(it, 0, sizeof(*it));
	it->h = z ? (by_use && z->use.by_use ? &z->use : &z->age) : NULL;
	if (it->h && it->h->len) {
		it->idx = malloc(16 * sizeof(*it->idx));
		if (it->idx) {
			it->cap = 16;
			it->idx[it->n++] = 0;
		}
	}
}

static bool iter_less(const struct table_iter *it, size_t a, size_t b)
{
	return heap_key(it->h, it->h->v[a]) < heap_key(it->h, it->h->v[b]);
}

static void iter_push(struct table_iter *it, size_t i)
{
	size_t k;

	if (i >= it->h->len)
		return;
	if (it->n == it->cap) {
		size_t *v = realloc(it->idx, 2 * it->cap * sizeof(*v));
		if (!v) {
			it->failed = true;
			return;
		}
		it->idx = v;
		it->cap *= 2;
	}
	k = it->n++;
	while (k > 0 && iter_less(it, i, it->idx[(k - 1) / 2])) {
		it->idx[k] = it->idx[(k - 1) / 2];
		k = (k - 1) / 2;
	}
	it->idx[k] = i;
}

struct table_file *table_iter_next(struct table_iter *it)
{
	size_t top, last, k = 0;

	if (!it->n)
		return NULL;
	top = it->idx[0];
	last = it->idx[--it->n];
	for (;;) {
		size_t c = 2 * k + 1;
		if (c >= it->n)
			break;
		if (c + 1 < it->n && iter_less(it, it->idx[c + 1], it->idx[c]))
			c++;
		if (!iter_less(it, it->idx[c], last))
			break;
		it->idx[k] = it->idx[c];
		k = c;
	}
	if (it->n)
		it->idx[k] = last;
	iter_push(it, 2 * top + 1);
	iter_push(it, 2 * top + 2);
	return it->h->v[top];
}

void table_iter_done(struct table_iter *it)
{
	free(it->idx);
	it->idx = NULL;
	it->n = 0;
}

/*
 * ---- what the daemon saw: writes (for min_age: an mtime may be set back
 * after a write) and accesses (for max_idle: an atime may be set back, or
 * never move on relatime and noatime mounts). Kept aside, only for files
 * that had one, until pruned.
 */

static struct u64map *seen_map(const struct table *t, uint8_t flag)
{
	return flag == TF_WRITTEN ? t->writes : t->reads;
}

static void seen_note(struct table *t, struct table_file *f, uint8_t flag, int64_t when)
{
	if (u64map_put(seen_map(t, flag), (uintptr_t)f, (void *)(uintptr_t)when) == 0)
		f->flags |= flag;
}

static int64_t seen_get(const struct table *t, const struct table_file *f, uint8_t flag)
{
	return (f->flags & flag) ? (int64_t)(uintptr_t)u64map_get(seen_map(t, flag), (uintptr_t)f)
				 : INT64_MIN;
}

static void seen_forget(struct table *t, struct table_file *f)
{
	if (f->flags & TF_WRITTEN)
		u64map_del(t->writes, (uintptr_t)f);
	if (f->flags & TF_READ)
		u64map_del(t->reads, (uintptr_t)f);
	f->flags &= (uint8_t)~(TF_WRITTEN | TF_READ);
}

void table_file_note_write(struct table *t, struct table_file *f, int64_t when)
{
	seen_note(t, f, TF_WRITTEN, when);
}

int64_t table_file_last_write(const struct table *t, const struct table_file *f)
{
	int64_t seen = seen_get(t, f, TF_WRITTEN);

	return seen > f->mtime ? seen : f->mtime;
}

struct prune_ctx {
	int64_t before;
	uint64_t *drop;
	size_t n, cap;
};

static void prune_one(uint64_t key, void *val, void *ud)
{
	struct prune_ctx *c = ud;

	if ((int64_t)(uintptr_t)val >= c->before)
		return;
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 64;
		uint64_t *v = realloc(c->drop, cap * sizeof(*v));
		if (!v)
			return;
		c->drop = v;
		c->cap = cap;
	}
	c->drop[c->n++] = key;
}

static void seen_prune(struct table *t, uint8_t flag, int64_t before)
{
	struct prune_ctx c = { .before = before };

	u64map_foreach(seen_map(t, flag), prune_one, &c);
	for (size_t i = 0; i < c.n; i++) {
		((struct table_file *)(uintptr_t)c.drop[i])->flags &= (uint8_t)~flag;
		u64map_del(seen_map(t, flag), c.drop[i]);
	}
	free(c.drop);
}

void table_prune_seen(struct table *t, int64_t writes_before, int64_t reads_before)
{
	seen_prune(t, TF_WRITTEN, writes_before);
	seen_prune(t, TF_READ, reads_before);
}

/* ---- the file hash ---- */

static struct table_file **slot_find(struct table *t, const struct table_dir *d, const char *name)
{
	size_t mask = t->cap - 1;

	for (size_t i = file_hash(d, name) & mask;; i = (i + 1) & mask) {
		struct table_file *f = t->slots[i];
		if (!f || (f->dir == d && !strcmp(f->name, name)))
			return &t->slots[i];
	}
}

static int slots_grow(struct table *t)
{
	struct table_file **old = t->slots;
	size_t old_cap = t->cap;

	t->cap = old_cap ? old_cap * 2 : 1024;
	t->slots = calloc(t->cap, sizeof(*t->slots));
	if (!t->slots) {
		t->slots = old;
		t->cap = old_cap;
		return -ENOMEM;
	}
	for (size_t i = 0; i < old_cap; i++)
		if (old[i])
			*slot_find(t, old[i]->dir, old[i]->name) = old[i];
	free(old);
	return 0;
}

static void slot_delete(struct table *t, struct table_file **slot)
{
	size_t mask = t->cap - 1, i = (size_t)(slot - t->slots), j;

	t->slots[i] = NULL;
	t->len--;
	for (j = (i + 1) & mask; t->slots[j]; j = (j + 1) & mask) {
		size_t home = file_hash(t->slots[j]->dir, t->slots[j]->name) & mask;
		if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
			t->slots[i] = t->slots[j];
			t->slots[j] = NULL;
			i = j;
		}
	}
}

struct table_file *table_file_get(struct table *t, struct table_dir *d, const char *name)
{
	return t->cap ? *slot_find(t, d, name) : NULL;
}

struct table_dir *table_dir_find(struct table *t, size_t zone, const char *rel)
{
	struct table_dir *d = zone < t->n_zones ? t->zones[zone].root : NULL;

	char part[NAME_MAX + 1];

	while (d && *rel) {
		const char *slash = strchr(rel, '/');
		size_t n = slash ? (size_t)(slash - rel) : strlen(rel);

		if (n > NAME_MAX)
			return NULL; /* no such name in any directory */
		memcpy(part, rel, n);
		part[n] = '\0';
		d = table_dir_child(d, part);
		rel += n + (slash ? 1 : 0);
	}
	return d;
}

struct table_file *table_file_find(struct table *t, size_t zone, const char *rel, uint64_t ino)
{
	const char *slash = strrchr(rel, '/');
	char *dir = strndup(rel, slash ? (size_t)(slash - rel) : 0);
	struct table_dir *d = dir ? table_dir_find(t, zone, dir) : NULL;
	struct table_file *f = d ? table_file_get(t, d, slash ? slash + 1 : rel) : NULL;

	free(dir);
	return f && f->ino == ino ? f : NULL;
}

/* ---- zone totals ---- */

/* Adds (sign 1) or takes away (sign -1) what f contributes to its zone. */
static void account(struct table *t, struct table_file *f, int sign)
{
	struct table_zone *z = &t->zones[f->dir->zone];
	uint64_t disk = f->blocks * 512;

	z->files += sign;
	z->bytes += sign * f->size;
	if (f->flags & TF_WRITING)
		z->open_files += sign;
	if (f->flags & TF_LINKED) {
		struct table_inode *in = u64map_get(z->inodes, f->ino);
		if (sign > 0) {
			if (!in) {
				in = calloc(1, sizeof(*in));
				if (!in || u64map_put(z->inodes, f->ino, in) < 0) {
					/* Out of memory: count it as unshared. */
					free(in);
					f->flags &= ~TF_LINKED;
					z->disk_bytes += disk;
					return;
				}
				in->blocks = f->blocks;
				in->fresh = true;
				t->links_new = true;
				z->disk_bytes += disk;
			} else if (in->blocks != f->blocks) {
				z->disk_bytes += disk - in->blocks * 512;
				in->blocks = f->blocks;
			}
			in->refs++;
		} else if (in && --in->refs == 0) {
			z->disk_bytes -= in->blocks * 512;
			u64map_del(z->inodes, f->ino);
			free(in);
		}
		return;
	}
	z->disk_bytes += sign * disk;
}

/*
 * link(2) sends no event for the name that was there first: its link count
 * goes from 1 to 2 in silence, so a name counted alone keeps its blocks while
 * the new name counts them again. Each name of an inode that has just been
 * seen linked is therefore counted with it here, once per batch: one pass over
 * the table, only in a batch that saw a new hard-linked inode.
 */
static void clear_fresh(uint64_t key, void *val, void *ud)
{
	(void)key;
	(void)ud;
	((struct table_inode *)val)->fresh = false;
}

void table_links_settle(struct table *t)
{
	if (!t->links_new)
		return;
	t->links_new = false;
	for (size_t i = 0; i < t->cap; i++) {
		struct table_file *f = t->slots[i];
		struct table_inode *in;

		if (!f || (f->flags & TF_LINKED))
			continue;
		in = u64map_get(t->zones[f->dir->zone].inodes, f->ino);
		if (!in || !in->fresh)
			continue;
		account(t, f, -1);
		f->flags |= TF_LINKED;
		account(t, f, 1);
		t->zones[f->dir->zone].changes++;
	}
	for (size_t i = 0; i < t->n_zones; i++)
		u64map_foreach(t->zones[i].inodes, clear_fresh, NULL);
}

struct table_file *table_file_put(struct table *t, struct table_dir *d, const char *name,
				  const struct table_stat *st)
{
	struct table_zone *z = &t->zones[d->zone];
	struct table_file **slot, *f;
	int64_t old_mtime, old_use;

	if ((t->len + 1) * 4 > t->cap * 3 && slots_grow(t) < 0)
		return NULL;
	slot = slot_find(t, d, name);
	f = *slot;
	if (!f) {
		f = slab_alloc(t->slab, file_alloc_size(name));
		if (!f)
			return NULL;
		memset(f, 0, sizeof(*f));
		strcpy(f->name, name);
		f->dir = d;
		f->mtime = st->mtime;
		f->atime = st->atime;
		if (heap_push(&z->age, f) < 0) {
			slab_free(t->slab, f, file_alloc_size(name));
			return NULL;
		}
		if (z->use.by_use && heap_push(&z->use, f) < 0) {
			heap_remove(&z->age, f);
			slab_free(t->slab, f, file_alloc_size(name));
			return NULL;
		}
		*slot = f;
		t->len++;
		d->nfiles++;
	} else {
		account(t, f, -1);
	}
	old_mtime = f->mtime;
	old_use = table_file_last_use(f);
	f->size = st->size;
	f->blocks = st->blocks;
	if (f->ino != st->ino)
		seen_forget(t, f); /* another file under the same name */
	f->ino = st->ino;
	f->mtime = st->mtime;
	/* The atime on disk, which may go back (touch -a), but never before an access seen. */
	f->atime = st->atime > seen_get(t, f, TF_READ) ? st->atime : seen_get(t, f, TF_READ);
	f->flags = (uint8_t)((f->flags & ~TF_LINKED) | (st->nlink > 1 ? TF_LINKED : 0));
	account(t, f, 1);
	z->changes++;
	if (old_mtime != f->mtime)
		heap_fix(&z->age, f);
	if (z->use.by_use && old_use != table_file_last_use(f))
		heap_fix(&z->use, f);
	return f;
}

void table_file_remove(struct table *t, struct table_file *f)
{
	struct table_zone *z = &t->zones[f->dir->zone];

	account(t, f, -1);
	z->changes++;
	heap_remove(&z->age, f);
	if (z->use.by_use)
		heap_remove(&z->use, f);
	seen_forget(t, f);
	f->dir->nfiles--;
	slot_delete(t, slot_find(t, f->dir, f->name));
	slab_free(t->slab, f, file_alloc_size(f->name));
}

void table_file_set_writing(struct table *t, struct table_file *f, bool writing)
{
	struct table_zone *z = &t->zones[f->dir->zone];

	if (!!(f->flags & TF_WRITING) == writing)
		return;
	f->flags ^= TF_WRITING;
	z->changes++;
	if (writing)
		z->open_files++;
	else
		z->open_files--;
}

void table_file_set_access(struct table *t, struct table_file *f, int64_t when)
{
	struct table_zone *z = &t->zones[f->dir->zone];
	int64_t old_use = table_file_last_use(f);

	if (z->use.by_use)
		seen_note(t, f, TF_READ, when);
	if (when <= f->atime)
		return;
	f->atime = when;
	if (z->use.by_use && old_use != table_file_last_use(f))
		heap_fix(&z->use, f);
}

void table_foreach_file(struct table *t, void (*fn)(struct table_file *, void *), void *ud)
{
	for (size_t i = 0; i < t->cap; i++)
		if (t->slots[i])
			fn(t->slots[i], ud);
}

/* ---- directories ---- */

struct table_dir *table_dir_child(struct table_dir *parent, const char *name)
{
	for (struct table_dir *c = parent->first_child; c; c = c->next_sibling)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

static void dir_link(struct table_dir *parent, struct table_dir *d)
{
	d->parent = parent;
	d->prev_sibling = NULL;
	d->next_sibling = parent->first_child;
	if (parent->first_child)
		parent->first_child->prev_sibling = d;
	parent->first_child = d;
}

static void dir_unlink(struct table_dir *d)
{
	if (d->prev_sibling)
		d->prev_sibling->next_sibling = d->next_sibling;
	else if (d->parent)
		d->parent->first_child = d->next_sibling;
	if (d->next_sibling)
		d->next_sibling->prev_sibling = d->prev_sibling;
	d->next_sibling = d->prev_sibling = NULL;
}

struct table_dir *table_dir_add(struct table *t, struct table_dir *parent, uint32_t zone,
				const char *name, uint64_t dev, uint64_t ino)
{
	struct table_dir *d = parent ? table_dir_child(parent, name) : t->zones[zone].root;

	if (d) {
		d->dev = dev;
		d->ino = ino;
		return d;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->name = strdup(parent ? name : "");
	if (!d->name) {
		free(d);
		return NULL;
	}
	d->zone = zone;
	d->dev = dev;
	d->ino = ino;
	d->wd = -1;
	if (parent)
		dir_link(parent, d);
	else
		t->zones[zone].root = d;
	return d;
}

int table_dir_set_wd(struct table *t, struct table_dir *d, int wd)
{
	if (d->wd >= 0 && table_dir_by_wd(t, d->wd) == d)
		u64map_del(t->wds, (uint64_t)d->wd);
	d->wd = wd;
	if (wd < 0)
		return 0;
	return u64map_put(t->wds, (uint64_t)wd, d);
}

struct table_dir *table_dir_by_wd(struct table *t, int wd)
{
	return wd < 0 ? NULL : u64map_get(t->wds, (uint64_t)wd);
}

int table_dir_move(struct table *t, struct table_dir *d, struct table_dir *new_parent,
		   const char *new_name)
{
	char *name = strdup(new_name);

	(void)t;
	if (!name)
		return -ENOMEM;
	dir_unlink(d);
	free(d->name);
	d->name = name;
	dir_link(new_parent, d);
	return 0;
}

/* Marks a subtree with flag; returns how many files it holds directly. */
static uint64_t dir_mark(struct table_dir *d, uint8_t flag)
{
	uint64_t n = d->nfiles;

	d->flags |= flag;
	for (struct table_dir *c = d->first_child; c; c = c->next_sibling)
		n += dir_mark(c, flag);
	return n;
}

static void dir_drop_tree(struct table *t, struct table_dir *d,
			  void (*on_dir)(struct table_dir *, void *), void *ud)
{
	while (d->first_child) {
		struct table_dir *c = d->first_child;
		dir_unlink(c);
		dir_drop_tree(t, c, on_dir, ud);
	}
	if (on_dir)
		on_dir(d, ud);
	table_dir_set_wd(t, d, -1);
	free(d->name);
	free(d);
}

/* Drops files whose directory carries flag, unless keep_seen and they were seen. */
static void files_sweep(struct table *t, uint8_t dir_flag, bool keep_seen)
{
	for (size_t i = 0; i < t->cap;) {
		struct table_file *f = t->slots[i];
		if (f && (f->dir->flags & dir_flag)) {
			if (keep_seen && (f->flags & TF_SEEN)) {
				f->flags &= ~TF_SEEN;
			} else {
				/* Deletion shifts a later entry into slot i: look at it again. */
				table_file_remove(t, f);
				continue;
			}
		}
		i++;
	}
}

void table_dir_remove(struct table *t, struct table_dir *d,
		      void (*on_dir)(struct table_dir *, void *), void *ud)
{
	if (dir_mark(d, TD_DEAD))
		files_sweep(t, TD_DEAD, false);
	if (d->parent)
		dir_unlink(d);
	else
		t->zones[d->zone].root = NULL;
	dir_drop_tree(t, d, on_dir, ud);
}

void table_rescan_begin(struct table *t, struct table_dir *d)
{
	(void)t;
	dir_mark(d, TD_RESCAN);
}

/* Clears the rescan marks; drops the directories the rescan did not see. */
static void rescan_dirs(struct table *t, struct table_dir *d,
			void (*on_dir)(struct table_dir *, void *), void *ud)
{
	struct table_dir *c = d->first_child;

	while (c) {
		struct table_dir *next = c->next_sibling;
		if (c->flags & TD_SEEN) {
			rescan_dirs(t, c, on_dir, ud);
		} else {
			dir_unlink(c);
			dir_drop_tree(t, c, on_dir, ud);
		}
		c = next;
	}
	d->flags &= (uint8_t)~(TD_RESCAN | TD_SEEN);
}

void table_rescan_end(struct table *t, struct table_dir *d,
		      void (*on_dir)(struct table_dir *, void *), void *ud)
{
	/* Unseen files go first, with their directories still in place. */
	files_sweep(t, TD_RESCAN, true);
	d->flags |= TD_SEEN;
	rescan_dirs(t, d, on_dir, ud);
}

static int prepend(char *buf, size_t len, size_t *pos, const char *s)
{
	size_t n = strlen(s);

	if (n + 1 > *pos)
		return -ENAMETOOLONG;
	*pos -= n;
	memcpy(buf + *pos, s, n);
	(void)len;
	return 0;
}

/* Builds the relative path backwards from the end of buf, then moves it to the front. */
static int build_relpath(const struct table_dir *d, const char *leaf, char *buf, size_t len)
{
	size_t pos = len - 1;

	buf[pos] = '\0';
	if (leaf && prepend(buf, len, &pos, leaf) < 0)
		return -ENAMETOOLONG;
	for (; d && d->parent; d = d->parent) {
		if (pos != len - 1 && prepend(buf, len, &pos, "/") < 0)
			return -ENAMETOOLONG;
		if (prepend(buf, len, &pos, d->name) < 0)
			return -ENAMETOOLONG;
	}
	memmove(buf, buf + pos, len - pos);
	return 0;
}

int table_dir_relpath(const struct table_dir *d, char *buf, size_t len)
{
	return build_relpath(d, NULL, buf, len);
}

int table_file_relpath(const struct table_file *f, char *buf, size_t len)
{
	return build_relpath(f->dir, f->name, buf, len);
}

/* The relative path of d (and leaf) on the heap, of any length: a tree may go past PATH_MAX. */
static char *relpath_dup(const struct table_dir *d, const char *leaf)
{
	size_t len = (leaf ? strlen(leaf) + 1 : 1) + 1; /* prepend() keeps a byte spare */
	char *buf;

	for (const struct table_dir *p = d; p && p->parent; p = p->parent)
		len += strlen(p->name) + 1;
	buf = malloc(len);
	if (buf && build_relpath(d, leaf, buf, len) < 0) {
		free(buf);
		buf = NULL;
	}
	return buf;
}

char *table_dir_relpath_dup(const struct table_dir *d)
{
	return relpath_dup(d, NULL);
}

char *table_file_relpath_dup(const struct table_file *f)
{
	return relpath_dup(f->dir, f->name);
}

/* ---- top ---- */

static bool ranks_before(const struct table_file *a, const struct table_file *b,
			 enum table_order by)
{
	if (by == TABLE_BY_SIZE)
		return a->size != b->size ? a->size > b->size : a->mtime < b->mtime;
	return a->mtime != b->mtime ? a->mtime < b->mtime : a->size > b->size;
}

/* Keeps the best n seen so far in out[], sorted, by insertion: n is small. */
size_t table_top(struct table *t, size_t zone, enum table_order by, struct table_file **out,
		 size_t n)
{
	struct table_zone *z = table_zone(t, zone);
	size_t have = 0;

	if (!z || !n)
		return 0;
	for (size_t i = 0; i < z->age.len; i++) {
		struct table_file *f = z->age.v[i];
		size_t j;

		if (have == n && !ranks_before(f, out[n - 1], by))
			continue;
		j = have < n ? have++ : n - 1;
		while (j > 0 && ranks_before(f, out[j - 1], by)) {
			out[j] = out[j - 1];
			j--;
		}
		out[j] = f;
	}
	return have;
}

static void dir_renumber(struct table_dir *d, uint32_t zone)
{
	d->zone = zone;
	for (struct table_dir *c = d->first_child; c; c = c->next_sibling)
		dir_renumber(c, zone);
}

int table_remap(struct table *t, const int *old_of_new, size_t n_new,
		void (*on_dir)(struct table_dir *, void *), void *ud)
{
	struct table_zone *zones = calloc(n_new ? n_new : 1, sizeof(*zones));
	bool *kept = calloc(t->n_zones ? t->n_zones : 1, sizeof(*kept));

	if (!zones || !kept)
		goto nomem;
	for (size_t j = 0; j < n_new; j++) {
		if (old_of_new[j] >= 0)
			continue;
		zones[j].inodes = u64map_create();
		if (!zones[j].inodes)
			goto nomem;
	}
	for (size_t j = 0; j < n_new; j++) {
		if (old_of_new[j] < 0)
			continue;
		zones[j] = t->zones[old_of_new[j]];
		kept[old_of_new[j]] = true;
		if (zones[j].root)
			dir_renumber(zones[j].root, (uint32_t)j);
	}
	for (size_t i = 0; i < t->n_zones; i++) {
		struct table_zone *z = &t->zones[i];

		if (kept[i])
			continue;
		if (z->root)
			table_dir_remove(t, z->root, on_dir, ud);
		u64map_foreach(z->inodes, free_inode, NULL);
		u64map_destroy(z->inodes);
		free(z->age.v);
		free(z->use.v);
	}
	free(t->zones);
	free(kept);
	t->zones = zones;
	t->n_zones = n_new;
	return 0;
nomem:
	for (size_t j = 0; zones && j < n_new; j++)
		if (old_of_new[j] < 0)
			u64map_destroy(zones[j].inodes);
	free(zones);
	free(kept);
	return -ENOMEM;
}
