#include "daemon.h"

#include <errno.h>
#include <grp.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "archive.h"
#include "audit.h"
#include "control.h"
#include "log.h"
#include "notify.h"
#include "reply.h"
#include "request.h"
#include "sweep.h"
#include "table.h"
#include "units.h"
#include "watch.h"

#define HOUSEKEEPING_S 30.0

void daemon_settle(struct daemon *d)
{
	watch_drain(d->watch);
	watch_poll_unwatched(d->watch);
	watch_drain(d->watch);
	/* Taken in, then acted on: what is due now is done before the answer. */
	if (d->sweep && !d->paused) {
		struct sweep_run run = { .dry = d->dry_run, .mark = d->dry_run, .zone = -1 };
		sweep_all(d->sweep, &run);
	}
}

static char *not_yet(enum request_cmd cmd)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "\"%s\" is not implemented yet in this version of sweepd",
		 request_cmd_name(cmd));
	return reply_error(msg);
}

/* Is gid among the supplementary groups of pid? From /proc/PID/status. */
static bool pid_in_group(pid_t pid, gid_t gid)
{
	char path[64], *line = NULL;
	size_t cap = 0;
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && getline(&line, &cap, f) > 0) {
		char *p = line + 7, *end;
		if (strncmp(line, "Groups:", 7))
			continue;
		for (unsigned long g; (g = strtoul(p, &end, 10)), end != p; p = end)
			found |= (gid_t)g == gid;
		break;
	}
	free(line);
	fclose(f);
	return found;
}

/* Root, the daemon's own user, or a member of admin_group. */
static bool peer_is_admin(const struct daemon *d, const struct control_peer *peer)
{
	struct group *g;

	if (peer->uid == 0 || peer->uid == geteuid())
		return true;
	if (!d->cfg->admin_group || !(g = getgrnam(d->cfg->admin_group)))
		return false;
	return peer->gid == g->gr_gid || pid_in_group(peer->pid, g->gr_gid);
}

static char *refuse(const struct daemon *d, enum request_cmd cmd, const struct control_peer *peer)
{
	char msg[512];

	snprintf(msg, sizeof(msg),
		 "\"%s\" changes things: it needs root, the daemon's own user%s%s%s; you are uid %u",
		 request_cmd_name(cmd), d->cfg->admin_group ? " or a member of group \"" : "",
		 d->cfg->admin_group ? d->cfg->admin_group : "", d->cfg->admin_group ? "\"" : "",
		 (unsigned)peer->uid);
	return reply_error(msg);
}

static int zone_index(const struct daemon *d, const char *name)
{
	for (size_t i = 0; i < d->cfg->n_zones; i++)
		if (!strcmp(d->cfg->zones[i].name, name))
			return (int)i;
	return -1;
}

static char *unknown_zone(const char *name)
{
	char msg[300];

	snprintf(msg, sizeof(msg), "no zone named \"%s\" (sweepctl status lists them)", name);
	return reply_error(msg);
}

static char *do_sweep(struct daemon *d, const struct request *req)
{
	struct sweep_run run = { .dry = req->dry_run == 1 || d->dry_run, .zone = -1, .manual = true };

	if (req->zone && (run.zone = zone_index(d, req->zone)) < 0)
		return unknown_zone(req->zone);
	if (d->paused && !run.dry)
		return reply_error("sweepd is paused: it touches nothing until \"sweepctl resume\"; "
				   "a dry run (\"dry_run\": true) still reports what it would do");
	watch_drain(d->watch);
	run.actions = json_object_new_array();
	sweep_all(d->sweep, &run);
	return reply_actions(&run);
}

static char *do_purge(struct daemon *d, const struct request *req)
{
	struct sweep_run run = { .dry = d->dry_run, .zone = -1, .manual = true };

	if (!d->archive)
		return reply_error("no archive is configured: nothing to purge");
	if (d->paused)
		return reply_error("sweepd is paused: it touches nothing until \"sweepctl resume\"");
	run.actions = json_object_new_array();
	sweep_purge(d->sweep, req->older_than, &run);
	return reply_purged(&run);
}

