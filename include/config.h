#ifndef SWEEPD_CONFIG_H
#define SWEEPD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "awscred.h"
#include "glob.h"

/*
 * The configuration: loaded and checked by config_load.c (its zones by
 * config_zone.c, each setting read by cfgread.c), asked and freed through
 * config.c, which never looks at the disk.
 */

#define CONFIG_DEFAULT_PATH "/etc/sweepd/sweepd.conf"
#define CONFIG_DEFAULT_SOCKET "/run/sweepd/sweepd.sock"
#define CONFIG_DEFAULT_STATE_DIR "/var/lib/sweepd"

/* An unset optional limit. */
#define CONFIG_UNSET (-1)

enum zone_action { ACTION_ARCHIVE, ACTION_DELETE };
enum rotate_method { ROTATE_AUTO, ROTATE_COLLAPSE, ROTATE_COPYTRUNCATE, ROTATE_RENAME };
enum compress_mode { COMPRESS_OFF, COMPRESS_AUTO, COMPRESS_ZSTD };

/* create: after a rename, the new empty live log, made at once. */
struct rotate_create {
	bool set;
	int mode;  /* -1: the moved log's */
	uid_t uid; /* (uid_t)-1: the moved log's */
	gid_t gid; /* (gid_t)-1: the moved log's */
};

/* One rotation group of a zone: the logs its include matches (first group wins). */
struct rotate_config {
	struct globs include; /* none: every log of the zone */
	int line;
	int64_t size;     /* bytes or CONFIG_UNSET */
	int64_t every;    /* seconds or CONFIG_UNSET */
	int64_t keep;     /* copies or CONFIG_UNSET */
	int64_t max_age;  /* seconds or CONFIG_UNSET */
	enum rotate_method method;
	enum compress_mode compress;
	int level;
	int64_t keep_tail_lines;
	char *olddir;
	char *postrotate;
	char *pidfile;
	int signal;
	char *prerotate;
	struct rotate_create create;
};

/* archive.remote: the S3-compatible bucket behind the local archive. */
struct remote_config {
	char *endpoint; /* "http://127.0.0.1:7480", without a trailing '/' */
	char *bucket;
	char *prefix; /* "" or ending as written; default the host name and "/" */
	char *region;
	char *credentials; /* the file read, or NULL: the AWS_* environment */
	char *profile;
	int64_t keep; /* seconds after archived_at, or CONFIG_UNSET: never deleted */
	struct awscred cred; /* read when the config is loaded (and reloaded) */
	int line;
};

/* A user of the HTTP server: its name and bcrypt hash, as Prometheus' web config has them. */
struct http_user {
	char *name;
	char *hash; /* "$2y$10$...", checked by crypt() */
};

/* http: the dashboard, the API and /metrics over TCP. */
struct http_config {
	char *listen;	   /* as written: "127.0.0.1:9477", "[::1]:9477", ":9477" */
	char *host;	   /* the address to bind ("" for every address) */
	unsigned port;
	bool loopback;	   /* the address is 127.0.0.0/8 or ::1 */
	char *cert_file, *key_file; /* tls, or NULL */
	char *cert_pem, *key_pem;   /* their contents, read at load (and reload) */
	struct http_user *users;
	size_t n_users;
	bool read_auth; /* reading needs a user too */
	int line;
};

/* Every problem found, each "file:line: what is wrong". */
struct config_errors {
	char **msgs;
	size_t n;
};

struct zone_config {
	char *name;
	char *path; /* absolute, symlinks resolved */
	int line;
	bool recursive;
	struct globs include, exclude;
	int64_t max_age, max_idle, min_age; /* seconds or CONFIG_UNSET */
	int64_t max_size, max_files;        /* or CONFIG_UNSET */
	enum zone_action action;
	int priority;
	bool prune_empty_dirs;
	struct rotate_config *rotates; /* its rotation groups, in order; none: it does not rotate */
	size_t n_rotates;
	bool rotate_by_path; /* a group's include has a '/': groups match the path, not the name */
};

struct config {
	char *file;
	char *state_dir;
	char *socket_path;
	unsigned socket_mode;
	char *socket_owner, *socket_group; /* NULL: the daemon's user; admin_group */
	int64_t idle_timeout;		    /* seconds a client may stay without a request */
	int64_t max_clients;
	int64_t max_clients_per_user; /* connections of one uid that is not an admin */
	int64_t admin_reserve;	      /* of max_clients, kept for admins */
	char *admin_group;
	char *metrics_file; /* NULL when not asked for */
	double disk_high, disk_low;
	char *archive_path;
	int64_t archive_keep, archive_max_size;
	enum compress_mode archive_compress;
	int archive_level;
	struct remote_config *remote; /* NULL without archive.remote */
	struct http_config *http;     /* NULL without http: nothing listens on TCP */
	char *alert_command;	      /* NULL: alarms are not sent anywhere */
	int64_t alert_repeat;	      /* seconds between runs while an alarm lasts; 0: never */
	struct zone_config *zones;
	size_t n_zones;
	/* Accepted, but said: "file:line: warning: ..." (-t prints them, start and reload log them). */
	struct config_errors warnings;
};

/*
 * Reads and validates the whole file. Returns the config, or NULL with every
 * error found in errs (at least one). Checks the filesystem for the zone
 * paths but changes nothing.
 */
struct config *config_load(const char *file, struct config_errors *errs);
void config_free(struct config *cfg);
void config_remote_free(struct remote_config *r);
void config_http_free(struct http_config *h);
void config_errors_clear(struct config_errors *errs);

/*
 * The same, for a reload over old: also refuses what cannot change while
 * sweepd runs (state_dir, archive.path, socket.path), with their lines.
 */
struct config *config_reload(const char *file, const struct config *old,
			     struct config_errors *errs);
/* Do the two zones hold the same files (path, recursion, include, exclude, access tracking)? */
bool config_zone_same_files(const struct zone_config *a, const struct zone_config *b);

/*
 * The rotation group a file of z follows: the first whose include matches it
 * (relpath: beneath the zone root; only looked at when z->rotate_by_path).
 * NULL: none does, it is no log.
 */
const struct rotate_config *config_rotate_group(const struct zone_config *z, const char *name,
						const char *relpath);

/* The index of the zone named name, or -1. */
int config_zone_index(const struct config *cfg, const char *name);

/* Exposed for unit tests: "/a/b" and "/a/b/c" overlap; "/a/b" and "/a/bc" do not. */
bool config_path_within(const char *inner, const char *outer);

/*
 * An absolute path written plainly: "//" and "." components dropped, into
 * out. -EINVAL when path is not absolute, -EACCES when a component is "..",
 * -ENAMETOOLONG. Pure text: nothing on disk is looked at.
 */
int config_path_clean(const char *path, char *out, size_t len);
/* The index of the zone whose directory holds path strictly below its root, or -1. */
int config_zone_holding(const struct config *cfg, const char *path);

#endif
