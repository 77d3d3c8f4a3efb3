#include "cfgread.h"

#include <errno.h>
#include <grp.h>
#include <libconfig.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "units.h"

/* Appends "file:line: [prefix]msg" to list: errors and warnings take one shape. */
static void add_message(struct cfgread *ld, struct config_errors *list, const char *prefix,
			const config_setting_t *s, const char *fmt, va_list ap)
	__attribute__((format(printf, 5, 0)));
static void add_message(struct cfgread *ld, struct config_errors *list, const char *prefix,
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

void cfgread_error(struct cfgread *ld, const config_setting_t *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_message(ld, ld->errs, "", s, fmt, ap);
	va_end(ap);
}

/* Something accepted that is probably not what the operator meant: said, not refused. */
void cfgread_warning(struct cfgread *ld, const config_setting_t *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_message(ld, &ld->cfg->warnings, "warning: ", s, fmt, ap);
	va_end(ap);
}

/* Reports every member of group s whose name is not in known (NULL-ended). */
void cfgread_keys(struct cfgread *ld, const config_setting_t *s, const char *where,
		  const char *const *known)
{
	for (int i = 0; i < config_setting_length(s); i++) {
		const config_setting_t *m = config_setting_get_elem(s, i);
		const char *name = config_setting_name(m);
		bool ok = false;

		for (const char *const *k = known; *k && name; k++)
			ok = ok || !strcmp(*k, name);
		if (!ok)
			cfgread_error(ld, m, "unknown key '%s' in %s", name ? name : "?", where);
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

const char *cfgread_string(struct cfgread *ld, const config_setting_t *grp, const char *key)
{
	const config_setting_t *s = config_setting_get_member(grp, key);

	if (!s)
		return NULL;
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		cfgread_error(ld, s, "'%s' must be a string, not %s", key,
			      type_name(config_setting_type(s)));
		return NULL;
	}
	return config_setting_get_string(s);
}

bool cfgread_bool(struct cfgread *ld, const config_setting_t *grp, const char *key, bool def)
{
	const config_setting_t *s = config_setting_get_member(grp, key);

	if (!s)
		return def;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		cfgread_error(ld, s, "'%s' must be true or false", key);
		return def;
	}
	return config_setting_get_bool(s);
}

/* An integer key in [min, max]; def when absent. */
int64_t cfgread_int(struct cfgread *ld, const config_setting_t *grp, const char *key,
		    int64_t min, int64_t max, int64_t def)
{
	const config_setting_t *s = config_setting_get_member(grp, key);
	long long v;

	if (!s)
		return def;
	if (!is_int(s)) {
		cfgread_error(ld, s, "'%s' must be an integer, not %s", key,
			      type_name(config_setting_type(s)));
		return def;
	}
	v = config_setting_get_int64(s);
	if (v < min || v > max) {
		cfgread_error(ld, s, "'%s' must be between %lld and %lld, not %lld", key,
			      (long long)min, (long long)max, v);
		return def;
	}
	return v;
}

/*
 * zstd's level: 1 to 22, as zstd takes it. Past 19 (where zstd's own CLI
 * asks for --ultra) its window and tables grow fast, to some 800 MiB of
 * memory for one compression at 22 (ZSTD_estimateCStreamSize of zstd 1.5),
 * for little gain: accepted, said with what it costs. who names the setting
 * ("archive", "zone \"x\": rotate"); also, when not NULL, says how many
 * compressions may run at once.
 */
int cfgread_level(struct cfgread *ld, const config_setting_t *grp, const char *who,
		  const char *also)
{
	static const int mib[] = {200, 400, 800}; /* at 20, 21, 22 */
	int level = (int)cfgread_int(ld, grp, "level", 1, 22, 3);

	if (level >= 20)
		cfgread_warning(ld, config_setting_get_member(grp, "level"),
				"%s 'level' is %d: zstd's ultra levels (its own CLI asks for "
				"--ultra past 19) may take up to about %d MiB of memory for "
				"each compression, for little gain%s; prefer 19 or lower",
				who, level, mib[level - 20], also ? also : "");
	return level;
}

/* A size: integer bytes or "300M". */
int64_t cfgread_size(struct cfgread *ld, const config_setting_t *grp, const char *key)
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
	cfgread_error(ld, s,
		      "'%s' must be a size: bytes, or a string like \"512K\", \"300M\", \"1.5T\"",
		      key);
	return CONFIG_UNSET;
}

/* A duration: integer seconds or "7d". */
int64_t cfgread_duration(struct cfgread *ld, const config_setting_t *grp, const char *key,
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
	cfgread_error(
		ld, s,
		"'%s' must be a duration: seconds, or a string like \"90s\", \"15m\", \"1h\", "
		"\"7d\", \"2w\"",
		key);
	return def;
}

double cfgread_percent(struct cfgread *ld, const config_setting_t *grp, const char *key,
		       double def)
{
	const config_setting_t *s = config_setting_get_member(grp, key);
	double v;

	if (!s)
		return def;
	if (config_setting_type(s) == CONFIG_TYPE_STRING &&
	    units_parse_percent(config_setting_get_string(s), &v) == 0)
		return v;
	cfgread_error(ld, s, "'%s' must be a percentage from \"0%%\" to \"100%%\", like \"85%%\"",
		      key);
	return def;
}

