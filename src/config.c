#include "config.h"

#include <errno.h>
#include <grp.h>
#include <libconfig.h>
#include <pwd.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rotplan.h"
#include "units.h"

struct loader {
	const char *file;
	char *base_dir; /* relative paths resolve against it */
	struct config_errors *errs;
	const struct config *old; /* a reload: what must not change */
	struct config *cfg;	  /* what is being loaded: its warnings */
};

static void add_error(struct loader *ld, const config_setting_t *s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void add_warning(struct loader *ld, const config_setting_t *s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Appends "file:line: [prefix]msg" to list: errors and warnings take one shape. */
static void add_message(struct loader *ld, struct config_errors *list, const char *prefix,
			const config_setting_t *s, const char *fmt, va_list ap)
	__attribute__((format(printf, 5, 0)));
static void add_message(struct loader *ld, struct config_errors *list, const char *prefix,
			const config_setting_t *s, const char *fmt, va_list ap)
{
	char msg[512], *line;
	const char *file = s && config_setting_source_file(s) ? config_setting_source_file(s)
							      : ld->file;
	int lineno = s ? (int)config_setting_source_line(s) : 0;
	char **grown;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if ((lineno ? asprintf(&line, "%s:%d: %s%s", file, lineno, prefix, msg)
		    : asprintf(&line, "%s: %s%s", file, prefix, msg)) < 0)
		return;
	grown = realloc(list->msgs, (list->n + 1) * sizeof(*grown));
	if (!grown) {
		free(line);
		return;
	}
	list->msgs = grown;
	list->msgs[list->n++] = line;
}

static void add_error(struct loader *ld, const config_setting_t *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_message(ld, ld->errs, "", s, fmt, ap);
	va_end(ap);
}

/* Something accepted that is probably not what the operator meant: said, not refused. */
static void add_warning(struct loader *ld, const config_setting_t *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_message(ld, &ld->cfg->warnings, "warning: ", s, fmt, ap);
	va_end(ap);
}

/* Reports every member of group s whose name is not in known (NULL-ended). */
static void check_keys(struct loader *ld, const config_setting_t *s, const char *where,
		       const char *const *known)
{
	for (int i = 0; i < config_setting_length(s); i++) {
		const config_setting_t *m = config_setting_get_elem(s, i);
		const char *name = config_setting_name(m);
		bool ok = false;

		for (const char *const *k = known; *k && name; k++)
			ok = ok || !strcmp(*k, name);
		if (!ok)
			add_error(ld, m, "unknown key '%s' in %s", name ? name : "?", where);
	}
}

static const char *type_name(int type)
{
	switch (type) {
	case CONFIG_TYPE_GROUP:
		return "a group";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a float";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_ARRAY:
		return "an array";
	case CONFIG_TYPE_LIST:
		return "a list";
	default:
		return "something else";
	}
}

static bool is_int(const config_setting_t *s)
{
	int t = config_setting_type(s);
	return t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64;
}

static const char *get_string(struct loader *ld, const config_setting_t *grp, const char *key)
{
	const config_setting_t *s = config_setting_get_member(grp, key);

	if (!s)
		return NULL;
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		add_error(ld, s, "'%s' must be a string, not %s", key,
			  type_name(config_setting_type(s)));
		return NULL;
	}
	return config_setting_get_string(s);
}

static bool get_bool(struct loader *ld, const config_setting_t *grp, const char *key, bool def)
{
	const config_setting_t *s = config_setting_get_member(grp, key);

	if (!s)
		return def;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		add_error(ld, s, "'%s' must be true or false", key);
		return def;
	}
	return config_setting_get_bool(s);
}

/* An integer key in [min, max]; def when absent. */
static int64_t get_int(struct loader *ld, const config_setting_t *grp, const char *key,
		       int64_t min, int64_t max, int64_t def)
{
	const config_setting_t *s = config_setting_get_member(grp, key);
	long long v;

	if (!s)
		return def;
	if (!is_int(s)) {
		add_error(ld, s, "'%s' must be an integer, not %s", key,
			  type_name(config_setting_type(s)));
		return def;
	}
	v = config_setting_get_int64(s);
	if (v < min || v > max) {
		add_error(ld, s, "'%s' must be between %lld and %lld, not %lld", key,
			  (long long)min, (long long)max, v);
		return def;
	}
	return v;
}

