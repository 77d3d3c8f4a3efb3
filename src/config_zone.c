#include "config_zone.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfgread.h"
#include "config.h"
#include "config_rotate.h"

/*
 * A limit of 0 is legal (a zone that keeps nothing once min_age has passed) but
 * is more often a typo or a misread unit than a wish: said with its line.
 */
static void warn_zero_limits(struct cfgread *ld, const config_setting_t *s,
			     const struct zone_config *z)
{
	static const char *const what[] = {"max_age", "max_size", "max_files"};
	const int64_t val[] = {z->max_age, z->max_size, z->max_files};

	for (size_t i = 0; i < sizeof(what) / sizeof(what[0]); i++)
		if (val[i] == 0)
			cfgread_warning(
				ld, config_setting_get_member(s, what[i]),
				"zone \"%s\": '%s' is 0, so every file is swept (%s) as soon "
				"as min_age has passed; leave '%s' out for no limit",
				z->name ? z->name : "?", what[i],
				z->action == ACTION_DELETE ? "deleted" : "archived", what[i]);
}

static bool valid_zone_name(const char *n)
{
	if (!*n)
		return false;
	for (; *n; n++)
		if (!((*n >= 'a' && *n <= 'z') || (*n >= '0' && *n <= '9') || *n == '_' || *n == '-'))
			return false;
	return true;
}

void config_zone_load(struct cfgread *ld, const config_setting_t *s, struct zone_config *z)
{
	static const char *const keys[] = {
		"name",	     "path",	 "recursive", "include",  "exclude",
		"max_age",   "max_idle", "max_size",  "max_files", "min_age",
		"action",    "priority", "prune_empty_dirs", "rotate", NULL};
	static const char *const actions[] = {"archive", "delete", NULL};
	const char *name;
	char *path;

	z->line = (int)config_setting_source_line(s);
	z->max_age = z->max_idle = z->max_size = z->max_files = CONFIG_UNSET;
	if (!config_setting_is_group(s)) {
		cfgread_error(ld, s,
			      "each zone must be a group: { name = \"...\"; path = \"...\"; }");
		return;
	}
	cfgread_keys(ld, s, "a zone", keys);
	name = cfgread_string(ld, s, "name");
	if (!name && !config_setting_get_member(s, "name"))
		cfgread_error(ld, s, "zone has no 'name'");
	else if (name && !valid_zone_name(name))
		cfgread_error(ld, config_setting_get_member(s, "name"),
			      "zone name \"%s\" must match [a-z0-9_-]+", name);
	z->name = strdup(name ? name : "");

	path = cfgread_path(ld, s, "path", NULL);
	if (!path && !config_setting_get_member(s, "path"))
		cfgread_error(ld, s, "zone \"%s\" has no 'path'", z->name);
	if (path) {
		bool missing = false;
		char what[64];

		snprintf(what, sizeof(what), "zone \"%s\": path", z->name);
		z->path = cfgread_dir(ld, config_setting_get_member(s, "path"), what, path,
				      &missing);
		if (missing)
			cfgread_warning(
				ld, config_setting_get_member(s, "path"),
				"zone \"%s\": %s does not exist (yet): the zone shows present: "
				"false, and is watched and scanned as soon as the directory "
				"appears",
				z->name, z->path);
		if (!z->path)
			z->path = path;
		else
			free(path);
	}

	z->recursive = cfgread_bool(ld, s, "recursive", true);
	cfgread_globs(ld, s, "include", &z->include);
	cfgread_globs(ld, s, "exclude", &z->exclude);
	z->max_age = cfgread_duration(ld, s, "max_age", CONFIG_UNSET);
	z->max_idle = cfgread_duration(ld, s, "max_idle", CONFIG_UNSET);
	z->min_age = cfgread_duration(ld, s, "min_age", 60);
	z->max_size = cfgread_size(ld, s, "max_size");
	z->max_files = cfgread_int(ld, s, "max_files", 0, INT64_MAX, CONFIG_UNSET);
	z->action = cfgread_enum(ld, s, "action", actions, ACTION_ARCHIVE);
	z->priority = (int)cfgread_int(ld, s, "priority", INT32_MIN, INT32_MAX, 0);
	z->prune_empty_dirs = cfgread_bool(ld, s, "prune_empty_dirs", true);
	warn_zero_limits(ld, s, z);
	config_rotate_load(ld, config_setting_get_member(s, "rotate"), z);
}

