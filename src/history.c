#include "history.h"

#include <errno.h>
#include <ev.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "fileio.h"
#include "fsinfo.h"
#include "log.h"
#include "table.h"
#include "trend.h"

#define HISTORY_SAVE_S (10 * 60)

struct history {
	struct ev_loop *loop;
	const struct config *cfg;
	struct table *table;
	struct trends t;
	char *path;
	ev_periodic tick;
	int64_t saved_at;
};

static void series_name(char *buf, size_t len, const char *kind, const char *name)
{
	snprintf(buf, len, "%s:%s", kind, name);
}

static void load(struct history *h)
{
	json_object *o = json_object_from_file(h->path);
	char aside[4096];

	if (!o && access(h->path, F_OK) < 0)
		return; /* the first start */
	if (o && trends_from_json(&h->t, o, (int64_t)time(NULL)) == 0) {
		json_object_put(o);
		return;
	}
	json_object_put(o);
	trends_clear(&h->t);
	/* Kept for a person to look at; the history starts again. */
	snprintf(aside, sizeof(aside), "%s.unreadable", h->path);
	if (rename(h->path, aside) == 0)
		log_warn("%s is not a history sweepd can read: moved to %s; starting a new one",
			 h->path, aside);
}

static void save(struct history *h)
{
	int64_t now = (int64_t)time(NULL);
	json_object *o = trends_to_json(&h->t, now);
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	char tmp[4096];
	int r;

	snprintf(tmp, sizeof(tmp), "%s.tmp", h->path);
	r = file_replace(h->path, tmp, text, strlen(text), true);
	if (r < 0)
		log_warn("cannot save the usage history to %s: %s", h->path, strerror(-r));
	h->saved_at = now;
	json_object_put(o);
}

/* A sample of every zone and filesystem now; saved every HISTORY_SAVE_S. */
static void history_sample(struct history *h)
{
	const struct config *cfg = h->cfg;
	int64_t now = (int64_t)time(NULL);
	char name[512];

	for (size_t i = 0; i < cfg->n_zones; i++) {
		struct trend_series *s;
		struct fsinfo fi;

		series_name(name, sizeof(name), "zone", cfg->zones[i].name);
		if ((s = trends_series(&h->t, name)) && table_zone(h->table, i)->root)
			trend_add(s, now, table_zone(h->table, i)->bytes);
		/* Two zones on one filesystem sample it twice in the same minute: the same slot. */
		if (!table_zone(h->table, i)->root || fsinfo_get(cfg->zones[i].path, &fi) < 0)
			continue;
		series_name(name, sizeof(name), "fs", fi.mount);
		if ((s = trends_series(&h->t, name)))
			trend_add(s, now, fi.used);
	}
	if (now - h->saved_at >= HISTORY_SAVE_S)
		save(h);
}

static void on_tick(struct ev_loop *loop, ev_periodic *w, int revents)
{
	(void)loop;
	(void)revents;
	history_sample(w->data);
}

struct history *history_open(struct ev_loop *loop, const struct config *cfg, struct table *t)
{
	struct history *h = calloc(1, sizeof(*h));

	if (!h || asprintf(&h->path, "%s/trends.json", cfg->state_dir) < 0) {
		free(h);
		return NULL;
	}
	h->loop = loop;
	h->cfg = cfg;
	h->table = t;
	h->saved_at = (int64_t)time(NULL);
	load(h);
	/* On the minute: samples line up with the minutes they stand for. */
	ev_periodic_init(&h->tick, on_tick, 0, 60, 0);
	h->tick.data = h;
	ev_periodic_start(loop, &h->tick);
	history_sample(h);
	return h;
}

void history_close(struct history *h)
{
	if (!h)
		return;
	ev_periodic_stop(h->loop, &h->tick);
	save(h);
	trends_clear(&h->t);
	free(h->path);
	free(h);
}

void history_set_config(struct history *h, const struct config *cfg)
{
	if (h)
		h->cfg = cfg;
}

const struct trend_series *history_zone(const struct history *h, const char *zone)
{
	char name[512];

	series_name(name, sizeof(name), "zone", zone);
	return trends_find(&h->t, name);
}

const struct trend_series *history_fs(const struct history *h, const char *mount)
{
	char name[512];

	series_name(name, sizeof(name), "fs", mount);
	return trends_find(&h->t, name);
}
