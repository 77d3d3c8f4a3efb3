#include "config_rotate.h"

#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfgread.h"
#include "config.h"
#include "glob.h"
#include "rotplan.h"

/* create = { mode = "0640"; owner = "www-data"; group = "adm"; }: each left out is the moved log's. */
static void load_create(struct cfgread *ld, const config_setting_t *s, struct rotate_config *r)
{
	static const char *const keys[] = {"mode", "owner", "group", NULL};
	const char *mode;
	char *owner, *group, *end;

	r->create.uid = (uid_t)-1;
	r->create.gid = (gid_t)-1;
	if (!s)
		return;
	if (!config_setting_is_group(s)) {
		cfgread_error(ld, s,
			      "'create' must be a group: create = { mode = \"0640\"; owner = "
			      "\"www-data\"; group = \"adm\"; }");
		return;
	}
	cfgread_keys(ld, s, "create", keys);
	r->create.set = true;
	r->create.mode = -1;
	mode = cfgread_string(ld, s, "mode");
	if (mode) {
		unsigned long m = strtoul(mode, &end, 8);

		if (!*mode || *end || m > 0777)
			cfgread_error(ld, config_setting_get_member(s, "mode"),
				      "create: 'mode' must be octal permissions like \"0640\" (at "
				      "most \"0777\": no setuid, setgid or sticky bit), not \"%s\"",
				      mode);
		else
			r->create.mode = (int)m;
	}
	owner = cfgread_name(ld, s, "owner", true);
	group = cfgread_name(ld, s, "group", false);
	if (owner) {
		const struct passwd *pw = getpwnam(owner);
		r->create.uid = pw ? pw->pw_uid : (uid_t)-1;
	}
	if (group) {
		const struct group *gr = getgrnam(group);
		r->create.gid = gr ? gr->gr_gid : (gid_t)-1;
	}
	free(owner);
	free(group);
	/* Checked as the daemon will run: as itself (sweepd -t is run as the service's user too). */
	if (geteuid() != 0 && ((r->create.uid != (uid_t)-1 && r->create.uid != geteuid()) ||
			       (r->create.gid != (gid_t)-1 && !group_member(r->create.gid))))
		cfgread_warning(ld, s,
				"create: sweepd runs as uid %u, not root: it can give the new log "
				"another owner only as root (another group only one it is in); where "
				"it cannot, no new log is made (the writer makes its own)",
				(unsigned)geteuid());
}

static int read_signal(struct cfgread *ld, const config_setting_t *s)
{
	const char *sig = cfgread_string(ld, s, "signal"), *name;

	if (!sig)
		return 0;
	name = strncmp(sig, "SIG", 3) ? sig : sig + 3;
	for (int i = 1; i < NSIG; i++)
		if (sigabbrev_np(i) && !strcmp(sigabbrev_np(i), name))
			return i;
	cfgread_error(ld, config_setting_get_member(s, "signal"),
		      "'signal' must be a signal name like \"HUP\" or \"USR1\", not \"%s\"", sig);
	return 0;
}

static char *string_copy(struct cfgread *ld, const config_setting_t *s, const char *key)
{
	const char *v = cfgread_string(ld, s, key);

	return v ? strdup(v) : NULL;
}

static bool bad_olddir(const char *d)
{
	size_t n = strlen(d);

	return d[0] == '/' || !*d || !strcmp(d, "..") || !strncmp(d, "../", 3) ||
	       strstr(d, "/../") || (n >= 3 && !strcmp(d + n - 3, "/.."));
}