/* One of names[] (NULL-ended); returns its index, or def. */
int cfgread_enum(struct cfgread *ld, const config_setting_t *grp, const char *key,
		 const char *const *names, int def)
{
	const char *v = cfgread_string(ld, grp, key);
	char list[256] = "";

	if (!v)
		return def;
	for (int i = 0; names[i]; i++) {
		if (!strcmp(v, names[i]))
			return i;
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s\"%s\"",
			 i ? ", " : "", names[i]);
	}
	cfgread_error(ld, config_setting_get_member(grp, key), "'%s' must be one of %s, not \"%s\"",
		      key, list, v);
	return def;
}

/* Joins a relative path to the config file's directory; malloc'd. */
static char *resolve_path(struct cfgread *ld, const char *p)
{
	char *out;

	if (p[0] == '/')
		return strdup(p);
	if (asprintf(&out, "%s/%s", ld->base_dir, p) < 0)
		return NULL;
	return out;
}

char *cfgread_path(struct cfgread *ld, const config_setting_t *grp, const char *key,
		   const char *def)
{
	const char *v = cfgread_string(ld, grp, key);

	if (v && !*v) {
		cfgread_error(ld, config_setting_get_member(grp, key), "'%s' must not be empty",
			      key);
		v = NULL;
	}
	if (!v)
		return def ? strdup(def) : NULL;
	if (v[0] == '~' || strchr(v, '$'))
		cfgread_warning(
			ld, config_setting_get_member(grp, key),
			"'%s' is \"%s\": sweepd expands neither ~ nor $VARIABLES, as a shell "
			"would; a relative path is taken from %s, the directory of this file",
			key, v, ld->base_dir);
	return resolve_path(ld, v);
}

/* A user (or group) that must exist on this machine: its name, malloc'd. */
char *cfgread_name(struct cfgread *ld, const config_setting_t *grp, const char *key, bool user)
{
	const char *v = cfgread_string(ld, grp, key);

	if (!v)
		return NULL;
	if (user ? !getpwnam(v) : !getgrnam(v)) {
		cfgread_error(ld, config_setting_get_member(grp, key),
			      "'%s': no %s named \"%s\" here", key, user ? "user" : "group", v);
		return NULL;
	}
	return strdup(v);
}

void cfgread_globs(struct cfgread *ld, const config_setting_t *grp, const char *key,
		   struct globs *g)
{
	const config_setting_t *s = config_setting_get_member(grp, key);
	int n;

	if (!s)
		return;
	if (config_setting_type(s) != CONFIG_TYPE_ARRAY && config_setting_type(s) != CONFIG_TYPE_LIST) {
		cfgread_error(ld, s, "'%s' must be a list of glob strings, like [ \"*.mp4\" ]",
			      key);
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
			cfgread_error(ld, s, "'%s' entry %d must be a non-empty glob string", key,
				      i + 1);
			continue;
		}
		g->patterns[g->n++] = strdup(p);
	}
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
char *cfgread_dir(struct cfgread *ld, const config_setting_t *s, const char *what,
		  const char *path, bool *missing)
{
	size_t cut;
	char *real = realpath_existing(path, &cut), *out = NULL, rest[PATH_MAX];
	struct stat st;
	int r;

	if (!real || stat(real, &st) < 0 || !S_ISDIR(st.st_mode)) {
		if (real)
			cfgread_error(ld, s, "%s %s: %s is not a directory", what, path, real);
		else
			cfgread_error(ld, s, "%s %s: %s", what, path, strerror(errno));
		free(real);
		return NULL;
	}
	r = path[cut] ? config_path_clean(path + cut, rest, sizeof(rest)) : 0;
	*missing = path[cut] && r == 0 && strcmp(rest, "/");
	if (r == -EACCES)
		cfgread_error(ld, s,
			      "%s %s: \"..\" in %s, a part that does not exist yet: "
			      "write the path without it",
			      what, path, path + cut + 1);
	else if (r < 0)
		cfgread_error(ld, s, "%s %s: %s", what, path, strerror(-r));
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
			cfgread_error(
				ld, s,
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
char *cfgread_own_dir(struct cfgread *ld, const config_setting_t *grp, const char *key,
		      const char *what, const char *def)
{
	char *path = cfgread_path(ld, grp, key, def), *real;
	bool missing = false;

	if (!path)
		return NULL;
	real = cfgread_dir(ld, config_setting_get_member(grp, key), what, path, &missing);
	if (!real)
		return path;
	free(path);
	return real;
}

/*
 * A file of sweepd's own (the socket, the metrics file): its directory
 * resolved as cfgread_own_dir's, its name kept, so that "..", links to nothing
 * and -t judge it as the start will.
 */
char *cfgread_own_file(struct cfgread *ld, const config_setting_t *grp, const char *key,
		       const char *what, const char *def)
{
	char *path = cfgread_path(ld, grp, key, def), *slash, *real, *out = NULL;
	bool missing = false;

	slash = path ? strrchr(path, '/') : NULL;
	if (!slash)
		return path;
	*slash = '\0';
	real = cfgread_dir(ld, config_setting_get_member(grp, key), what,
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

/*
 * path with its symbolic links resolved as far as it exists (state_dir may
 * not exist yet), the rest appended as written; malloc'd.
 */
char *cfgread_resolved(const char *path)
{
	size_t cut;
	char *real = realpath_existing(path, &cut), *out = NULL;

	if (!real || asprintf(&out, "%s%s", strcmp(real, "/") ? real : "", path + cut) < 0)
		out = strdup(path);
	free(real);
	return out;
}