/* A size: integer bytes or "300M". */
static int64_t get_size(struct loader *ld, const config_setting_t *grp, const char *key)
{
	const config_setting_t *s = config_setting_get_member(grp, key);
	uint64_t v;

	if (!s)
		return CONFIG_UNSET;
	if (is_int(s)) {
		long long i = config_setting_get_int64(s);
		if (i >= 0)
			return i;
	} else if (config_setting_type(s) == CONFIG_TYPE_STRING &&
		   units_parse_size(config_setting_get_string(s), &v) == 0 && v <= INT64_MAX) {
		return (int64_t)v;
	}
	add_error(ld, s, "'%s' must be a size: bytes, or a string like \"512K\", \"300M\", \"1.5T\"",
		  key);
	return CONFIG_UNSET;
}

/* A duration: integer seconds or "7d". */
static int64_t get_duration(struct loader *ld, const config_setting_t *grp, const char *key,
			    int64_t def)
{
	const config_setting_t *s = config_setting_get_member(grp, key);
	int64_t v;

	if (!s)
		return def;
	if (is_int(s) && config_setting_get_int64(s) >= 0)
		return config_setting_get_int64(s);
	if (config_setting_type(s) == CONFIG_TYPE_STRING &&
	    units_parse_duration(config_setting_get_string(s), &v) == 0)
		return v;
	add_error(ld, s,
		  "'%s' must be a duration: seconds, or a string like \"90s\", \"15m\", \"1h\", "
		  "\"7d\", \"2w\"",
		  key);
	return def;
}

static double get_percent(struct loader *ld, const config_setting_t *grp, const char *key,
			  double def)
{
	const config_setting_t *s = config_setting_get_member(grp, key);
	double v;

	if (!s)
		return def;
	if (config_setting_type(s) == CONFIG_TYPE_STRING &&
	    units_parse_percent(config_setting_get_string(s), &v) == 0)
		return v;
	add_error(ld, s, "'%s' must be a percentage from \"0%%\" to \"100%%\", like \"85%%\"", key);
	return def;
}

/* One of names[] (NULL-ended); returns its index, or def. */
static int get_enum(struct loader *ld, const config_setting_t *grp, const char *key,
		    const char *const *names, int def)
{
	const char *v = get_string(ld, grp, key);
	char list[256] = "";

	if (!v)
		return def;
	for (int i = 0; names[i]; i++) {
		if (!strcmp(v, names[i]))
			return i;
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s\"%s\"",
			 i ? ", " : "", names[i]);
	}
	add_error(ld, config_setting_get_member(grp, key), "'%s' must be one of %s, not \"%s\"",
		  key, list, v);
	return def;
}

/* Joins a relative path to the config file's directory; malloc'd. */
static char *resolve_path(struct loader *ld, const char *p)
{
	char *out;

	if (p[0] == '/')
		return strdup(p);
	if (asprintf(&out, "%s/%s", ld->base_dir, p) < 0)
		return NULL;
	return out;
}

static char *get_path(struct loader *ld, const config_setting_t *grp, const char *key,
		      const char *def)
{
	const char *v = get_string(ld, grp, key);

	if (v && !*v) {
		add_error(ld, config_setting_get_member(grp, key), "'%s' must not be empty", key);
		v = NULL;
	}
	if (!v)
		return def ? strdup(def) : NULL;
	if (v[0] == '~' || strchr(v, '$'))
		add_warning(ld, config_setting_get_member(grp, key),
			    "'%s' is \"%s\": sweepd expands neither ~ nor $VARIABLES, as a shell "
			    "would; a relative path is taken from %s, the directory of this file",
			    key, v, ld->base_dir);
	return resolve_path(ld, v);
}

/* A user (or group) that must exist on this machine: its name, malloc'd. */
static char *get_name(struct loader *ld, const config_setting_t *grp, const char *key, bool user)
{
	const char *v = get_string(ld, grp, key);

	if (!v)
		return NULL;
	if (user ? !getpwnam(v) : !getgrnam(v)) {
		add_error(ld, config_setting_get_member(grp, key), "'%s': no %s named \"%s\" here",
			  key, user ? "user" : "group", v);
		return NULL;
	}
	return strdup(v);
}

static void get_globs(struct loader *ld, const config_setting_t *grp, const char *key,
		      struct globs *g)
{
	const config_setting_t *s = config_setting_get_member(grp, key);
	int n;

	if (!s)
		return;
	if (config_setting_type(s) != CONFIG_TYPE_ARRAY && config_setting_type(s) != CONFIG_TYPE_LIST) {
		add_error(ld, s, "'%s' must be a list of glob strings, like [ \"*.mp4\" ]", key);
		return;
	}
	n = config_setting_length(s);
	g->patterns = calloc(n ? n : 1, sizeof(char *));
	if (!g->patterns)
		return;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, i);
		const char *p = config_setting_get_string(e);

		if (config_setting_type(e) != CONFIG_TYPE_STRING || !p || !*p) {
			add_error(ld, s, "'%s' entry %d must be a non-empty glob string", key, i + 1);
			continue;
		}
		g->patterns[g->n++] = strdup(p);
	}
}