/* One group, s; who names it in messages ("rotate", "rotate group 2"). */
static void load_group(struct cfgread *ld, const config_setting_t *s, const char *zone,
		       const char *who, struct rotate_config *r)
{
	static const char *const keys[] = {"include", "size",	  "every",     "keep",
					   "max_age", "method",	  "compress",  "level",
					   "keep_tail_lines", "olddir", "postrotate", "prerotate",
					   "pidfile", "signal",	  "create",    NULL};
	static const char *const methods[] = {"auto", "collapse", "copytruncate", "rename", NULL};
	static const char *const rotate_compress[] = {"off", "zstd", NULL};
	char level_who[160];

	r->size = r->every = r->keep = r->max_age = r->keep_tail_lines = CONFIG_UNSET;
	r->level = 3;
	r->compress = COMPRESS_ZSTD;
	r->line = (int)config_setting_source_line(s);
	r->create.uid = (uid_t)-1;
	r->create.gid = (gid_t)-1;
	if (!config_setting_is_group(s)) {
		cfgread_error(ld, s,
			      "'%s' must be a group: rotate = { size = \"100M\"; ... }, or a list "
			      "of them: rotate = ( { include = [ \"access.log\" ]; ... }, { ... } )",
			      who);
		return;
	}
	cfgread_keys(ld, s, who, keys);
	cfgread_globs(ld, s, "include", &r->include);
	if (config_setting_get_member(s, "include") && !r->include.n)
		cfgread_error(ld, config_setting_get_member(s, "include"),
			      "%s: an empty 'include' matches no log; leave it out for every log of "
			      "the zone", who);
	r->size = cfgread_size(ld, s, "size");
	r->every = cfgread_duration(ld, s, "every", CONFIG_UNSET);
	r->keep = cfgread_int(ld, s, "keep", 0, 100000, CONFIG_UNSET);
	r->max_age = cfgread_duration(ld, s, "max_age", CONFIG_UNSET);
	r->method = cfgread_enum(ld, s, "method", methods, ROTATE_AUTO);
	r->compress =
		cfgread_enum(ld, s, "compress", rotate_compress, 1) ? COMPRESS_ZSTD : COMPRESS_OFF;
	snprintf(level_who, sizeof(level_who), "zone \"%s\": %s", zone ? zone : "?", who);
	r->level = cfgread_level(ld, s, level_who,
				 " (a log of 32 MiB or more is compressed by up to 8 workers at "
				 "once, one per CPU, each taking as much)");
	r->keep_tail_lines = cfgread_int(ld, s, "keep_tail_lines", 1, INT64_MAX, CONFIG_UNSET);
	r->olddir = string_copy(ld, s, "olddir");
	r->postrotate = string_copy(ld, s, "postrotate");
	r->prerotate = string_copy(ld, s, "prerotate");
	r->pidfile = cfgread_path(ld, s, "pidfile", NULL);
	r->signal = read_signal(ld, s);
	load_create(ld, config_setting_get_member(s, "create"), r);
	if (r->size == CONFIG_UNSET && r->every == CONFIG_UNSET)
		cfgread_error(ld, s, "'%s' needs 'size' or 'every' (or both): when to rotate%s", who,
			      r->keep_tail_lines != CONFIG_UNSET ? " (or to cut down to keep_tail_lines)"
							      : "");
	if (r->olddir && bad_olddir(r->olddir))
		cfgread_error(
			ld, config_setting_get_member(s, "olddir"),
			"'olddir' must be a directory beside the log, relative to it and without "
			"\"..\" (like \"old\"), so that copies stay inside the zone");
	if (r->method == ROTATE_RENAME && !r->postrotate && !(r->pidfile && r->signal))
		cfgread_error(
			ld, s,
			"method \"rename\" needs 'postrotate', or 'pidfile' and 'signal', so the "
			"writer reopens its log");
	if (r->create.set && (r->method != ROTATE_RENAME || r->keep_tail_lines != CONFIG_UNSET))
		cfgread_error(ld, config_setting_get_member(s, "create"),
			      "'create' is for method \"rename\": the other methods keep the live "
			      "log where it is, so there is nothing to make");
}

/* Rotated copies must never be taken for live logs: include must not match their names. */
static void check_rotated_names(struct cfgread *ld, const config_setting_t *s,
				const struct zone_config *z, bool zst)
{
	char example[NAME_MAX + 1] = "app.log", copy[NAME_MAX + 1], rel[PATH_MAX];

	for (size_t i = 0; i < z->include.n; i++) {
		const char *p = z->include.patterns[i], *slash, *base;

		if (!rotplan_glob_example(p, example, sizeof(example)))
			continue;
		slash = strrchr(example, '/');
		base = slash ? slash + 1 : example;
		if (rotplan_name(copy, sizeof(copy), base, 0, 0, zst) < 0)
			continue;
		snprintf(rel, sizeof(rel), "%.*s%s", (int)(base - example), example, copy);
		if (glob_match_any(&z->include, copy, rel) && !glob_match_any(&z->exclude, copy, rel))
			cfgread_error(ld, s,
				      "rotated copies of %s would be named like %s, which include "
				      "pattern \"%s\" matches again: narrow it (like \"*.log\") or "
				      "exclude the copies",
				      example, copy, p);
	}
}

