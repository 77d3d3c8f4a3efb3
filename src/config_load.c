#include "config.h"

#include <errno.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cfgread.h"
#include "config_http.h"
#include "config_remote.h"
#include "config_zone.h"

/*
 * Loading the configuration file: its top-level groups (socket, disk,
 * archive), its zones (config_zone.c), each setting read by cfgread.c, and
 * at a reload what must not change.
 */

static const char *const compress_names[] = {"off", "auto", "zstd", NULL};

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* A reload cannot move what sweepd holds open or follows in one place. */
static void check_unchanged(struct cfgread *ld, const config_t *cf, const char *key,
			    const char *was, const char *is)
{
	if (!same_str(was, is))
		cfgread_error(ld, config_lookup(cf, key),
			      "%s cannot change while sweepd runs (it is %s, this file says %s): "
			      "put it back, or restart sweepd",
			      key, was ? was : "unset", is ? is : "unset");
}

/*
 * An archive root that its group or others may write in (a tmpfs mounted
 * there is 1777 unless told otherwise). sweepd keeps files only in
 * directories of its own (ARCHIVE/<zone> and below, its user's, 0700), so
 * whoever may write at the root can make such a name first, a directory or a
 * link, and archiving for that zone stops (archive_blocked) until it is
 * moved away. Legal, and safe, but not what anyone wants: said.
 */
static void warn_open_archive(struct cfgread *ld, const config_t *cf, const struct config *cfg)
{
	const char *zone = "<zone>";
	struct stat st;

	if (!cfg->archive_path || stat(cfg->archive_path, &st) < 0 || !S_ISDIR(st.st_mode) ||
	    !(st.st_mode & (S_IWGRP | S_IWOTH)))
		return;
	for (size_t i = cfg->n_zones; i-- > 0;)
		if (cfg->zones[i].action == ACTION_ARCHIVE && cfg->zones[i].name &&
		    *cfg->zones[i].name)
			zone = cfg->zones[i].name;
	cfgread_warning(ld, config_lookup(cf, "archive.path"),
			"archive %s is mode %04o: %s may write in it, so they can make %s/%s (a "
			"directory or a symbolic link) before sweepd does, and archiving for that "
			"zone stops (sweepd refuses a directory not its own and raises "
			"archive_blocked); chmod 0755 (or 0700) it, or mount a tmpfs there with "
			"mode=0755",
			cfg->archive_path, (unsigned)(st.st_mode & 07777),
			st.st_mode & S_IWOTH ? "others" : "its group", cfg->archive_path, zone);
}