/*
 * Cross-checks: unique names, no overlapping zones, no zone on /, and
 * nothing of sweepd's own (the archive, state_dir, the configuration file)
 * inside a zone, nor a zone (or state_dir) inside the archive: sweepd would
 * sweep its own state, or take live files for archived ones.
 */
void config_zones_check(struct cfgread *ld, const config_t *cf, struct config *cfg)
{
	const config_setting_t *zl = config_lookup(cf, "zones");
	char *archive = cfg->archive_path ? cfgread_resolved(cfg->archive_path) : NULL;
	char *state = cfg->state_dir ? cfgread_resolved(cfg->state_dir) : NULL;
	char *file = cfg->file ? cfgread_resolved(cfg->file) : NULL;

	for (size_t i = 0; i < cfg->n_zones; i++) {
		struct zone_config *a = &cfg->zones[i];
		const config_setting_t *zs = config_setting_get_elem(zl, (unsigned)i);
		const config_setting_t *at = config_setting_get_member(zs, "path");

		for (size_t j = i + 1; j < cfg->n_zones; j++) {
			struct zone_config *b = &cfg->zones[j];
			const config_setting_t *t = config_setting_get_elem(zl, (unsigned)j);

			if (*a->name && !strcmp(a->name, b->name))
				cfgread_error(ld, t,
					      "zone name \"%s\" is used twice (first at line %d)",
					      b->name, a->line);
			if (a->path && b->path &&
			    (config_path_within(a->path, b->path) ||
			     config_path_within(b->path, a->path)))
				cfgread_error(ld, t, "zone \"%s\" (%s) overlaps zone \"%s\" (%s)",
					      b->name, b->path, a->name, a->path);
		}
		if (!a->path)
			continue;
		if (!strcmp(a->path, "/")) {
			cfgread_error(ld, at ? at : zs,
				      "zone \"%s\" is on /: it would hold the whole system; give it the "
				      "directory whose files it is about",
				      a->name);
			continue;
		}
		if (archive && config_path_within(archive, a->path))
			cfgread_error(ld, config_lookup(cf, "archive.path"),
				      "archive path %s is inside zone \"%s\" (%s): put the archive outside "
				      "every zone",
				      archive, a->name, a->path);
		else if (archive && config_path_within(a->path, archive))
			cfgread_error(ld, at ? at : zs,
				      "zone \"%s\" (%s) is inside the archive %s: the archive holds only "
				      "what sweepd put there; give the zone a directory outside it",
				      a->name, a->path, archive);
		if (state && config_path_within(state, a->path))
			cfgread_error(ld, config_lookup(cf, "state_dir"),
				      "state_dir %s is inside zone \"%s\" (%s): put it outside every zone",
				      state, a->name, a->path);
		if (file && config_path_within(file, a->path))
			cfgread_error(ld, at ? at : zs,
				      "zone \"%s\" (%s) holds the configuration file %s: move the file or "
				      "the zone",
				      a->name, a->path, file);
	}
	if (archive && state && (config_path_within(state, archive) ||
				 config_path_within(archive, state)))
		cfgread_error(
			ld, config_lookup(cf, "state_dir"),
			"state_dir %s and the archive %s must not hold one another: the archive "
			"holds only what sweepd archived; give each its own directory",
			state, archive);
	free(archive);
	free(state);
	free(file);
}