static char *do_restore(struct daemon *d, const struct request *req)
{
	struct archive_entry *e = NULL;
	char msg[PATH_MAX + 256], *where = NULL, *out;
	struct stat st;
	int r;

	if (!d->archive)
		return reply_error("no archive is configured: nothing to restore");
	if (d->dry_run)
		return reply_error("sweepd runs with --dry-run: it moves nothing, restores included");
	if (req->id >= 0)
		e = archive_index_get(archive_entries(d->archive), (uint64_t)req->id);
	else if (req->path)
		e = archive_index_find_path(archive_entries(d->archive), req->path);
	if (!e) {
		snprintf(msg, sizeof(msg),
			 "nothing in the archive is %s%s%s (sweepctl archive lists what is there)",
			 req->id >= 0 ? "entry " : "", req->id >= 0 ? "" : req->path,
			 req->id >= 0 ? "with that id" : "");
		return reply_error(msg);
	}
	{
		/* The entry goes from the index on success: keep what the audit line needs. */
		char *zone = strdup(e->zone), *apath = strdup(e->apath);
		uint64_t bytes = e->bytes;

		r = zone && apath ? archive_restore(d->archive, e, req->to, &where) : -ENOMEM;
		if (r == 0) {
			d->counters.restored++;
			if (lstat(where, &st) == 0)
				sweep_hold(d->sweep, st.st_dev, st.st_ino);
			json_object *line = audit_entry((int64_t)time(NULL), "restore", zone, where,
							bytes, REASON_MANUAL, false, apath);
			audit_write(d->audit, line);
			json_object_put(line);
		}
		free(zone);
		free(apath);
	}
	if (r == -EEXIST)
		snprintf(msg, sizeof(msg),
			 "%s already exists: restore never overwrites; move it away or give "
			 "\"to\" another path",
			 req->to ? req->to : e->path);
	else if (r == -EDESTADDRREQ)
		snprintf(msg, sizeof(msg),
			 "entry %llu's zone is no longer configured: give \"to\" a path to restore it at",
			 (unsigned long long)e->id);
	else if (r < 0)
		snprintf(msg, sizeof(msg), "cannot restore %s: %s", e->apath, strerror(-r));
	if (r < 0) {
		if (r != -EEXIST && r != -EDESTADDRREQ)
			d->counters.errors++;
		return reply_error(msg);
	}
	watch_drain(d->watch);
	out = reply_restored(where);
	free(where);
	return out;
}

/* The socket's handler: one request line in, one reply line out. */
static char *daemon_request(void *ud, const char *line, size_t len,
			    const struct control_peer *peer)
{
	struct daemon *d = ud;
	struct request req;
	char err[512], *out;
	int zone;

	if (request_parse(line, len, &req, err, sizeof(err)) < 0)
		return reply_error(err);
	if (request_is_admin(req.cmd) && !peer_is_admin(d, peer)) {
		out = refuse(d, req.cmd, peer);
		request_clear(&req);
		return out;
	}
	switch (req.cmd) {
	case REQ_STATUS:
		out = reply_status(d);
		break;
	case REQ_SETTLE:
		daemon_settle(d);
		out = reply_ok();
		break;
	case REQ_TOP:
		zone = zone_index(d, req.zone);
		out = zone < 0 ? unknown_zone(req.zone) : reply_top(d, (size_t)zone, &req);
		break;
	case REQ_SWEEP:
		out = do_sweep(d, &req);
		break;
	case REQ_ARCHIVE:
		if (req.zone && zone_index(d, req.zone) < 0)
			out = unknown_zone(req.zone);
		else
			out = reply_archive(d, req.zone);
		break;
	case REQ_RESTORE:
		out = do_restore(d, &req);
		break;
	case REQ_PURGE:
		out = do_purge(d, &req);
		break;
	case REQ_PAUSE:
	case REQ_RESUME:
		d->paused = req.cmd == REQ_PAUSE;
		log_info("%s by uid %u", d->paused ? "paused" : "resumed", (unsigned)peer->uid);
		if (!d->paused)
			daemon_settle(d);
		out = reply_ok();
		break;
	default:
		out = not_yet(req.cmd);
		break;
	}
	request_clear(&req);
	return out;
}

static void on_stop_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)revents;
	log_info("received %s: stopping", w->signum == SIGTERM ? "SIGTERM" : "SIGINT");
	notify_send("STOPPING=1");
	ev_break(loop, EVBREAK_ALL);
}

static void on_sighup(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	log_warn("SIGHUP: reloading the configuration is not implemented yet; keeping the "
		 "current one");
}

/*
 * The one periodic timer. Its duties: rescan subtrees that have no inotify
 * watch (past fs.inotify.max_user_watches) and look for zone roots that are
 * missing, since neither sends events; look at the disks, which other
 * programs fill too; forget writes seen longer ago than any min_age.
 */
static void on_housekeeping(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct daemon *d = t->data;

	(void)loop;
	(void)revents;
	watch_poll_unwatched(d->watch);
	sweep_housekeeping(d->sweep);
}

static void status_line(struct daemon *d, char *buf, size_t len)
{
	uint64_t files = 0, bytes = 0;
	char sz[32];

	for (size_t i = 0; i < d->cfg->n_zones; i++) {
		files += table_zone(d->table, i)->files;
		bytes += table_zone(d->table, i)->bytes;
	}
	snprintf(buf, len, "STATUS=%zu zones, %llu files, %s", d->cfg->n_zones,
		 (unsigned long long)files, units_format_size(bytes, sz, sizeof(sz)));
}

