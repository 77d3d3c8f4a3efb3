#include "alarms.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "vec.h"

struct alarms {
	struct alarm *v;
	size_t n, cap;
};

struct alarms *alarms_create(void)
{
	return calloc(1, sizeof(struct alarms));
}

static void alarm_free(struct alarm *al)
{
	free(al->name);
	for (size_t i = 0; i < al->n_labels; i++) {
		free(al->keys[i]);
		free(al->values[i]);
	}
	free(al->summary);
}

void alarms_destroy(struct alarms *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n; i++)
		alarm_free(&a->v[i]);
	free(a->v);
	free(a);
}

void alarms_begin(struct alarms *a)
{
	for (size_t i = 0; i < a->n; i++)
		a->v[i].held = 0;
}

/* The same alarm: its name and every label alike. */
static bool same(const struct alarm *al, const char *name, const char *const *labels, size_t n)
{
	if (strcmp(al->name, name) || al->n_labels != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (strcmp(al->keys[i], labels[2 * i]) || strcmp(al->values[i], labels[2 * i + 1]))
			return false;
	return true;
}

int alarms_hold(struct alarms *a, const char *name, const char *const *labels,
		const char *summary, int64_t since, int64_t now)
{
	struct alarm al = { 0 }, *g;
	size_t n = 0;
	bool oom;

	while (labels && labels[2 * n])
		n++;
	if (n > ALARMS_LABELS)
		return -EINVAL;
	for (size_t i = 0; i < a->n; i++) {
		char *s;

		if (!same(&a->v[i], name, labels, n))
			continue;
		a->v[i].held = 1;
		if (strcmp(a->v[i].summary, summary) && (s = strdup(summary))) {
			free(a->v[i].summary);
			a->v[i].summary = s;
		}
		if (since > 0)
			a->v[i].since = since;
		return 0;
	}
	g = vec_grow(a->v, &a->cap, a->n + 1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	a->v = g;
	al.name = strdup(name);
	al.summary = strdup(summary);
	oom = !al.name || !al.summary;
	for (size_t i = 0; i < n; i++) {
		al.keys[i] = strdup(labels[2 * i]);
		al.values[i] = strdup(labels[2 * i + 1]);
		al.n_labels++;
		oom = oom || !al.keys[i] || !al.values[i];
	}
	if (oom) {
		alarm_free(&al);
		return -ENOMEM;
	}
	al.since = since > 0 ? since : now;
	al.held = 1;
	a->v[a->n++] = al;
	return 1;
}

size_t alarms_end(struct alarms *a, void (*ended)(const struct alarm *al, void *ud), void *ud)
{
	size_t kept = 0, gone = 0;

	/* In order: the list reads in the order its alarms started. */
	for (size_t i = 0; i < a->n; i++) {
		if (a->v[i].held) {
			a->v[kept++] = a->v[i];
			continue;
		}
		if (ended)
			ended(&a->v[i], ud);
		alarm_free(&a->v[i]);
		gone++;
	}
	a->n = kept;
	return gone;
}

size_t alarms_count(const struct alarms *a)
{
	return a ? a->n : 0;
}

const struct alarm *alarms_at(const struct alarms *a, size_t i)
{
	return i < a->n ? &a->v[i] : NULL;
}

const char *alarms_label(const struct alarm *al, const char *key)
{
	for (size_t i = 0; i < al->n_labels; i++)
		if (!strcmp(al->keys[i], key))
			return al->values[i];
	return NULL;
}