/* Whether group r takes every log of z: no include, "*", or each of the zone's patterns. */
static bool takes_all(const struct zone_config *z, const struct rotate_config *r)
{
	size_t have = 0;

	if (!r->include.n)
		return true;
	for (size_t i = 0; i < r->include.n; i++)
		if (!strcmp(r->include.patterns[i], "*"))
			return true;
	for (size_t k = 0; k < z->include.n; k++)
		for (size_t i = 0; i < r->include.n; i++)
			if (!strcmp(r->include.patterns[i], z->include.patterns[k])) {
				have++;
				break;
			}
	return z->include.n && have == z->include.n;
}

/* Why pattern p of a group can never match a log of z, or NULL when it may. */
static const char *never_matches(const struct zone_config *z, const char *p)
{
	bool may = false;

	if (strchr(p, '/') && !z->recursive)
		return "it names a path below the zone root, and the zone is not recursive";
	for (size_t k = 0; k < z->exclude.n; k++)
		if (!strcmp(p, z->exclude.patterns[k]))
			return "the zone's exclude leaves out what it names";
	for (size_t k = 0; !may && k < z->include.n; k++)
		may = glob_may_overlap(p, z->include.patterns[k]);
	return may ? NULL : "the zone's include lets in no such name";
}

/*
 * Warnings, each with the group's line: an include pattern that can never
 * match a log of the zone, and a group after one that takes every log (first
 * wins, so it never applies).
 */
static void check_groups(struct cfgread *ld, const config_setting_t *s,
			 const struct zone_config *z)
{
	for (size_t g = 0; g < z->n_rotates; g++) {
		const struct rotate_config *r = &z->rotates[g];
		const config_setting_t *gs = z->n_rotates > 1 ? config_setting_get_elem(s, (unsigned)g) : s;

		for (size_t e = 0; e < g; e++)
			if (takes_all(z, &z->rotates[e])) {
				cfgread_warning(ld, gs,
						"zone \"%s\": rotate group %zu never applies: group "
						"%zu before it takes every log (the first group that "
						"matches a log wins)",
						z->name, g + 1, e + 1);
				break;
			}
		for (size_t i = 0; i < r->include.n; i++) {
			const char *why = never_matches(z, r->include.patterns[i]);

			if (why)
				cfgread_warning(ld, gs,
						"zone \"%s\": rotate group %zu: include pattern "
						"\"%s\" can never match: %s, so no log follows it",
						z->name, g + 1, r->include.patterns[i], why);
		}
	}
}

void config_rotate_load(struct cfgread *ld, const config_setting_t *s, struct zone_config *z)
{
	bool list = s && config_setting_is_list(s);
	size_t n = !s ? 0 : list ? (size_t)config_setting_length(s) : 1;
	char who[64];

	if (!s)
		return;
	if (list && !n) {
		cfgread_error(ld, s, "'rotate' is an empty list: leave it out for a zone that "
				     "does not rotate");
		return;
	}
	if (!list && !config_setting_is_group(s)) {
		cfgread_error(ld, s,
			      "'rotate' must be a group: rotate = { size = \"100M\"; ... }, or a "
			      "list of them: rotate = ( { include = [ \"access.log\" ]; ... }, "
			      "{ ... } )");
		return;
	}
	z->rotates = calloc(n, sizeof(*z->rotates));
	if (!z->rotates) {
		cfgread_error(ld, s, "out of memory");
		return;
	}
	z->n_rotates = n;
	for (size_t g = 0; g < n; g++) {
		const config_setting_t *gs = list ? config_setting_get_elem(s, (unsigned)g) : s;

		if (list)
			snprintf(who, sizeof(who), "rotate group %zu", g + 1);
		else
			snprintf(who, sizeof(who), "rotate");
		load_group(ld, gs, z->name, who, &z->rotates[g]);
		for (size_t i = 0; i < z->rotates[g].include.n; i++)
			z->rotate_by_path |= strchr(z->rotates[g].include.patterns[i], '/') != NULL;
	}
	if (!z->include.n) {
		cfgread_error(ld, s,
			      "a zone that rotates needs 'include' patterns naming its logs (like "
			      "[ \"*.log\" ]), which its rotated copies then never match");
		return;
	}
	/* Copies are named as their group compresses; one message for each name shape. */
	for (int zst = 0; zst < 2; zst++)
		for (size_t g = 0; g < n; g++)
			if ((z->rotates[g].compress == COMPRESS_ZSTD) == zst) {
				check_rotated_names(ld, s, z, zst);
				break;
			}
	check_groups(ld, s, z);
}