static const char *const compress_names[] = {"off", "auto", "zstd", NULL};

static void load_rotate(struct loader *ld, const config_setting_t *s, struct rotate_config *r)
{
	static const char *const keys[] = {"size",	  "every",    "keep",	     "max_age",
					   "method",	  "compress", "level",	     "keep_tail_lines",
					   "olddir",	  "postrotate", "pidfile",   "signal",
					   NULL};
	static const char *const methods[] = {"auto", "collapse", "copytruncate", "rename", NULL};
	static const char *const rotate_compress[] = {"off", "zstd", NULL};
	const char *sig;

	r->size = r->every = r->keep = r->max_age = r->keep_tail_lines = CONFIG_UNSET;
	r->level = 3;
	r->compress = COMPRESS_ZSTD;
	if (!s)
		return;
	if (!config_setting_is_group(s)) {
		add_error(ld, s, "'rotate' must be a group: rotate = { size = \"100M\"; ... }");
		return;
	}
	check_keys(ld, s, "rotate", keys);
	r->enabled = true;
	r->size = get_size(ld, s, "size");
	r->every = get_duration(ld, s, "every", CONFIG_UNSET);
	r->keep = get_int(ld, s, "keep", 0, 100000, CONFIG_UNSET);
	r->max_age = get_duration(ld, s, "max_age", CONFIG_UNSET);
	r->method = get_enum(ld, s, "method", methods, ROTATE_AUTO);
	r->compress = get_enum(ld, s, "compress", rotate_compress, 1) ? COMPRESS_ZSTD : COMPRESS_OFF;
	r->level = (int)get_int(ld, s, "level", 1, 22, 3);
	r->keep_tail_lines = get_int(ld, s, "keep_tail_lines", 1, INT64_MAX, CONFIG_UNSET);
	r->olddir = get_string(ld, s, "olddir") ? strdup(get_string(ld, s, "olddir")) : NULL;
	r->postrotate =
		get_string(ld, s, "postrotate") ? strdup(get_string(ld, s, "postrotate")) : NULL;
	r->pidfile = get_path(ld, s, "pidfile", NULL);
	sig = get_string(ld, s, "signal");
	if (sig) {
		const char *name = strncmp(sig, "SIG", 3) ? sig : sig + 3;
		r->signal = -1;
		for (int i = 1; i < NSIG; i++)
			if (sigabbrev_np(i) && !strcmp(sigabbrev_np(i), name))
				r->signal = i;
		if (r->signal < 0) {
			add_error(ld, config_setting_get_member(s, "signal"),
				  "'signal' must be a signal name like \"HUP\" or \"USR1\", not \"%s\"",
				  sig);
			r->signal = 0;
		}
	}
	if (r->size == CONFIG_UNSET && r->every == CONFIG_UNSET)
		add_error(ld, s, "'rotate' needs 'size' or 'every' (or both): when to rotate%s",
			  r->keep_tail_lines != CONFIG_UNSET ? " (or to cut down to keep_tail_lines)"
							      : "");
	if (r->olddir && (r->olddir[0] == '/' || !*r->olddir || !strcmp(r->olddir, "..") ||
			  !strncmp(r->olddir, "../", 3) || strstr(r->olddir, "/../") ||
			  (strlen(r->olddir) >= 3 && !strcmp(r->olddir + strlen(r->olddir) - 3, "/.."))))
		add_error(ld, config_setting_get_member(s, "olddir"),
			  "'olddir' must be a directory beside the log, relative to it and without "
			  "\"..\" (like \"old\"), so that copies stay inside the zone");
	if (r->method == ROTATE_RENAME && !r->postrotate && !(r->pidfile && r->signal))
		add_error(ld, s,
			  "method \"rename\" needs 'postrotate', or 'pidfile' and 'signal', so the "
			  "writer reopens its log");
}

/* Rotated copies must never be taken for live logs: include must not match their names. */
static void check_rotated_names(struct loader *ld, const config_setting_t *s,
				const struct zone_config *z)
{
	char example[NAME_MAX + 1] = "app.log", copy[NAME_MAX + 1], rel[PATH_MAX];

	if (!z->include.n) {
		add_error(ld, s,
			  "a zone that rotates needs 'include' patterns naming its logs (like "
			  "[ \"*.log\" ]), which its rotated copies then never match");
		return;
	}
	for (size_t i = 0; i < z->include.n; i++) {
		const char *p = z->include.patterns[i], *slash, *base;

		if (!rotplan_glob_example(p, example, sizeof(example)))
			continue;
		slash = strrchr(example, '/');
		base = slash ? slash + 1 : example;
		if (rotplan_name(copy, sizeof(copy), base, 0, 0,
				 z->rotate.compress == COMPRESS_ZSTD) < 0)
			continue;
		snprintf(rel, sizeof(rel), "%.*s%s", (int)(base - example), example, copy);
		if (glob_match_any(&z->include, copy, rel) && !glob_match_any(&z->exclude, copy, rel))
			add_error(ld, s,
				  "rotated copies of %s would be named like %s, which include "
				  "pattern \"%s\" matches again: narrow it (like \"*.log\") or "
				  "exclude the copies",
				  example, copy, p);
	}
}