static void load_top(struct cfgread *ld, const config_t *cf, struct config *cfg)
{
	static const char *const top_keys[] = {"state_dir", "socket", "disk", "archive",
					       "zones", "metrics_file", "http",
					       "alert_command", "alert_repeat", NULL};
	static const char *const socket_keys[] = {"path",	  "mode",	 "owner",
						  "group",	  "admin_group", "idle_timeout",
						  "max_clients", "max_clients_per_user",
						  "admin_reserve", NULL};
	static const char *const disk_keys[] = {"high", "low", NULL};
	static const char *const archive_keys[] = {"path", "keep", "max_size", "compress",
						   "level", "remote", NULL};
	const config_setting_t *root = config_root_setting(cf), *s, *zl;

	cfgread_keys(ld, root, "the top level", top_keys);
	cfg->state_dir =
		cfgread_own_dir(ld, root, "state_dir", "state_dir", CONFIG_DEFAULT_STATE_DIR);

	cfg->socket_mode = 0660;
	cfg->idle_timeout = 60;
	cfg->max_clients = 512;
	cfg->max_clients_per_user = 16;
	cfg->admin_reserve = 32;
	cfg->metrics_file = cfgread_own_file(ld, root, "metrics_file", "metrics_file", NULL);
	s = config_setting_get_member(root, "socket");
	if (s && !config_setting_is_group(s)) {
		cfgread_error(ld, s, "'socket' must be a group: socket = { path = \"...\"; }");
		s = NULL;
	}
	if (s) {
		const char *mode;
		cfgread_keys(ld, s, "socket", socket_keys);
		cfg->socket_path = cfgread_own_file(ld, s, "path", "socket path", NULL);
		mode = cfgread_string(ld, s, "mode");
		if (mode) {
			char *end;
			unsigned long m = strtoul(mode, &end, 8);
			if (!*mode || *end || m > 0777)
				cfgread_error(ld, config_setting_get_member(s, "mode"),
					      "'mode' must be an octal string like \"0660\"");
			else
				cfg->socket_mode = (unsigned)m;
		}
		cfg->admin_group = cfgread_name(ld, s, "admin_group", false);
		cfg->socket_owner = cfgread_name(ld, s, "owner", true);
		cfg->socket_group = cfgread_name(ld, s, "group", false);
		cfg->idle_timeout = cfgread_duration(ld, s, "idle_timeout", 60);
		if (!cfg->idle_timeout)
			cfgread_error(ld, config_setting_get_member(s, "idle_timeout"),
				      "'idle_timeout' must be at least 1s");
		cfg->max_clients = cfgread_int(ld, s, "max_clients", 1, 100000, 512);
		cfg->max_clients_per_user =
			cfgread_int(ld, s, "max_clients_per_user", 1, 100000, 16);
		/* Room only admins may take: by default 32, or half of a smaller max_clients. */
		cfg->admin_reserve = cfgread_int(ld, s, "admin_reserve", 0, 100000,
						 cfg->max_clients < 64 ? cfg->max_clients / 2 : 32);
		if (cfg->admin_reserve >= cfg->max_clients)
			cfgread_error(
				ld, config_setting_get_member(s, "admin_reserve"),
				"'admin_reserve' (%lld) must be less than max_clients (%lld): "
				"ordinary users would never get in",
				(long long)cfg->admin_reserve, (long long)cfg->max_clients);
	}
	if (!cfg->socket_path)
		cfg->socket_path = strdup(CONFIG_DEFAULT_SOCKET);
	if (cfg->socket_path && strlen(cfg->socket_path) >= 108)
		cfgread_error(ld, config_lookup(cf, "socket.path"),
			      "socket path %s is longer than the 107 bytes a Unix socket allows",
			      cfg->socket_path);

	cfg->disk_high = 90;
	cfg->disk_low = 80;
	s = config_setting_get_member(root, "disk");
	if (s && !config_setting_is_group(s))
		cfgread_error(
			ld, s,
			"'disk' must be a group: disk = { high = \"90%%\"; low = \"80%%\"; }");
	else if (s) {
		cfgread_keys(ld, s, "disk", disk_keys);
		cfg->disk_high = cfgread_percent(ld, s, "high", 90);
		cfg->disk_low = cfgread_percent(ld, s, "low", 80);
		if (cfg->disk_low > cfg->disk_high)
			cfgread_error(ld, s, "disk 'low' (%g%%) must not be above 'high' (%g%%)",
				      cfg->disk_low, cfg->disk_high);
		if (cfg->disk_high == 0)
			cfgread_error(
				ld, config_setting_get_member(s, "high"),
				"disk 'high' must be above 0%%: any filesystem that holds a file "
				"is "
				"above \"0%%\", so sweepd would sweep all it may, all the time");
		else if (cfg->disk_low == 0)
			cfgread_warning(ld, config_setting_get_member(s, "low"),
					"disk 'low' is \"0%%\": above 'high', sweepd sweeps all it may, "
					"until the filesystem holds nothing else");
	}

	cfg->archive_keep = 7 * 86400;
	cfg->archive_max_size = CONFIG_UNSET;
	cfg->archive_compress = COMPRESS_AUTO;
	cfg->archive_level = 3;
	s = config_setting_get_member(root, "archive");
	if (s && !config_setting_is_group(s))
		cfgread_error(ld, s, "'archive' must be a group: archive = { path = \"...\"; }");
	else if (s) {
		cfgread_keys(ld, s, "archive", archive_keys);
		cfg->archive_path = cfgread_own_dir(ld, s, "path", "archive path", NULL);
		cfg->archive_keep = cfgread_duration(ld, s, "keep", 7 * 86400);
		if (cfg->archive_keep == 0 && !config_setting_get_member(s, "remote"))
			cfgread_warning(
				ld, config_setting_get_member(s, "keep"),
				"archive 'keep' is 0: archived files are purged at the next "
				"housekeeping, leaving no time to restore them");
		cfg->archive_max_size = cfgread_size(ld, s, "max_size");
		if (cfg->archive_max_size == 0)
			cfgread_warning(ld, config_setting_get_member(s, "max_size"),
					"archive 'max_size' is 0: every archived file is purged at once, "
					"leaving no time to restore it; leave it out for no limit");
		cfg->archive_compress =
			cfgread_enum(ld, s, "compress", compress_names, COMPRESS_AUTO);
		cfg->archive_level = cfgread_level(ld, s, "archive", NULL);
		if (config_setting_get_member(s, "remote"))
			cfg->remote = config_remote_load(ld, config_setting_get_member(s, "remote"),
							 cfg->archive_keep);
	}

	if ((s = config_setting_get_member(root, "http")))
		cfg->http = config_http_load(ld, s);
	config_alert_load(ld, root, cfg);

	zl = config_setting_get_member(root, "zones");
	if (!zl) {
		cfgread_error(ld, NULL, "no 'zones': nothing to watch");
		return;
	}
	if (config_setting_type(zl) != CONFIG_TYPE_LIST) {
		cfgread_error(ld, zl, "'zones' must be a list: zones = ( { ... }, { ... } );");
		return;
	}
	cfg->n_zones = (size_t)config_setting_length(zl);
	if (!cfg->n_zones)
		cfgread_error(ld, zl, "'zones' is empty: nothing to watch");
	cfg->zones = calloc(cfg->n_zones ? cfg->n_zones : 1, sizeof(*cfg->zones));
	if (!cfg->zones) {
		cfg->n_zones = 0;
		return;
	}
	for (size_t i = 0; i < cfg->n_zones; i++)
		config_zone_load(ld, config_setting_get_elem(zl, (unsigned)i), &cfg->zones[i]);
	for (size_t i = 0; i < cfg->n_zones; i++) {
		struct zone_config *z = &cfg->zones[i];
		bool sweeps = z->max_age != CONFIG_UNSET || z->max_idle != CONFIG_UNSET ||
			      z->max_size != CONFIG_UNSET || z->max_files != CONFIG_UNSET;
		if (sweeps && z->action == ACTION_ARCHIVE && !cfg->archive_path)
			cfgread_error(
				ld, config_setting_get_elem(zl, (unsigned)i),
				"zone \"%s\" archives what it sweeps, but there is no 'archive' "
				"group with a 'path'",
				z->name);
	}
	config_zones_check(ld, cf, cfg);
	warn_open_archive(ld, cf, cfg);
	if (ld->old) {
		check_unchanged(ld, cf, "state_dir", ld->old->state_dir, cfg->state_dir);
		check_unchanged(ld, cf, "archive.path", ld->old->archive_path, cfg->archive_path);
		check_unchanged(ld, cf, "socket.path", ld->old->socket_path, cfg->socket_path);
	}
}

