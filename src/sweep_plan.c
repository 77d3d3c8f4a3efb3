#include "sweep_plan.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "table.h"

int sweep_plan_push(struct sweep_plan *p, struct table_file *f, uint32_t zone,
		    enum policy_reason why)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 64;
		struct sweep_cand *v = realloc(p->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		p->v = v;
		p->cap = cap;
	}
	p->v[p->n++] = (struct sweep_cand){ f, zone, why };
	f->flags |= TF_PICKED;
	if (p->n >= (p->limit ? p->limit : SWEEP_BATCH))
		p->more = true;
	return 0;
}

void sweep_plan_free(struct sweep_plan *p)
{
	free(p->v);
	*p = (struct sweep_plan){ 0 };
}

void sweep_tally_add(struct sweep_tally *t, enum policy_block b, uint64_t bytes)
{
	if (b == POLICY_WRITING)
		t->writing += bytes;
	else if (b == POLICY_TOO_YOUNG)
		t->young += bytes;
	else if (b == POLICY_HELD)
		t->held += bytes;
	else if (b == POLICY_FAILING)
		t->failed += bytes;
	else if (b == POLICY_TOO_DEEP)
		t->deep += bytes;
}

static void note_next(struct sweep_view *v, int64_t when)
{
	if (when < v->next)
		v->next = when;
}

static bool busy(struct sweep_view *v, const struct table_file *f)
{
	return v->busy && v->busy(v->ud, f);
}

/* Chosen already: by this pass, or on its way in the mover (by any pass). */
static bool picked(struct sweep_view *v, const struct table_file *f)
{
	return (f->flags & v->skip) || busy(v, f);
}

enum policy_block sweep_plan_blocked(struct sweep_view *v, size_t zone,
				     const struct table_file *f)
{
	const struct zone_config *zc = &v->cfg->zones[zone];
	enum policy_block b = v->failing ? v->failing(v->ud, f, v->now) : POLICY_FREE;
	int64_t last_write = table_file_last_write(v->table, f);

	if (b == POLICY_FREE)
		b = policy_block(zc, f->flags & TF_WRITING, v->held && v->held(v->ud, f, v->now),
				 last_write, v->now);
	if (b == POLICY_TOO_YOUNG)
		note_next(v, policy_touchable_at(zc, last_write));
	return b;
}

void sweep_plan_due(struct sweep_view *v, size_t zone, struct sweep_plan *p)
{
	const struct zone_config *zc = &v->cfg->zones[zone];

	for (int by_use = 0; by_use < 2 && !p->more; by_use++) {
		struct table_iter it;
		struct table_file *f;

		if ((by_use ? zc->max_idle : zc->max_age) == CONFIG_UNSET)
			continue;
		table_iter_init(&it, v->table, zone, by_use);
		while (!p->more && (f = table_iter_next(&it))) {
			int64_t due = by_use ? policy_idle_due(zc, table_file_last_use(f))
					     : policy_age_due(zc, f->mtime);

			if (due > v->now) {
				note_next(v, due);
				break;
			}
			if (picked(v, f) || sweep_plan_blocked(v, zone, f) != POLICY_FREE)
				continue; /* writing: it comes back when closed */
			sweep_plan_push(p, f, (uint32_t)zone,
					by_use ? REASON_MAX_IDLE : REASON_MAX_AGE);
		}
		table_iter_done(&it);
	}
}

uint64_t sweep_plan_quota(struct sweep_view *v, size_t zone, struct policy_excess ex,
			  struct sweep_plan *p, struct sweep_tally *t)
{
	uint64_t bytes = 0, files = 0;
	struct table_iter it;
	struct table_file *f;

	table_iter_init(&it, v->table, zone, false);
	while (!p->more && (bytes < ex.bytes || files < ex.files) && (f = table_iter_next(&it))) {
		enum policy_block b;

		if (!picked(v, f)) {
			b = sweep_plan_blocked(v, zone, f);
			if (b != POLICY_FREE) {
				sweep_tally_add(t, b, f->size);
				continue;
			}
			sweep_plan_push(p, f, (uint32_t)zone,
					ex.bytes ? REASON_MAX_SIZE : REASON_MAX_FILES);
		}
		bytes += f->size;
		files++;
	}
	table_iter_done(&it);
	return bytes;
}