int daemon_start(struct daemon *d)
{
	char status[256];
	int r;

	d->started = (int64_t)time(NULL);
	d->table = table_create(d->cfg->n_zones);
	d->watch = d->table ? watch_create(d->loop, d->cfg, d->table, &d->counters) : NULL;
	if (!d->watch) {
		log_err("cannot start: out of memory or no inotify instance (%s)", strerror(errno));
		return -ENOMEM;
	}
	if (mkdir(d->cfg->state_dir, 0750) < 0 && errno != EEXIST) {
		r = -errno;
		log_err("cannot create state_dir %s: %s", d->cfg->state_dir, strerror(errno));
		return r;
	}
	/* Before the scan: a stop asked for during a long first scan is a clean stop. */
	ev_signal_init(&d->sigterm, on_stop_signal, SIGTERM);
	ev_signal_init(&d->sigint, on_stop_signal, SIGINT);
	ev_signal_init(&d->sighup, on_sighup, SIGHUP);
	ev_signal_start(d->loop, &d->sigterm);
	ev_signal_start(d->loop, &d->sigint);
	ev_signal_start(d->loop, &d->sighup);
	d->audit = audit_open(d->cfg->state_dir);
	if (!d->audit) {
		r = -errno;
		log_err("cannot open %s/audit.log: %s", d->cfg->state_dir, strerror(errno));
		return r;
	}
	if (d->cfg->archive_path) {
		struct archive_report rep;
		char err[PATH_MAX + 128];

		d->archive = archive_open(d->cfg, &rep, err, sizeof(err));
		if (!d->archive) {
			log_err("%s", err);
			return -EIO;
		}
		if (rep.recovered || rep.dropped || rep.found || rep.removed_tmp)
			log_warn("archive %s: recovered after a crash: %llu half-done move(s) undone, "
				 "%llu index entr(ies) without a file dropped, %llu file(s) indexed "
				 "again, %llu temporary file(s) removed",
				 d->cfg->archive_path, (unsigned long long)rep.recovered,
				 (unsigned long long)rep.dropped, (unsigned long long)rep.found,
				 (unsigned long long)rep.removed_tmp);
	}
	r = watch_start(d->watch);
	if (r < 0)
		return r;
	d->sweep = sweep_create(d);
	if (!d->sweep) {
		log_err("cannot start: out of memory");
		return -ENOMEM;
	}
	d->control = control_create(d->loop, d->cfg->socket_path, d->cfg->socket_mode,
				    daemon_request, d);
	if (!d->control) {
		r = -errno;
		log_err("cannot listen on %s: %s", d->cfg->socket_path,
			errno == EADDRINUSE ? "another sweepd is already answering there"
			: errno == EEXIST ? "something that is not a socket is in the way"
					  : strerror(errno));
		return r;
	}
	if (d->cfg->admin_group) {
		struct group *g = getgrnam(d->cfg->admin_group);
		if (!g || chown(d->cfg->socket_path, (uid_t)-1, g->gr_gid) < 0)
			log_warn("socket: cannot give %s to group %s: %s", d->cfg->socket_path,
				 d->cfg->admin_group, g ? strerror(errno) : "no such group");
	}
	ev_timer_init(&d->housekeeping, on_housekeeping, HOUSEKEEPING_S, HOUSEKEEPING_S);
	d->housekeeping.data = d;
	ev_timer_start(d->loop, &d->housekeeping);

	status_line(d, status, sizeof(status));
	log_info("ready: %s; listening on %s%s", status + 7, d->cfg->socket_path,
		 d->dry_run ? " (dry run)" : "");
	{
		char msg[300];
		snprintf(msg, sizeof(msg), "READY=1\n%s", status);
		notify_send(msg);
	}
	/* What was due while we were not running. */
	sweep_housekeeping(d->sweep);
	return 0;
}

void daemon_stop(struct daemon *d)
{
	if (d->loop) {
		ev_signal_stop(d->loop, &d->sigterm);
		ev_signal_stop(d->loop, &d->sigint);
		ev_signal_stop(d->loop, &d->sighup);
		ev_timer_stop(d->loop, &d->housekeeping);
	}
	control_destroy(d->control);
	sweep_destroy(d->sweep);
	archive_close(d->archive);
	audit_close(d->audit);
	watch_destroy(d->watch);
	table_destroy(d->table);
	d->control = NULL;
	d->sweep = NULL;
	d->archive = NULL;
	d->audit = NULL;
	d->watch = NULL;
	d->table = NULL;
}