/*
 * A limit of 0 is legal (a zone that keeps nothing once min_age has passed) but
 * is more often a typo or a misread unit than a wish: said with its line.
 */
static void warn_zero_limits(struct loader *ld, const config_setting_t *s,
			     const struct zone_config *z)
{
	static const char *const what[] = {"max_age", "max_size", "max_files"};
	const int64_t val[] = {z->max_age, z->max_size, z->max_files};

	for (size_t i = 0; i < sizeof(what) / sizeof(what[0]); i++)
		if (val[i] == 0)
			add_warning(ld, config_setting_get_member(s, what[i]),
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

/*
 * The realpath of path's longest prefix that is there, *cut being that
 * prefix's length in path (at a '/' or the end); NULL (errno set) when some
 * part cannot be looked at for another reason than not being there.
 */
static char *realpath_existing(const char *path, size_t *cut)
{
	size_t n = strlen(path);
	char *real = NULL, *prefix;

	for (;;) {
		prefix = n ? strndup(path, n) : strdup(path[0] == '/' ? "/" : ".");
		real = prefix ? realpath(prefix, NULL) : NULL;
		free(prefix);
		if (real || errno != ENOENT || !n)
			break;
		while (n && path[n - 1] != '/')
			n--;
		while (n && path[n - 1] == '/')
			n--;
	}
	*cut = n;
	return real;
}

/*
 * A directory's path (a zone's, the archive's, state_dir) with the symlinks of
 * the part that is there resolved (which must be a directory) and the rest
 * appended, cleaned: it may name a directory that does not exist yet, and its
 * path stays absolute and free of links, "." and "..", for the containment
 * checks, for the watcher, which follows no link, and so that -t and the start
 * agree. what names it in errors ("zone \"x\": path", "archive path"). NULL
 * (and an error) when it cannot be made so; *missing when some of it is not there.
 */
static char *dir_realpath(struct loader *ld, const config_setting_t *s, const char *what,
			  const char *path, bool *missing)
{
	size_t cut;
	char *real = realpath_existing(path, &cut), *out = NULL, rest[PATH_MAX];
	struct stat st;
	int r;

	if (!real || stat(real, &st) < 0 || !S_ISDIR(st.st_mode)) {
		if (real)
			add_error(ld, s, "%s %s: %s is not a directory", what, path, real);
		else
			add_error(ld, s, "%s %s: %s", what, path, strerror(errno));
		free(real);
		return NULL;
	}
	r = path[cut] ? config_path_clean(path + cut, rest, sizeof(rest)) : 0;
	*missing = path[cut] && r == 0 && strcmp(rest, "/");
	if (r == -EACCES)
		add_error(ld, s,
			  "%s %s: \"..\" in %s, a part that does not exist yet: "
			  "write the path without it",
			  what, path, path + cut + 1);
	else if (r < 0)
		add_error(ld, s, "%s %s: %s", what, path, strerror(-r));
	else if (*missing && asprintf(&out, "%s%s", strcmp(real, "/") ? real : "", rest) < 0)
		out = NULL;
	else if (!*missing)
		out = strdup(real);
	free(real);
	/* There, yet not found: a link to nothing, which nothing will resolve later. */
	if (out && *missing) {
		char *first = strndup(out, strlen(out) - strlen(rest) + 1 + strcspn(rest + 1, "/"));
		char target[PATH_MAX];
		ssize_t n;

		if (first && lstat(first, &st) == 0) {
			n = readlink(first, target, sizeof(target) - 1);
			target[n < 0 ? 0 : n] = '\0';
			add_error(ld, s,
				  "%s %s: %s is a symbolic link to %s, which does not exist: "
				  "sweepd follows links only when it loads the configuration, so "
				  "name the directory it should point to (and create it)",
				  what, path, first, n < 0 ? "something" : target);
			free(out);
			out = NULL;
		}
		free(first);
	}
	return out;
}

/*
 * A directory of sweepd's own (state_dir, the archive), resolved as a zone's
 * path is, so that the containment checks see where it really is.
 */
static char *get_own_dir(struct loader *ld, const config_setting_t *grp, const char *key,
			 const char *what, const char *def)
{
	char *path = get_path(ld, grp, key, def), *real;
	bool missing = false;

	if (!path)
		return NULL;
	real = dir_realpath(ld, config_setting_get_member(grp, key), what, path, &missing);
	if (!real)
		return path;
	free(path);
	return real;
}

/*
 * A file of sweepd's own (the socket, the metrics file): its directory
 * resolved as get_own_dir's, its name kept, so that "..", links to nothing
 * and -t judge it as the start will.
 */
static char *get_own_file(struct loader *ld, const config_setting_t *grp, const char *key,
			  const char *what, const char *def)
{
	char *path = get_path(ld, grp, key, def), *slash, *real, *out = NULL;
	bool missing = false;

	slash = path ? strrchr(path, '/') : NULL;
	if (!slash)
		return path;
	*slash = '\0';
	real = dir_realpath(ld, config_setting_get_member(grp, key), what,
			    slash == path ? "/" : path, &missing);
	*slash = '/';
	if (real && asprintf(&out, "%s/%s", strcmp(real, "/") ? real : "", slash + 1) < 0)
		out = NULL;
	free(real);
	if (!out)
		return path;
	free(path);
	return out;
}

static void load_zone(struct loader *ld, const config_setting_t *s, struct zone_config *z)
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
		add_error(ld, s, "each zone must be a group: { name = \"...\"; path = \"...\"; }");
		return;
	}
	check_keys(ld, s, "a zone", keys);
	name = get_string(ld, s, "name");
	if (!name && !config_setting_get_member(s, "name"))
		add_error(ld, s, "zone has no 'name'");
	else if (name && !valid_zone_name(name))
		add_error(ld, config_setting_get_member(s, "name"),
			  "zone name \"%s\" must match [a-z0-9_-]+", name);
	z->name = strdup(name ? name : "");

	path = get_path(ld, s, "path", NULL);
	if (!path && !config_setting_get_member(s, "path"))
		add_error(ld, s, "zone \"%s\" has no 'path'", z->name);
	if (path) {
		bool missing = false;
		char what[64];

		snprintf(what, sizeof(what), "zone \"%s\": path", z->name);
		z->path = dir_realpath(ld, config_setting_get_member(s, "path"), what, path,
				       &missing);
		if (missing)
			add_warning(ld, config_setting_get_member(s, "path"),
				    "zone \"%s\": %s does not exist (yet): the zone shows present: "
				    "false, and is watched and scanned as soon as the directory appears",
				    z->name, z->path);
		if (!z->path)
			z->path = path;
		else
			free(path);
	}

	z->recursive = get_bool(ld, s, "recursive", true);
	get_globs(ld, s, "include", &z->include);
	get_globs(ld, s, "exclude", &z->exclude);
	z->max_age = get_duration(ld, s, "max_age", CONFIG_UNSET);
	z->max_idle = get_duration(ld, s, "max_idle", CONFIG_UNSET);
	z->min_age = get_duration(ld, s, "min_age", 60);
	z->max_size = get_size(ld, s, "max_size");
	z->max_files = get_int(ld, s, "max_files", 0, INT64_MAX, CONFIG_UNSET);
	z->action = get_enum(ld, s, "action", actions, ACTION_ARCHIVE);
	z->priority = (int)get_int(ld, s, "priority", INT32_MIN, INT32_MAX, 0);
	z->prune_empty_dirs = get_bool(ld, s, "prune_empty_dirs", true);
	warn_zero_limits(ld, s, z);
	load_rotate(ld, config_setting_get_member(s, "rotate"), &z->rotate);
	if (z->rotate.enabled)
		check_rotated_names(ld, config_setting_get_member(s, "rotate"), z);
}

