#include "table.h"

#include <stdint.h>
#include <stdlib.h>

#include "table_impl.h"
#include "u64map.h"

/*
 * What the daemon saw: writes (for min_age: an mtime may be set back after a
 * write) and accesses (for max_idle: an atime may be set back, or never move
 * on relatime and noatime mounts). Kept aside, only for files that had one,
 * until pruned.
 */

static struct u64map *seen_map(const struct table *t, uint8_t flag)
{
	return flag == TF_WRITTEN ? t->writes : t->reads;
}

void table_seen_note(struct table *t, struct table_file *f, uint8_t flag, int64_t when)
{
	if (u64map_put(seen_map(t, flag), (uintptr_t)f, (void *)(uintptr_t)when) == 0)
		f->flags |= flag;
}

int64_t table_seen_get(const struct table *t, const struct table_file *f, uint8_t flag)
{
	return (f->flags & flag) ? (int64_t)(uintptr_t)u64map_get(seen_map(t, flag), (uintptr_t)f)
				 : INT64_MIN;
}

void table_seen_forget(struct table *t, struct table_file *f)
{
	if (f->flags & TF_WRITTEN)
		u64map_del(t->writes, (uintptr_t)f);
	if (f->flags & TF_READ)
		u64map_del(t->reads, (uintptr_t)f);
	f->flags &= (uint8_t)~(TF_WRITTEN | TF_READ);
}

void table_file_note_write(struct table *t, struct table_file *f, int64_t when)
{
	table_seen_note(t, f, TF_WRITTEN, when);
}

int64_t table_file_last_write(const struct table *t, const struct table_file *f)
{
	int64_t seen = table_seen_get(t, f, TF_WRITTEN);

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
