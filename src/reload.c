#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive.h"
#include "config.h"
#include "daemon.h"
#include "history.h"
#include "log.h"
#include "notify.h"
#include "pathenc.h"
#include "reply.h"
#include "reserve.h"
#include "rotate.h"
#include "sweep.h"
#include "watch.h"

/* Which old zone each new zone continues: the same name and the same files, or -1. */
static int *zone_map(const struct config *old, const struct config *cfg)
{
	int *map = malloc((cfg->n_zones ? cfg->n_zones : 1) * sizeof(*map));

	for (size_t j = 0; map && j < cfg->n_zones; j++) {
		int i = config_zone_index(old, cfg->zones[j].name);

		map[j] = i >= 0 && config_zone_same_files(&old->zones[i], &cfg->zones[j]) ? i : -1;
	}
	return map;
}

/* {kept, rescanned, added, removed}: zone names, for the reply and the log. */
static json_object *changes(const struct config *old, const struct config *cfg, const int *map)
{
	json_object *o = json_object_new_object(), *kept = json_object_new_array(),
		    *rescanned = json_object_new_array(), *added = json_object_new_array(),
		    *removed = json_object_new_array();

	for (size_t j = 0; j < cfg->n_zones; j++) {
		const char *name = cfg->zones[j].name;
		json_object *list = map[j] >= 0 ? kept
				    : config_zone_index(old, name) >= 0 ? rescanned
									    : added;
		json_object_array_add(list, json_object_new_string(name));
	}
	for (size_t i = 0; i < old->n_zones; i++)
		if (config_zone_index(cfg, old->zones[i].name) < 0)
			json_object_array_add(removed, json_object_new_string(old->zones[i].name));
	json_object_object_add(o, "kept", kept);
	json_object_object_add(o, "rescanned", rescanned);
	json_object_object_add(o, "added", added);
	json_object_object_add(o, "removed", removed);
	return o;
}

static char *refused(struct config_errors *errs)
{
	json_object *o = json_object_new_object(), *list = json_object_new_array();
	char msg[1024];
	char *out;

	for (size_t i = 0; i < errs->n; i++) {
		log_err("reload refused: %s", errs->msgs[i]);
		json_object_array_add(list, pathenc_json(errs->msgs[i]));
	}
	snprintf(msg, sizeof(msg), "the configuration was not reloaded (the running one stays): %s%s",
		 errs->n ? errs->msgs[0] : "out of memory",
		 errs->n > 1 ? " (and more: see \"errors\")" : "");
	json_object_object_add(o, "ok", json_object_new_boolean(0));
	json_object_object_add(o, "error", pathenc_json(msg));
	json_object_object_add(o, "errors", list);
	out = reply_object(o);
	config_errors_clear(errs);
	return out;
}

char *daemon_reload(struct daemon *d)
{
	struct config_errors errs = {0};
	struct config *cfg, *old = d->cfg;
	json_object *o, *ch;
	int *map;

	notify_reloading();
	cfg = config_reload(old->file, old, &errs);
	map = cfg ? zone_map(old, cfg) : NULL;
	/* What happened under the old configuration is taken in under it. */
	if (map)
		watch_drain(d->watch);
	if (!map || watch_reconfigure(d->watch, cfg, map) < 0) {
		config_free(cfg);
		free(map);
		daemon_notify_status(d, true);
		return refused(&errs);
	}
	/* Waiting reservations name zones by their old places. */
	reserve_end(d->reserve, "the configuration was reloaded");
	d->cfg = cfg;
	reserve_set_config(d->reserve, cfg);
	history_set_config(d->history, cfg);
	if (sweep_reconfigure(d->sweep, map) < 0) {
		/* The watcher runs the new zones already: there is no going back. */
		log_err("reload: out of memory; stopping so that systemd starts sweepd again");
		ev_break(d->loop, EVBREAK_ALL);
	}
	rotate_reconfigure(d->rotate, old);
	if (d->archive)
		archive_set_config(d->archive, cfg);
	daemon_apply_socket(d);
	ch = changes(old, cfg, map);
	log_info("reloaded %s: zones kept %s, rescanned %s, added %s, removed %s", cfg->file,
		 json_object_to_json_string(json_object_object_get(ch, "kept")),
		 json_object_to_json_string(json_object_object_get(ch, "rescanned")),
		 json_object_to_json_string(json_object_object_get(ch, "added")),
		 json_object_to_json_string(json_object_object_get(ch, "removed")));
	config_free(old);
	free(map);
	/* New limits apply at once. */
	daemon_settle(d);
	daemon_notify_status(d, true);
	o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_boolean(1));
	json_object_object_add(o, "zones", ch);
	if (cfg->warnings.n) {
		json_object *w = json_object_new_array();
		for (size_t i = 0; i < cfg->warnings.n; i++) {
			log_warn("reload: %s", cfg->warnings.msgs[i]);
			json_object_array_add(w, pathenc_json(cfg->warnings.msgs[i]));
		}
		json_object_object_add(o, "warnings", w);
	}
	return reply_object(o);
}