bool config_path_within(const char *inner, const char *outer)
{
	size_t n = strlen(outer);

	if (n == 1 && outer[0] == '/')
		return true;
	return !strncmp(inner, outer, n) && (inner[n] == '/' || inner[n] == '\0');
}

/*
 * path with its symbolic links resolved as far as it exists (state_dir may
 * not exist yet), the rest appended as written; malloc'd.
 */
static char *resolve_existing(const char *path)
{
	size_t cut;
	char *real = realpath_existing(path, &cut), *out = NULL;

	if (!real || asprintf(&out, "%s%s", strcmp(real, "/") ? real : "", path + cut) < 0)
		out = strdup(path);
	free(real);
	return out;
}

/*
 * Cross-checks: unique names, no overlapping zones, no zone on /, and
 * nothing of sweepd's own (the archive, state_dir, the configuration file)
 * inside a zone, nor a zone (or state_dir) inside the archive: sweepd would
 * sweep its own state, or take live files for archived ones.
 */
static void check_zones(struct loader *ld, const config_t *cf, struct config *cfg)
{
	const config_setting_t *zl = config_lookup(cf, "zones");
	char *archive = cfg->archive_path ? resolve_existing(cfg->archive_path) : NULL;
	char *state = cfg->state_dir ? resolve_existing(cfg->state_dir) : NULL;
	char *file = cfg->file ? resolve_existing(cfg->file) : NULL;

	for (size_t i = 0; i < cfg->n_zones; i++) {
		struct zone_config *a = &cfg->zones[i];
		const config_setting_t *zs = config_setting_get_elem(zl, (unsigned)i);
		const config_setting_t *at = config_setting_get_member(zs, "path");

		for (size_t j = i + 1; j < cfg->n_zones; j++) {
			struct zone_config *b = &cfg->zones[j];
			const config_setting_t *t = config_setting_get_elem(zl, (unsigned)j);

			if (*a->name && !strcmp(a->name, b->name))
				add_error(ld, t, "zone name \"%s\" is used twice (first at line %d)",
					  b->name, a->line);
			if (a->path && b->path &&
			    (config_path_within(a->path, b->path) ||
			     config_path_within(b->path, a->path)))
				add_error(ld, t, "zone \"%s\" (%s) overlaps zone \"%s\" (%s)", b->name,
					  b->path, a->name, a->path);
		}
		if (!a->path)
			continue;
		if (!strcmp(a->path, "/")) {
			add_error(ld, at ? at : zs,
				  "zone \"%s\" is on /: it would hold the whole system; give it the "
				  "directory whose files it is about",
				  a->name);
			continue;
		}
		if (archive && config_path_within(archive, a->path))
			add_error(ld, config_lookup(cf, "archive.path"),
				  "archive path %s is inside zone \"%s\" (%s): put the archive outside "
				  "every zone",
				  archive, a->name, a->path);
		else if (archive && config_path_within(a->path, archive))
			add_error(ld, at ? at : zs,
				  "zone \"%s\" (%s) is inside the archive %s: the archive holds only "
				  "what sweepd put there; give the zone a directory outside it",
				  a->name, a->path, archive);
		if (state && config_path_within(state, a->path))
			add_error(ld, config_lookup(cf, "state_dir"),
				  "state_dir %s is inside zone \"%s\" (%s): put it outside every zone",
				  state, a->name, a->path);
		if (file && config_path_within(file, a->path))
			add_error(ld, at ? at : zs,
				  "zone \"%s\" (%s) holds the configuration file %s: move the file or "
				  "the zone",
				  a->name, a->path, file);
	}
	if (archive && state && (config_path_within(state, archive) ||
				 config_path_within(archive, state)))
		add_error(ld, config_lookup(cf, "state_dir"),
			  "state_dir %s and the archive %s must not hold one another: the archive "
			  "holds only what sweepd archived; give each its own directory",
			  state, archive);
	free(archive);
	free(state);
	free(file);
}