bool sweep_plan_zone_on(struct table *t, size_t zone, uint64_t dev)
{
	const struct table_dir *root = table_zone(t, zone)->root;

	return root && root->dev == dev;
}

/* The lowest priority above prio among the zones on dev; INT_MAX: none. */
static int next_priority(struct sweep_view *v, uint64_t dev, int prio)
{
	int next = INT_MAX;

	for (size_t i = 0; i < v->cfg->n_zones; i++)
		if (sweep_plan_zone_on(v->table, i, dev) && v->cfg->zones[i].priority > prio &&
		    v->cfg->zones[i].priority < next)
			next = v->cfg->zones[i].priority;
	return next;
}

/* One priority's zones, merged by age. */
static void disk_merge(struct sweep_view *v, struct table_iter *its, struct table_file **peek,
		       uint64_t dev, int prio, uint64_t need, struct sweep_plan *p,
		       uint64_t *planned, struct sweep_tally *t)
{
	size_t n = v->cfg->n_zones;
	bool any = false;

	for (size_t i = 0; i < n; i++) {
		peek[i] = NULL;
		if (!sweep_plan_zone_on(v->table, i, dev) || v->cfg->zones[i].priority != prio)
			continue;
		table_iter_init(&its[i], v->table, i, false);
		peek[i] = table_iter_next(&its[i]);
		any = true;
	}
	while (any && *planned < need && !p->more) {
		size_t best = n;
		struct table_file *f;
		enum policy_block b;
		uint64_t disk;

		for (size_t i = 0; i < n; i++)
			if (peek[i] && (best == n || peek[i]->mtime < peek[best]->mtime))
				best = i;
		if (best == n)
			break;
		f = peek[best];
		peek[best] = table_iter_next(&its[best]);
		disk = (f->flags & TF_LINKED) ? 0 : f->blocks * 512;
		if (busy(v, f))
			continue; /* counted in *planned by the caller */
		if (f->flags & (TF_PICKED | TF_REPORTED)) {
			*planned += disk;
			continue;
		}
		if (!disk)
			continue; /* its blocks stay with its other names: frees nothing */
		b = sweep_plan_blocked(v, best, f);
		if (b != POLICY_FREE) {
			sweep_tally_add(t, b, disk);
			continue;
		}
		sweep_plan_push(p, f, (uint32_t)best, REASON_DISK_HIGH);
		*planned += disk;
	}
	for (size_t i = 0; i < n; i++)
		if (its[i].h)
			table_iter_done(&its[i]);
	memset(its, 0, n * sizeof(*its));
}

void sweep_plan_disk(struct sweep_view *v, uint64_t dev, uint64_t need, struct sweep_plan *p,
		     uint64_t *planned, struct sweep_tally *t)
{
	size_t n = v->cfg->n_zones;
	struct table_iter *its = calloc(n, sizeof(*its));
	struct table_file **peek = calloc(n, sizeof(*peek));
	int prio = INT_MIN;

	while (its && peek && *planned < need && !p->more &&
	       (prio = next_priority(v, dev, prio)) != INT_MAX)
		disk_merge(v, its, peek, dev, prio, need, p, planned, t);
	free(its);
	free(peek);
}

#define FAIL_TRIES_MAX 127
#define FAIL_DOUBLINGS 7

struct sweep_fail sweep_fail_decode(uintptr_t v)
{
	return (struct sweep_fail){ .until = (int64_t)(v >> 8),
				    .tries = (unsigned)(v >> 1 & FAIL_TRIES_MAX),
				    .deep = v & 1 };
}

uintptr_t sweep_fail_again(uintptr_t v, bool deep, int64_t now, int64_t retry_s, int64_t forget_s)
{
	struct sweep_fail f = sweep_fail_decode(v);
	unsigned tries = v && f.until + forget_s > now ? f.tries : 0;

	if (tries < FAIL_TRIES_MAX)
		tries++;
	f.until = now + (retry_s << (tries - 1 < FAIL_DOUBLINGS ? tries - 1 : FAIL_DOUBLINGS));
	return (uintptr_t)f.until << 8 | (uintptr_t)tries << 1 | deep;
}
