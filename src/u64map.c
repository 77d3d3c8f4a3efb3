#include "u64map.h"

#include <errno.h>
#include <stdlib.h>

struct u64map_slot {
	uint64_t key;
	void *val; /* NULL: empty */
};

struct u64map {
	struct u64map_slot *slots;
	size_t cap, len; /* cap is a power of two */
};

static size_t u64map_hash(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return (size_t)k;
}

struct u64map *u64map_create(void)
{
	return calloc(1, sizeof(struct u64map));
}

void u64map_destroy(struct u64map *m)
{
	if (!m)
		return;
	free(m->slots);
	free(m);
}

static struct u64map_slot *u64map_find(const struct u64map *m, uint64_t key)
{
	if (!m->cap)
		return NULL;
	for (size_t i = u64map_hash(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		if (!m->slots[i].val || m->slots[i].key == key)
			return &m->slots[i];
	}
}

void *u64map_get(const struct u64map *m, uint64_t key)
{
	struct u64map_slot *s = u64map_find(m, key);
	return s ? s->val : NULL;
}

static int u64map_grow(struct u64map *m)
{
	struct u64map old = *m;

	m->cap = old.cap ? old.cap * 2 : 16;
	m->slots = calloc(m->cap, sizeof(*m->slots));
	if (!m->slots) {
		*m = old;
		return -ENOMEM;
	}
	for (size_t i = 0; i < old.cap; i++)
		if (old.slots[i].val)
			*u64map_find(m, old.slots[i].key) = old.slots[i];
	free(old.slots);
	return 0;
}

int u64map_put(struct u64map *m, uint64_t key, void *val)
{
	struct u64map_slot *s;

	if ((m->len + 1) * 4 > m->cap * 3 && u64map_grow(m) < 0)
		return -ENOMEM;
	s = u64map_find(m, key);
	if (!s->val)
		m->len++;
	s->key = key;
	s->val = val;
	return 0;
}

/* Backward-shift deletion keeps probe chains whole without tombstones. */
void u64map_del(struct u64map *m, uint64_t key)
{
	struct u64map_slot *s = u64map_find(m, key);
	size_t mask = m->cap - 1, i, j;

	if (!s || !s->val)
		return;
	i = (size_t)(s - m->slots);
	m->slots[i].val = NULL;
	m->len--;
	for (j = (i + 1) & mask; m->slots[j].val; j = (j + 1) & mask) {
		size_t home = u64map_hash(m->slots[j].key) & mask;
		/* Move j into the hole at i unless its home lies cyclically in (i, j]. */
		if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
			m->slots[i] = m->slots[j];
			m->slots[j].val = NULL;
			i = j;
		}
	}
}

size_t u64map_len(const struct u64map *m)
{
	return m->len;
}

void u64map_foreach(struct u64map *m, void (*fn)(uint64_t key, void *val, void *ud), void *ud)
{
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].val)
			fn(m->slots[i].key, m->slots[i].val, ud);
}

int u64map_drop_if(struct u64map *m, bool (*drop)(uint64_t key, void *val, void *ud),
		   void (*gone)(uint64_t key, void *val, void *ud), void *ud)
{
	struct u64map_slot *v = NULL;
	size_t n = 0, cap = 0;

	/* Chosen first, removed after: a removal shifts entries the scan has not reached. */
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->slots[i].val || !drop(m->slots[i].key, m->slots[i].val, ud))
			continue;
		if (n == cap) {
			struct u64map_slot *g = realloc(v, (cap = cap ? 2 * cap : 64) * sizeof(*v));

			if (!g) {
				free(v);
				return -ENOMEM;
			}
			v = g;
		}
		v[n++] = m->slots[i];
	}
	for (size_t i = 0; i < n; i++) {
		if (gone)
			gone(v[i].key, v[i].val, ud);
		u64map_del(m, v[i].key);
	}
	free(v);
	return 0;
}