int config_path_clean(const char *path, char *out, size_t len)
{
	size_t n = 0;

	if (path[0] != '/')
		return -EINVAL;
	for (const char *p = path; *p;) {
		size_t k;

		while (*p == '/')
			p++;
		k = strcspn(p, "/");
		if (k == 2 && !strncmp(p, "..", 2))
			return -EACCES;
		if (k && !(k == 1 && *p == '.')) {
			if (n + 1 + k >= len)
				return -ENAMETOOLONG;
			out[n++] = '/';
			memcpy(out + n, p, k);
			n += k;
		}
		p += k;
	}
	if (len < 2)
		return -ENAMETOOLONG;
	if (!n)
		out[n++] = '/';
	out[n] = '\0';
	return 0;
}

int config_zone_holding(const struct config *cfg, const char *path)
{
	for (size_t i = 0; i < cfg->n_zones; i++) {
		const char *zp = cfg->zones[i].path;

		if (zp && strcmp(zp, path) && config_path_within(path, zp))
			return (int)i;
	}
	return -1;
}

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static bool same_globs(const struct globs *a, const struct globs *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->patterns[i], b->patterns[i]))
			return false;
	return true;
}

int config_zone_index(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_zones; i++)
		if (!strcmp(cfg->zones[i].name, name))
			return (int)i;
	return -1;
}

bool config_zone_same_files(const struct zone_config *a, const struct zone_config *b)
{
	return same_str(a->path, b->path) && a->recursive == b->recursive &&
	       same_globs(&a->include, &b->include) && same_globs(&a->exclude, &b->exclude) &&
	       (a->max_idle == CONFIG_UNSET) == (b->max_idle == CONFIG_UNSET);
}

