#include "reload.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "pathenc.h"
#include "reply.h"

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

int reload_read(const struct config *old, struct reload *rl)
{
	*rl = (struct reload){0};
	rl->cfg = config_reload(old->file, old, &rl->errs);
	rl->old_of_new = rl->cfg ? zone_map(old, rl->cfg) : NULL;
	return rl->old_of_new ? 0 : -1;
}

char *reload_refused(struct reload *rl)
{
	config_free(rl->cfg);
	free(rl->old_of_new);
	rl->cfg = NULL;
	rl->old_of_new = NULL;
	return refused(&rl->errs);
}

json_object *reload_changes(const struct config *old, const struct reload *rl)
{
	json_object *ch = changes(old, rl->cfg, rl->old_of_new);

	log_info("reloaded %s: zones kept %s, rescanned %s, added %s, removed %s", rl->cfg->file,
		 json_object_to_json_string(json_object_object_get(ch, "kept")),
		 json_object_to_json_string(json_object_object_get(ch, "rescanned")),
		 json_object_to_json_string(json_object_object_get(ch, "added")),
		 json_object_to_json_string(json_object_object_get(ch, "removed")));
	return ch;
}

char *reload_taken(struct reload *rl, json_object *ch)
{
	const struct config *cfg = rl->cfg;
	json_object *o = json_object_new_object();

	free(rl->old_of_new);
	rl->old_of_new = NULL;
	rl->cfg = NULL;
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
