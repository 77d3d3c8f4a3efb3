#include "table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "table_impl.h"

/*
 * The two heaps of each zone: by mtime (every zone), by last use (zones that
 * ask, for max_idle). Each file knows its place in each, so that a change of
 * its key moves it in O(log n).
 */

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

int table_heap_push(struct table_heap *h, struct table_file *f)
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

void table_heap_remove(struct table_heap *h, struct table_file *f)
{
	size_t i = *heap_idx(h, f);
	struct table_file *last = h->v[--h->len];

	if (i == h->len)
		return;
	heap_set(h, i, last);
	heap_up(h, i);
	heap_down(h, *heap_idx(h, last));
}

void table_heap_fix(struct table_heap *h, struct table_file *f)
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
		if (table_heap_push(&z->use, z->age.v[i]) < 0)
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