/* A reload cannot move what sweepd holds open or follows in one place. */
static void check_unchanged(struct loader *ld, const config_t *cf, const char *key,
			    const char *was, const char *is)
{
	if (!same_str(was, is))
		add_error(ld, config_lookup(cf, key),
			  "%s cannot change while sweepd runs (it is %s, this file says %s): "
			  "put it back, or restart sweepd",
			  key, was ? was : "unset", is ? is : "unset");
}

static void load_top(struct loader *ld, const config_t *cf, struct config *cfg)
{
	static const char *const top_keys[] = {"state_dir", "socket", "disk", "archive",
					       "zones", "metrics_file", NULL};
	static const char *const socket_keys[] = {"path",	  "mode",	 "owner",
						  "group",	  "admin_group", "idle_timeout",
						  "max_clients", "max_clients_per_user",
						  "admin_reserve", NULL};
	static const char *const disk_keys[] = {"high", "low", NULL};
	static const char *const archive_keys[] = {"path", "keep", "max_size", "compress",
						   "level", NULL};
	const config_setting_t *root = config_root_setting(cf), *s, *zl;

	check_keys(ld, root, "the top level", top_keys);
	cfg->state_dir = get_own_dir(ld, root, "state_dir", "state_dir", CONFIG_DEFAULT_STATE_DIR);

	cfg->socket_mode = 0660;
	cfg->idle_timeout = 60;
	cfg->max_clients = 512;
	cfg->max_clients_per_user = 16;
	cfg->admin_reserve = 32;
	cfg->metrics_file = get_own_file(ld, root, "metrics_file", "metrics_file", NULL);
	s = config_setting_get_member(root, "socket");
	if (s && !config_setting_is_group(s)) {
		add_error(ld, s, "'socket' must be a group: socket = { path = \"...\"; }");
		s = NULL;
	}
	if (s) {
		const char *mode;
		check_keys(ld, s, "socket", socket_keys);
		cfg->socket_path = get_own_file(ld, s, "path", "socket path", NULL);
		mode = get_string(ld, s, "mode");
		if (mode) {
			char *end;
			unsigned long m = strtoul(mode, &end, 8);
			if (!*mode || *end || m > 0777)
				add_error(ld, config_setting_get_member(s, "mode"),
					  "'mode' must be an octal string like \"0660\"");
			else
				cfg->socket_mode = (unsigned)m;
		}
		cfg->admin_group = get_name(ld, s, "admin_group", false);
		cfg->socket_owner = get_name(ld, s, "owner", true);
		cfg->socket_group = get_name(ld, s, "group", false);
		cfg->idle_timeout = get_duration(ld, s, "idle_timeout", 60);
		if (!cfg->idle_timeout)
			add_error(ld, config_setting_get_member(s, "idle_timeout"),
				  "'idle_timeout' must be at least 1s");
		cfg->max_clients = get_int(ld, s, "max_clients", 1, 100000, 512);
		cfg->max_clients_per_user = get_int(ld, s, "max_clients_per_user", 1, 100000, 16);
		/* Room only admins may take: by default 32, or half of a smaller max_clients. */
		cfg->admin_reserve = get_int(ld, s, "admin_reserve", 0, 100000,
					     cfg->max_clients < 64 ? cfg->max_clients / 2 : 32);
		if (cfg->admin_reserve >= cfg->max_clients)
			add_error(ld, config_setting_get_member(s, "admin_reserve"),
				  "'admin_reserve' (%lld) must be less than max_clients (%lld): "
				  "ordinary users would never get in",
				  (long long)cfg->admin_reserve, (long long)cfg->max_clients);
	}
	if (!cfg->socket_path)
		cfg->socket_path = strdup(CONFIG_DEFAULT_SOCKET);
	if (cfg->socket_path && strlen(cfg->socket_path) >= 108)
		add_error(ld, config_lookup(cf, "socket.path"),
			  "socket path %s is longer than the 107 bytes a Unix socket allows",
			  cfg->socket_path);

	cfg->disk_high = 90;
	cfg->disk_low = 80;
	s = config_setting_get_member(root, "disk");
	if (s && !config_setting_is_group(s))
		add_error(ld, s, "'disk' must be a group: disk = { high = \"90%%\"; low = \"80%%\"; }");
	else if (s) {
		check_keys(ld, s, "disk", disk_keys);
		cfg->disk_high = get_percent(ld, s, "high", 90);
		cfg->disk_low = get_percent(ld, s, "low", 80);
		if (cfg->disk_low > cfg->disk_high)
			add_error(ld, s, "disk 'low' (%g%%) must not be above 'high' (%g%%)",
				  cfg->disk_low, cfg->disk_high);
		if (cfg->disk_high == 0)
			add_error(ld, config_setting_get_member(s, "high"),
				  "disk 'high' must be above 0%%: any filesystem that holds a file is "
				  "above \"0%%\", so sweepd would sweep all it may, all the time");
		else if (cfg->disk_low == 0)
			add_warning(ld, config_setting_get_member(s, "low"),
				    "disk 'low' is \"0%%\": above 'high', sweepd sweeps all it may, "
				    "until the filesystem holds nothing else");
	}

	cfg->archive_keep = 7 * 86400;
	cfg->archive_max_size = CONFIG_UNSET;
	cfg->archive_compress = COMPRESS_AUTO;
	cfg->archive_level = 3;
	s = config_setting_get_member(root, "archive");
	if (s && !config_setting_is_group(s))
		add_error(ld, s, "'archive' must be a group: archive = { path = \"...\"; }");
	else if (s) {
		check_keys(ld, s, "archive", archive_keys);
		cfg->archive_path = get_own_dir(ld, s, "path", "archive path", NULL);
		cfg->archive_keep = get_duration(ld, s, "keep", 7 * 86400);
		if (cfg->archive_keep == 0)
			add_warning(ld, config_setting_get_member(s, "keep"),
				    "archive 'keep' is 0: archived files are purged at the next "
				    "housekeeping, leaving no time to restore them");
		cfg->archive_max_size = get_size(ld, s, "max_size");
		if (cfg->archive_max_size == 0)
			add_warning(ld, config_setting_get_member(s, "max_size"),
				    "archive 'max_size' is 0: every archived file is purged at once, "
				    "leaving no time to restore it; leave it out for no limit");
		cfg->archive_compress = get_enum(ld, s, "compress", compress_names, COMPRESS_AUTO);
		cfg->archive_level = (int)get_int(ld, s, "level", 1, 22, 3);
	}

	zl = config_setting_get_member(root, "zones");
	if (!zl) {
		add_error(ld, NULL, "no 'zones': nothing to watch");
		return;
	}
	if (config_setting_type(zl) != CONFIG_TYPE_LIST) {
		add_error(ld, zl, "'zones' must be a list: zones = ( { ... }, { ... } );");
		return;
	}
	cfg->n_zones = (size_t)config_setting_length(zl);
	if (!cfg->n_zones)
		add_error(ld, zl, "'zones' is empty: nothing to watch");
	cfg->zones = calloc(cfg->n_zones ? cfg->n_zones : 1, sizeof(*cfg->zones));
	if (!cfg->zones) {
		cfg->n_zones = 0;
		return;
	}
	for (size_t i = 0; i < cfg->n_zones; i++)
		load_zone(ld, config_setting_get_elem(zl, (unsigned)i), &cfg->zones[i]);
	for (size_t i = 0; i < cfg->n_zones; i++) {
		struct zone_config *z = &cfg->zones[i];
		bool sweeps = z->max_age != CONFIG_UNSET || z->max_idle != CONFIG_UNSET ||
			      z->max_size != CONFIG_UNSET || z->max_files != CONFIG_UNSET;
		if (sweeps && z->action == ACTION_ARCHIVE && !cfg->archive_path)
			add_error(ld, config_setting_get_elem(zl, (unsigned)i),
				  "zone \"%s\" archives what it sweeps, but there is no 'archive' "
				  "group with a 'path'",
				  z->name);
	}
	check_zones(ld, cf, cfg);
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
	struct loader ld = {.file = file, .errs = errs, .old = old};
	struct config *cfg = calloc(1, sizeof(*cfg));
	char *slash, *abs_file;
	config_t cf;

	if (!cfg)
		return NULL;
	ld.cfg = cfg;
	abs_file = realpath(file, NULL);
	cfg->file = strdup(file);
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

static void rotate_free(struct rotate_config *r)
{
	free(r->olddir);
	free(r->postrotate);
	free(r->pidfile);
}

void config_free(struct config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->n_zones; i++) {
		free(cfg->zones[i].name);
		free(cfg->zones[i].path);
		glob_free(&cfg->zones[i].include);
		glob_free(&cfg->zones[i].exclude);
		rotate_free(&cfg->zones[i].rotate);
	}
	free(cfg->zones);
	free(cfg->file);
	free(cfg->state_dir);
	free(cfg->socket_path);
	free(cfg->admin_group);
	free(cfg->socket_owner);
	free(cfg->socket_group);
	free(cfg->metrics_file);
	free(cfg->archive_path);
	config_errors_clear(&cfg->warnings);
	free(cfg);
}

void config_errors_clear(struct config_errors *errs)
{
	for (size_t i = 0; i < errs->n; i++)
		free(errs->msgs[i]);
	free(errs->msgs);
	errs->msgs = NULL;
	errs->n = 0;
}

