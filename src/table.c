#include "table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "slab.h"
#include "table_impl.h"
#include "u64map.h"

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
	int64_t old_mtime, old_use, accessed;

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
		if (table_heap_push(&z->age, f) < 0) {
			slab_free(t->slab, f, file_alloc_size(name));
			return NULL;
		}
		if (z->use.by_use && table_heap_push(&z->use, f) < 0) {
			table_heap_remove(&z->age, f);
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
		table_seen_forget(t, f); /* another file under the same name */
	f->ino = st->ino;
	f->mtime = st->mtime;
	/* The atime on disk, which may go back (touch -a), but never before an access seen. */
	accessed = table_seen_get(t, f, TF_READ);
	f->atime = st->atime > accessed ? st->atime : accessed;
	f->flags = (uint8_t)((f->flags & ~TF_LINKED) | (st->nlink > 1 ? TF_LINKED : 0));
	account(t, f, 1);
	z->changes++;
	if (old_mtime != f->mtime)
		table_heap_fix(&z->age, f);
	if (z->use.by_use && old_use != table_file_last_use(f))
		table_heap_fix(&z->use, f);
	return f;
}

void table_file_remove(struct table *t, struct table_file *f)
{
	struct table_zone *z = &t->zones[f->dir->zone];

	account(t, f, -1);
	z->changes++;
	table_heap_remove(&z->age, f);
	if (z->use.by_use)
		table_heap_remove(&z->use, f);
	table_seen_forget(t, f);
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
		table_seen_note(t, f, TF_READ, when);
	if (when <= f->atime)
		return;
	f->atime = when;
	if (z->use.by_use && old_use != table_file_last_use(f))
		table_heap_fix(&z->use, f);
}

void table_foreach_file(struct table *t, void (*fn)(struct table_file *, void *), void *ud)
{
	for (size_t i = 0; i < t->cap; i++)
		if (t->slots[i])
			fn(t->slots[i], ud);
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