struct config *config_load(const char *file, struct config_errors *errs)
{
	return config_reload(file, NULL, errs);
}

struct config *config_reload(const char *file, const struct config *old,
			     struct config_errors *errs)
{
	struct cfgread ld = {.file = file, .errs = errs, .old = old};
	struct config *cfg = calloc(1, sizeof(*cfg));
	char *slash, *abs_file;
	config_t cf;

	if (!cfg)
		return NULL;
	ld.cfg = cfg;
	abs_file = realpath(file, NULL);
	/* Absolute: sweepd works from "/", and a reload reads the same file. */
	cfg->file = strdup(abs_file ? abs_file : file);
	ld.base_dir = strdup(abs_file ? abs_file : file);
	free(abs_file);
	slash = ld.base_dir ? strrchr(ld.base_dir, '/') : NULL;
	if (slash)
		*slash = '\0';
	else if (ld.base_dir) {
		free(ld.base_dir);
		ld.base_dir = strdup(".");
	}
	if (slash == ld.base_dir && slash)
		strcpy(ld.base_dir, "/");

	config_init(&cf);
	if (config_read_file(&cf, file) != CONFIG_TRUE) {
		char *line;
		if (config_error_type(&cf) == CONFIG_ERR_FILE_IO) {
			if (asprintf(&line, "%s: cannot read: %s", file, strerror(errno)) < 0)
				line = NULL;
		} else if (asprintf(&line, "%s:%d: %s", config_error_file(&cf) ? config_error_file(&cf) : file,
				    config_error_line(&cf), config_error_text(&cf)) < 0) {
			line = NULL;
		}
		if (line) {
			char **grown = realloc(errs->msgs, (errs->n + 1) * sizeof(*grown));
			if (grown) {
				errs->msgs = grown;
				errs->msgs[errs->n++] = line;
			} else {
				free(line);
			}
		}
	} else {
		load_top(&ld, &cf, cfg);
	}
	config_destroy(&cf);
	free(ld.base_dir);
	if (errs->n) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
}
