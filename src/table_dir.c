#include "table.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "table_impl.h"
#include "u64map.h"

/*
 * Directories: the tree of each zone (a zone root is the child of NULL named
 * ""), found by path or by inotify watch, removed with their files, marked
 * and swept by rescans, and their paths relative to the zone root.
 */

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
