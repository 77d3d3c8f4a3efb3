#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "archive.h"
#include "commands.h"
#include "config.h"
#include "daemon.h"
#include "explain.h"
#include "glob.h"
#include "reply.h"
#include "rotate.h"
#include "rotplan.h"
#include "sweep.h"
#include "table.h"
#include "watch.h"
#include "writers.h"

/*
 * The facts the explain command reads, gathered on the loop from the config,
 * the table, the sweeper, the rotator and /proc (who writes the file); what
 * they mean is explain.c's.
 */

#define WRITERS_MAX 16

/* Would a quota pass take f now: among the oldest free files that cover the excess? */
/*
 * The rotation group of the file at rel (named name) in z: a log's, or a
 * copy's (*copy set): its log's, by the name the copy was made from.
 */
static const struct rotate_config *group_of(const struct zone_config *z, const char *rel,
					    const char *name, bool *copy)
{
	char base[NAME_MAX + 1], log_rel[PATH_MAX];
	size_t n = strlen(name), cut;

	*copy = z->n_rotates && rotplan_is_copy(name);
	if (!*copy)
		return config_rotate_group(z, name, rel);
	cut = ROTPLAN_STAMP_LEN + (n > 4 && !strcmp(name + n - 4, ".zst") ? 4 : 0);
	if (n <= cut || n - cut >= sizeof(base))
		return &z->rotates[0];
	snprintf(base, sizeof(base), "%.*s", (int)(n - cut), name);
	snprintf(log_rel, sizeof(log_rel), "%.*s%s", (int)(name - rel), rel, base);
	return config_rotate_group(z, base, log_rel) ? config_rotate_group(z, base, log_rel)
						      : &z->rotates[0];
}

static bool picked_by_size(struct daemon *d, size_t zone, const struct table_file *f,
			   struct policy_excess ex, int64_t now)
{
	const struct zone_config *z = &d->cfg->zones[zone];
	uint64_t bytes = 0, files = 0;
	struct table_iter it;
	struct table_file *g;
	bool picked = false;

	if (!ex.bytes && !ex.files)
		return false;
	table_iter_init(&it, d->table, zone, false);
	while (!picked && (bytes < ex.bytes || files < ex.files) && (g = table_iter_next(&it))) {
		/* Others that may not go are passed over; f itself is judged as if it could. */
		if (g != f &&
		    policy_block(z, g->flags & TF_WRITING, sweep_held_until(d->sweep, g, now) > 0,
				 table_file_last_write(d->table, g), now) != POLICY_FREE)
			continue;
		picked = g == f;
		bytes += g->size;
		files++;
	}
	table_iter_done(&it);
	return picked;
}

static bool matched(const struct zone_config *z, const char *rel)
{
	const char *name = strrchr(rel, '/');

	name = name ? name + 1 : rel;
	if (!z->recursive && strchr(rel, '/'))
		return false;
	if (z->include.n && !glob_match_any(&z->include, name, rel))
		return false;
	return !glob_match_any(&z->exclude, name, rel);
}

/* rel's entry stat'd (not followed) in its directory, opened beneath the zone root. */
static int stat_beneath(struct daemon *d, size_t zone, const char *rel, const char *name,
			struct stat *st)
{
	char *dir = strndup(rel, (size_t)(name - rel));
	int dfd, r;

