#include "table.h"

#include <errno.h>
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
	struct slab *slab;
};

/* A hard-linked inode of a zone: its blocks are counted once, for all its names. */
struct table_inode {
	uint64_t blocks;
	uint32_t refs;
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
	t->slab = slab_create();
	if (!t->zones || !t->wds || !t->slab) {
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
		free(z->heap);
		if (z->root)
			dir_free_tree(z->root);
	}
	free(t->zones);
	free(t->slots);
	u64map_destroy(t->wds);
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

/* ---- the age heap ---- */

static void heap_set(struct table_zone *z, size_t i, struct table_file *f)
{
	z->heap[i] = f;
	f->heap_idx = (uint32_t)i;
}

static void heap_up(struct table_zone *z, size_t i)
{
	struct table_file *f = z->heap[i];

	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (z->heap[p]->mtime <= f->mtime)
			break;
		heap_set(z, i, z->heap[p]);
		i = p;
	}
	heap_set(z, i, f);
}

static void heap_down(struct table_zone *z, size_t i)
{
	struct table_file *f = z->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= z->heap_len)
			break;
		if (c + 1 < z->heap_len && z->heap[c + 1]->mtime < z->heap[c]->mtime)
			c++;
		if (f->mtime <= z->heap[c]->mtime)
			break;
		heap_set(z, i, z->heap[c]);
		i = c;
	}
	heap_set(z, i, f);
}

static int heap_push(struct table_zone *z, struct table_file *f)
{
	if (z->heap_len == z->heap_cap) {
		/* 1.5x, not 2x: the heap is a fixed part of each file's memory. */
		size_t cap = z->heap_cap ? z->heap_cap + z->heap_cap / 2 : 64;
		struct table_file **h = realloc(z->heap, cap * sizeof(*h));
		if (!h)
			return -ENOMEM;
		z->heap = h;
		z->heap_cap = cap;
	}
	heap_set(z, z->heap_len++, f);
	heap_up(z, z->heap_len - 1);
	return 0;
}

static void heap_remove(struct table_zone *z, struct table_file *f)
{
	size_t i = f->heap_idx;
	struct table_file *last = z->heap[--z->heap_len];

	if (i == z->heap_len)
		return;
	heap_set(z, i, last);
	heap_up(z, i);
	heap_down(z, last->heap_idx);
}

static void heap_fix(struct table_zone *z, struct table_file *f)
{
	heap_up(z, f->heap_idx);
	heap_down(z, f->heap_idx);
}

struct table_file *table_zone_oldest(struct table *t, size_t zone)
{
	struct table_zone *z = table_zone(t, zone);
	return z && z->heap_len ? z->heap[0] : NULL;
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

struct table_file *table_file_put(struct table *t, struct table_dir *d, const char *name,
				  const struct table_stat *st)
{
	struct table_zone *z = &t->zones[d->zone];
	struct table_file **slot, *f;
	int64_t old_mtime;

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
		if (heap_push(z, f) < 0) {
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
	f->size = st->size;
	f->blocks = st->blocks;
	if (f->ino != st->ino)
		f->atime = st->atime; /* another file under the same name */
	f->ino = st->ino;
	f->mtime = st->mtime;
	if (st->atime > f->atime)
		f->atime = st->atime;
	f->flags = (uint8_t)((f->flags & ~TF_LINKED) | (st->nlink > 1 ? TF_LINKED : 0));
	account(t, f, 1);
	if (old_mtime != f->mtime)
		heap_fix(z, f);
	return f;
}

void table_file_remove(struct table *t, struct table_file *f)
{
	struct table_zone *z = &t->zones[f->dir->zone];

	account(t, f, -1);
	heap_remove(z, f);
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
	if (writing)
		z->open_files++;
	else
		z->open_files--;
}

void table_file_set_access(struct table *t, struct table_file *f, int64_t when)
{
	(void)t;
	if (when > f->atime)
		f->atime = when;
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
	for (size_t i = 0; i < z->heap_len; i++) {
		struct table_file *f = z->heap[i];
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
