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
	uint8_t flag;
};

static bool seen_before(uint64_t key, void *val, void *ud)
{
	(void)key;
	return (int64_t)(uintptr_t)val < ((struct prune_ctx *)ud)->before;
}

static void seen_forgotten(uint64_t key, void *val, void *ud)
{
	(void)val;
	((struct table_file *)(uintptr_t)key)->flags &= (uint8_t)~((struct prune_ctx *)ud)->flag;
}

static void seen_prune(struct table *t, uint8_t flag, int64_t before)
{
	struct prune_ctx c = { before, flag };

	u64map_drop_if(seen_map(t, flag), seen_before, seen_forgotten, &c);
}

void table_prune_seen(struct table *t, int64_t writes_before, int64_t reads_before)
{
	seen_prune(t, TF_WRITTEN, writes_before);
	seen_prune(t, TF_READ, reads_before);
}