	if (!dir)
		return -ENOMEM;
	if (*dir)
		dir[strlen(dir) - 1] = '\0'; /* without its last '/' */
	dfd = watch_open_beneath(d->watch, zone, dir, O_PATH);
	free(dir);
	if (dfd < 0)
		return dfd;
	r = fstatat(dfd, name, st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
	close(dfd);
	return r;
}

char *daemon_explain(struct daemon *d, const char *path)
{
	struct explain_facts f = { .now = (int64_t)time(NULL), .paused = d->paused, .dry_run = d->dry_run };
	struct explain_writer ws[WRITERS_MAX];
	char clean[PATH_MAX], msg[PATH_MAX + 256];
	const char *archive = d->archive ? archive_path(d->archive) : NULL, *rel, *name;
	struct table_file *tf = NULL;
	struct stat st;
	json_object *o;
	int zone;

	if (config_path_clean(path, clean, sizeof(clean)) < 0)
		return reply_error("explain needs an absolute path without \"..\"");
	f.path = clean;
	zone = config_zone_holding(d->cfg, clean);
	if (archive && config_path_within(clean, archive))
		f.outside = "it lies in the archive: sweepctl archive lists it, and archive.keep "
			    "and max_size decide when it is purged";
	else if (config_path_within(clean, d->cfg->state_dir))
		f.outside = "it lies in state_dir, sweepd's own";
	if (zone < 0 || f.outside)
		goto verdict;
	f.z = &d->cfg->zones[zone];
	rel = clean + strlen(f.z->path) + 1;
	name = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
	/*
	 * Looked at beneath the zone root through no link: anyone may ask, and a
	 * link planted in a zone must not tell them what lies where only root sees.
	 */
	if (stat_beneath(d, (size_t)zone, rel, name, &st) < 0) {
		snprintf(msg, sizeof(msg), "no file at %s (or a link or another mount on the way "
					   "there): sweepctl archive lists what was archived, the "
					   "audit log what was deleted",
			 clean);
		return reply_error(msg);
	}
	f.group = group_of(f.z, rel, name, &f.is_copy);
	f.is_log = f.group && !f.is_copy;
	f.group_index = f.group ? (size_t)(f.group - f.z->rotates) : 0;
	f.matched = S_ISREG(st.st_mode) && matched(f.z, rel);
	tf = f.matched ? table_file_find(d->table, (size_t)zone, rel, st.st_ino) : NULL;
	f.tracked = tf != NULL;
	if (tf) {
		struct writers_fd *w = NULL;
		size_t n = 0;
		bool pressure = false;

		f.size = tf->size;
		f.mtime = tf->mtime;
		f.last_write = table_file_last_write(d->table, tf);
		f.last_use = table_file_last_use(tf);
		f.writing = tf->flags & TF_WRITING;
		f.held_until = d->sweep ? sweep_held_until(d->sweep, tf, f.now) : 0;
		/* /proc is walked only for a file the table knows is open for writing. */
		if (f.writing && writers_of(st.st_dev, st.st_ino, &w, &n, &f.hidden) == 0) {
			for (size_t i = 0; i < n && f.n_writers < WRITERS_MAX; i++) {
				bool seen = false;
				for (size_t k = 0; k < f.n_writers; k++)
					seen |= ws[k].pid == w[i].pid;
				if (seen)
					continue;
				ws[f.n_writers].pid = w[i].pid;
				snprintf(ws[f.n_writers].comm, sizeof(ws[0].comm), "%s", w[i].comm);
				f.n_writers++;
			}
			free(w);
		}
		f.writers = ws;
		f.excess = policy_zone_excess(f.z, table_zone(d->table, (size_t)zone)->bytes,
					      table_zone(d->table, (size_t)zone)->files);
		if (!f.is_log && !f.is_copy && d->sweep) {
			f.picked_by_size = picked_by_size(d, (size_t)zone, tf, f.excess, f.now);
			sweep_fs_episode(d->sweep, st.st_dev, &pressure);
			f.disk_pressure = pressure;
		}
		if (f.is_log && d->rotate)
			rotate_log_state(d->rotate, (uint32_t)zone, tf, &f.last_rotation,
					 &f.rotate_blocked);
	}
verdict:
	o = json_object_new_object();
	if (!o)
		return reply_error("out of memory");
	json_object_object_add(o, "ok", json_object_new_boolean(1));
	explain_verdict(&f, o);
	return reply_object(o);
}
