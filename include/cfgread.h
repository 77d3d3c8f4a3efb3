#ifndef SWEEPD_CFGREAD_H
#define SWEEPD_CFGREAD_H

#include <libconfig.h>
#include <stdbool.h>
#include <stdint.h>

struct config;
struct config_errors;
struct globs;

/*
 * Reading the configuration file's settings, each by its type: an integer,
 * a size, a duration, a path resolved against the file's directory, a user.
 * What is wrong is added to the errors as "file:line: what", and reading
 * goes on with a default, so that every error is found in one go; what is
 * legal but likely a mistake is added to the config's warnings. Users,
 * groups and the directories on a path are looked up on this machine.
 */
struct cfgread {
	const char *file;
	char *base_dir; /* relative paths resolve against it */
	struct config_errors *errs;
	const struct config *old; /* a reload: what must not change */
	struct config *cfg;	  /* what is being loaded: its warnings */
};

void cfgread_error(struct cfgread *ld, const config_setting_t *s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Something accepted that is probably not what the operator meant: said, not refused. */
void cfgread_warning(struct cfgread *ld, const config_setting_t *s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Reports every member of group s whose name is not in known (NULL-ended). */
void cfgread_keys(struct cfgread *ld, const config_setting_t *s, const char *where,
		  const char *const *known);

/* Each reads key of group grp; absent: NULL, def or CONFIG_UNSET. */
const char *cfgread_string(struct cfgread *ld, const config_setting_t *grp, const char *key);
bool cfgread_bool(struct cfgread *ld, const config_setting_t *grp, const char *key, bool def);
/* An integer in [min, max]. */
int64_t cfgread_int(struct cfgread *ld, const config_setting_t *grp, const char *key, int64_t min,
		    int64_t max, int64_t def);
/* zstd's 'level' of grp (1 to 22), with a warning past 19 naming who and its memory. */
int cfgread_level(struct cfgread *ld, const config_setting_t *grp, const char *who,
		  const char *also);
/* A size: integer bytes or "300M". */
int64_t cfgread_size(struct cfgread *ld, const config_setting_t *grp, const char *key);
/* A duration: integer seconds or "7d". */
int64_t cfgread_duration(struct cfgread *ld, const config_setting_t *grp, const char *key,
			 int64_t def);
double cfgread_percent(struct cfgread *ld, const config_setting_t *grp, const char *key,
		       double def);
/* One of names[] (NULL-ended): its index, or def. */
int cfgread_enum(struct cfgread *ld, const config_setting_t *grp, const char *key,
		 const char *const *names, int def);
/* A path, relative ones joined to the file's directory; malloc'd (def's copy when absent). */
char *cfgread_path(struct cfgread *ld, const config_setting_t *grp, const char *key,
		   const char *def);
/* A user (or group) that must exist on this machine: its name, malloc'd. */
char *cfgread_name(struct cfgread *ld, const config_setting_t *grp, const char *key, bool user);
/* A list of glob patterns, into g. */
void cfgread_globs(struct cfgread *ld, const config_setting_t *grp, const char *key,
		   struct globs *g);

/*
 * A directory's path (a zone's, the archive's, state_dir) with the links of
 * the part that is there resolved and the rest appended, cleaned; what names
 * it in errors. NULL (and an error) when it cannot be made so; *missing when
 * some of it is not there.
 */
char *cfgread_dir(struct cfgread *ld, const config_setting_t *s, const char *what,
		  const char *path, bool *missing);
/* A directory of sweepd's own (state_dir, the archive), resolved as a zone's path is. */
char *cfgread_own_dir(struct cfgread *ld, const config_setting_t *grp, const char *key,
		      const char *what, const char *def);
/* A file of sweepd's own (the socket, the metrics file): its directory resolved so. */
char *cfgread_own_file(struct cfgread *ld, const config_setting_t *grp, const char *key,
		       const char *what, const char *def);
/* path with its links resolved as far as it exists, the rest as written; malloc'd. */
char *cfgread_resolved(const char *path);

#endif
