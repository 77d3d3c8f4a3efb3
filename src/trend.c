#include "trend.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

struct trend_series *trends_find(const struct trends *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->v[i]->name, name))
			return t->v[i];
	return NULL;
}

struct trend_series *trends_series(struct trends *t, const char *name)
{
	struct trend_series *s = trends_find(t, name), **grown;

	if (s)
		return s;
	s = calloc(1, sizeof(*s));
	grown = s ? realloc(t->v, (t->n + 1) * sizeof(*grown)) : NULL;
	if (!grown || !(s->name = strdup(name))) {
		if (grown)
			t->v = grown;
		free(s);
		return NULL;
	}
	t->v = grown;
	t->v[t->n++] = s;
	return s;
}

void trends_clear(struct trends *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i]->name);
		free(t->v[i]);
	}
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

static void slot_put(struct trend_slot *ring, size_t len, int64_t at, uint64_t value)
{
	ring[(uint64_t)at % len] = (struct trend_slot){ at, value };
}

void trend_add(struct trend_series *s, int64_t now, uint64_t value)
{
	slot_put(s->minutes, TREND_MINUTES, now / 60, value);
	slot_put(s->hours, TREND_HOURS, now / 3600, value);
}

/* Least squares over the ring's samples within reach of now: slope per unit, and the span. */
static bool fit(const struct trend_slot *ring, size_t len, int64_t now_unit, double *slope,
		int64_t *span)
{
	double n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
	int64_t lo = INT64_MAX, hi = INT64_MIN;

	for (size_t i = 0; i < len; i++) {
		const struct trend_slot *sl = &ring[i];
		double x, y;

		if (!sl->at || sl->at > now_unit || sl->at <= now_unit - (int64_t)len)
			continue;
		/* Relative to now: the squares stay small enough for a double. */
		x = (double)(sl->at - now_unit);
		y = (double)sl->value;
		n++;
		sx += x;
		sy += y;
		sxx += x * x;
		sxy += x * y;
		lo = sl->at < lo ? sl->at : lo;
		hi = sl->at > hi ? sl->at : hi;
	}
	if (n < 2 || n * sxx - sx * sx == 0)
		return false;
	*slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
	*span = hi - lo;
	return true;
}

bool trend_growth(const struct trend_series *s, int64_t now, double *per_day)
{
	double slope;
	int64_t span;

	if (fit(s->minutes, TREND_MINUTES, now / 60, &slope, &span) && span >= 10) {
		*per_day = slope * 1440.0;
		return true;
	}
	if (fit(s->hours, TREND_HOURS, now / 3600, &slope, &span) && span >= 2) {
		*per_day = slope * 24.0;
		return true;
	}
	return false;
}

void trend_last_hours(const struct trend_series *s, int64_t now, int64_t out[TREND_SPARK])
{
	int64_t h = now / 3600;

	for (int i = 0; i < TREND_SPARK; i++) {
		int64_t at = h - (TREND_SPARK - 1) + i;
		const struct trend_slot *sl = &s->hours[(uint64_t)at % TREND_HOURS];
		out[i] = sl->at == at ? (int64_t)sl->value : -1;
	}
}

int64_t trend_reaches(uint64_t used, uint64_t limit, double per_day, int64_t now)
{
	double secs;

	if (used >= limit)
		return now;
	if (per_day <= 0)
		return -1;
	secs = (double)(limit - used) / per_day * 86400.0;
	if (secs > 100.0 * 365 * 86400)
		return -1; /* not in any horizon that matters */
	return now + (int64_t)secs;
}

static json_object *ring_json(const struct trend_slot *ring, size_t len, int64_t now_unit)
{
	json_object *a = json_object_new_array();

	/* Oldest first: the file reads as a time series. */
	for (int64_t at = now_unit - (int64_t)len + 1; at <= now_unit; at++) {
		const struct trend_slot *sl = &ring[(uint64_t)at % len];
		json_object *pair;

		if (sl->at != at)
			continue;
		pair = json_object_new_array();
		json_object_array_add(pair, json_object_new_int64(sl->at));
		json_object_array_add(pair, json_object_new_uint64(sl->value));
		json_object_array_add(a, pair);
	}
	return a;
}

json_object *trends_to_json(const struct trends *t, int64_t now)
{
	json_object *o = json_object_new_object(), *series = json_object_new_object();

	json_object_object_add(o, "version", json_object_new_int(1));
	for (size_t i = 0; i < t->n; i++) {
		json_object *s = json_object_new_object(),
			    *m = ring_json(t->v[i]->minutes, TREND_MINUTES, now / 60),
			    *h = ring_json(t->v[i]->hours, TREND_HOURS, now / 3600);

		json_object_object_add(s, "m", m);
		json_object_object_add(s, "h", h);
		/* A series with nothing left in reach (a zone removed a month ago) ends here. */
		if (!json_object_array_length(m) && !json_object_array_length(h))
			json_object_put(s);
		else
			json_object_object_add(series, t->v[i]->name, s);
	}
	json_object_object_add(o, "series", series);
	return o;
}

static int ring_from_json(struct trend_slot *ring, size_t len, json_object *a, int64_t now_unit)
{
	if (!a)
		return 0;
	if (!json_object_is_type(a, json_type_array))
		return -EINVAL;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		json_object *pair = json_object_array_get_idx(a, i), *at, *v;

		if (!json_object_is_type(pair, json_type_array) || json_object_array_length(pair) != 2)
			return -EINVAL;
		at = json_object_array_get_idx(pair, 0);
		v = json_object_array_get_idx(pair, 1);
		if (!json_object_is_type(at, json_type_int) || !json_object_is_type(v, json_type_int) ||
		    json_object_get_int64(at) <= 0 || json_object_get_int64(v) < 0)
			return -EINVAL;
		if (json_object_get_int64(at) > now_unit ||
		    json_object_get_int64(at) <= now_unit - (int64_t)len)
			continue;
		slot_put(ring, len, json_object_get_int64(at), json_object_get_uint64(v));
	}
	return 0;
}

int trends_from_json(struct trends *t, json_object *o, int64_t now)
{
	json_object *version, *series;

	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "version", &version) ||
	    json_object_get_int(version) != 1 || !json_object_object_get_ex(o, "series", &series) ||
	    !json_object_is_type(series, json_type_object))
		return -EINVAL;
	json_object_object_foreach(series, name, val)
	{
		struct trend_series *s;
		json_object *m = NULL, *h = NULL;

		if (!json_object_is_type(val, json_type_object))
			return -EINVAL;
		json_object_object_get_ex(val, "m", &m);
		json_object_object_get_ex(val, "h", &h);
		s = trends_series(t, name);
		if (!s)
			return -ENOMEM;
		if (ring_from_json(s->minutes, TREND_MINUTES, m, now / 60) < 0 ||
		    ring_from_json(s->hours, TREND_HOURS, h, now / 3600) < 0)
			return -EINVAL;
	}
	return 0;
}
