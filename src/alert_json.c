#include "alert.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pathenc.h"
#include "vec.h"

struct alert_track {
	struct alert_alarm *v;
	size_t n, cap;
};

struct alert_track *alert_track_create(void)
{
	return calloc(1, sizeof(struct alert_track));
}

static void kept_free(struct alert_alarm *al)
{
	free(al->name);
	for (size_t i = 0; i < al->n_labels; i++) {
		free(al->keys[i]);
		free(al->values[i]);
	}
	free(al->summary);
}

void alert_track_destroy(struct alert_track *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		kept_free(&t->v[i]);
	free(t->v);
	free(t);
}

size_t alert_track_count(const struct alert_track *t)
{
	return t->n;
}

/* The same alarm: its name and every label alike (the alarms list's identity). */
static bool same(const struct alert_alarm *k, const struct alarm *al)
{
	if (strcmp(k->name, al->name) || k->n_labels != al->n_labels)
		return false;
	for (size_t i = 0; i < al->n_labels; i++)
		if (strcmp(k->keys[i], al->keys[i]) || strcmp(k->values[i], al->values[i]))
			return false;
	return true;
}

static int keep(struct alert_track *t, const struct alarm *al)
{
	struct alert_alarm k = { 0 }, *g;
	bool oom;

	g = vec_grow(t->v, &t->cap, t->n + 1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	t->v = g;
	k.name = strdup(al->name);
	k.summary = strdup(al->summary);
	oom = !k.name || !k.summary;
	for (size_t i = 0; i < al->n_labels; i++) {
		k.keys[i] = strdup(al->keys[i]);
		k.values[i] = strdup(al->values[i]);
		k.n_labels++;
		oom = oom || !k.keys[i] || !k.values[i];
	}
	if (oom) {
		kept_free(&k);
		return -ENOMEM;
	}
	k.since = al->since;
	k.held = 1;
	t->v[t->n++] = k;
	return 0;
}

/* A kept alarm held again: its summary and start as the list has them now. */
static void refresh(struct alert_alarm *k, const struct alarm *al)
{
	char *s;

	k->held = 1;
	k->since = al->since;
	if (strcmp(k->summary, al->summary) && (s = strdup(al->summary))) {
		free(k->summary);
		k->summary = s;
	}
}

/* A firing for k, if it was never sent or (repeat > 0) was last sent repeat ago. */
static void fire_if_due(struct alert_alarm *k, int64_t now, int64_t repeat, alert_emit_fn emit,
			void *ud)
{
	bool repeat_due = k->sent_at && repeat > 0 && now - k->sent_at >= repeat;

	if (k->sent_at && !repeat_due)
		return;
	k->sent_at = now > 0 ? now : 1;
	emit(&(struct alert_event){ .status = ALERT_FIRING, .alarm = k, .repeat = repeat_due }, ud);
}

int alert_track_sync(struct alert_track *t, const struct alarms *list, int64_t now,
		     int64_t repeat, bool send, alert_emit_fn emit, void *ud)
{
	size_t kept = 0, n_before = t->n;
	int r = 0;

	for (size_t i = 0; i < t->n; i++)
		t->v[i].held = 0;
	for (size_t j = 0; j < alarms_count(list); j++) {
		const struct alarm *al = alarms_at(list, j);
		size_t i;

		for (i = 0; i < n_before && !same(&t->v[i], al); i++)
			;
		if (i < n_before)
			refresh(&t->v[i], al);
		else if (keep(t, al) < 0)
			r = -ENOMEM;
	}
	/* In order: the ended first, as they were kept; then what fires. */
	for (size_t i = 0; i < t->n; i++) {
		if (t->v[i].held) {
			t->v[kept++] = t->v[i];
			continue;
		}
		if (send && t->v[i].sent_at)
			emit(&(struct alert_event){ .status = ALERT_RESOLVED, .alarm = &t->v[i],
						    .ends_at = now },
			     ud);
		kept_free(&t->v[i]);
	}
	t->n = kept;
	for (size_t i = 0; send && i < t->n; i++)
		fire_if_due(&t->v[i], now, repeat, emit, ud);
	return r;
}

void alert_track_due(struct alert_track *t, int64_t now, int64_t repeat, bool send,
		     alert_emit_fn emit, void *ud)
{
	for (size_t i = 0; send && repeat > 0 && i < t->n; i++)
		if (t->v[i].sent_at)
			fire_if_due(&t->v[i], now, repeat, emit, ud);
}

int64_t alert_track_next(const struct alert_track *t, int64_t repeat)
{
	int64_t next = 0;

	for (size_t i = 0; repeat > 0 && i < t->n; i++) {
		int64_t at = t->v[i].sent_at + repeat;

		if (t->v[i].sent_at && (!next || at < next))
			next = at;
	}
	return next;
}

char *alert_rfc3339(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "1970-01-01T00:00:00Z");
	return buf;
}

char *alert_name(const struct alert_alarm *al)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	fputs(al->name, f);
	for (size_t i = 0; i < al->n_labels; i++)
		fprintf(f, "%s%s=\"%s\"", i ? "," : "{", al->keys[i], al->values[i]);
	if (al->n_labels)
		fputc('}', f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

char *alert_json(const struct alert_alarm *al, enum alert_status st, int64_t ends_at,
		 const char *generator_url)
{
	json_object *list = json_object_new_array(), *o = json_object_new_object(),
		    *labels = json_object_new_object(), *ann = json_object_new_object();
	char when[64];
	char *text = NULL;

	if (!list || !o || !labels || !ann) {
		json_object_put(list);
		json_object_put(o);
		json_object_put(labels);
		json_object_put(ann);
		return NULL;
	}
	json_object_array_add(list, o);
	json_object_object_add(o, "labels", labels);
	json_object_object_add(o, "annotations", ann);
	json_object_object_add(labels, "alertname", json_object_new_string(al->name));
	for (size_t i = 0; i < al->n_labels; i++)
		json_object_object_add(labels, al->keys[i], pathenc_json(al->values[i]));
	json_object_object_add(ann, "summary", pathenc_json(al->summary));
	json_object_object_add(o, "startsAt",
			       json_object_new_string(alert_rfc3339(al->since, when, sizeof(when))));
	if (st == ALERT_RESOLVED)
		json_object_object_add(
			o, "endsAt",
			json_object_new_string(alert_rfc3339(ends_at, when, sizeof(when))));
	if (generator_url)
		json_object_object_add(o, "generatorURL", json_object_new_string(generator_url));
	/* Each of the objects above is in the tree: one put frees them all. */
	{
		const char *s = json_object_to_json_string_ext(
			list, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

		text = s ? strdup(s) : NULL;
	}
	json_object_put(list);
	return text;
}
