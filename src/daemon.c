#include "daemon.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alarms.h"
#include "alert.h"
#include "archive.h"
#include "audit.h"
#include "dashboard.h"
#include "fsinfo.h"

#include "control.h"
#include "engine.h"
#include "fileio.h"
#include "history.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "pathenc.h"
#include "reload.h"
#include "remote_job.h"
#include "reply_status.h"
#include "reserve.h"
#include "rotate.h"
#include "mover.h"
#include "request.h"
#include "settle.h"
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
	if (d->rotate)
		rotate_due(d->rotate);
	daemon_alarms_update(d);
}

/* settle's act: daemon_settle, for a settle that is not handed the daemon. */
static void settle_act(void *daemon)
{
	daemon_settle(daemon);
}

/* After each batch of events: what it made due. */
static void on_batch(void *ud)
{
	struct daemon *d = ud;

	sweep_due(d->sweep);
	rotate_due(d->rotate);
	daemon_alarms_update(d);
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
	struct daemon *d = w->data;

	(void)loop;
	(void)revents;
	log_info("SIGHUP: reloading %s", d->cfg->file);
	free(daemon_reload(d));
}

void daemon_status_view(struct daemon *d, struct reply_status_view *v)
{
	daemon_alarms_update(d);
	*v = (struct reply_status_view){
		.cfg = d->cfg,
		.table = d->table,
		.watch = d->watch,
		.sweep = d->sweep,
		.archive = d->archive,
		.history = d->history,
		.mover = d->mover,
		.alarms = d->alarms,
		.counters = &d->counters,
		.started = d->started,
		.paused = d->paused,
		.dry_run = d->dry_run,
		.reservations = reserve_json(d->reserve),
	};
}

char *daemon_metrics(struct daemon *d)
{
	struct reply_status_view v;
	json_object *st;
	char *text;

	daemon_status_view(d, &v);
	st = reply_status_object(&v);
	text = st ? metrics_render(st, (int64_t)time(NULL)) : NULL;

	json_object_put(st);
	return text;
}

/* metrics_file, for node_exporter's textfile collector: replaced whole, never half-written. */
static void write_metrics_file(struct daemon *d)
{
	const char *path = d->cfg->metrics_file;
	char *text, *tmp;
	int r;

	if (!path || !(text = daemon_metrics(d)))
		return;
	/* A dot name in the same directory: the collector reads only *.prom. */
	if (asprintf(&tmp, "%.*s.%s.tmp", (int)(strrchr(path, '/') - path + 1), path,
		     strrchr(path, '/') + 1) < 0)
		tmp = NULL;
	r = tmp ? file_replace(path, tmp, text, strlen(text), false) : -ENOMEM;
	if (r < 0 && !d->metrics_warned)
		log_warn("cannot write metrics_file %s: %s", path, strerror(-r));
	d->metrics_warned = r < 0;
	free(tmp);
	free(text);
}

/* The loop turns and its timers fire: tell systemd we are alive. */
static void on_watchdog(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct daemon *d = t->data;

	(void)revents;
	/* Housekeeping overdue by far means a timer is lost: let systemd restart us. */
	if (ev_now(loop) - d->housekeeping_at > 4 * HOUSEKEEPING_S)
		return;
	notify_watchdog_kick();
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

	(void)revents;
	d->housekeeping_at = ev_now(loop);
	watch_poll_unwatched(d->watch);
	sweep_housekeeping(d->sweep);
	rotate_housekeeping(d->rotate);
	daemon_alarms_update(d);
	daemon_notify_status(d, false);
	write_metrics_file(d);
}

/*
 * The listener made again as the config says. On another address, the new
 * one first, and the old one closed only once it listens, so that an
 * address in use leaves the old one serving (the log says so). On the same
 * address (a new certificate, checked when the config was read), the old
 * one closes first: nothing else may share the address (no SO_REUSEPORT).
 */
static int http_remake(struct daemon *d)
{
	const struct http_hooks hooks = { d->handler, daemon_dashboard, d, &d->counters };
	struct http *fresh = NULL;
	char err[512];

	if (d->http && d->cfg->http && http_serves(d->http, d->cfg->http)) {
		http_set_config(d->http, d->cfg->http);
		return 0;
	}
	if (d->http && (!d->cfg->http || http_listens_on(d->http, d->cfg->http))) {
		http_destroy(d->http);
		d->http = NULL;
	}
	if (d->cfg->http) {
		fresh = http_create(d->loop, d->cfg->http, &hooks, err, sizeof(err));
		if (!fresh) {
			log_err("http: %s%s", err,
				d->http ? "; still serving where it did before the reload" : "");
			if (d->http)
				http_set_config(d->http, d->cfg->http);
			return -EADDRNOTAVAIL;
		}
	}
	http_destroy(d->http);
	d->http = fresh;
	if (fresh)
		log_info("http: serving the dashboard, /metrics and /api/v1 on %s%s%s",
			 d->cfg->http->listen, d->cfg->http->cert_pem ? " (TLS)" : "",
			 d->cfg->http->n_users ? "" : "; no user: admin requests are refused");
	return 0;
}

static void on_http_moved(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	http_remake(t->data);
}

int daemon_apply_http(struct daemon *d)
{
	if (!d->http)
		return http_remake(d);
	if (d->cfg->http && http_serves(d->http, d->cfg->http)) {
		http_set_config(d->http, d->cfg->http);
		return 0;
	}
	/*
	 * A second later: the request under way may be this reload's, come over
	 * HTTP, and its answer must go out through the old listener first.
	 */
	ev_timer_stop(d->loop, &d->http_move);
	ev_timer_init(&d->http_move, on_http_moved, HTTP_MOVE_DELAY_S, 0);
	d->http_move.data = d;
	ev_timer_start(d->loop, &d->http_move);
	return 0;
}

/* watch_limit: directories without an inotify watch for the limit, and what to do. */
static void watch_limit_alarm(struct alarms *a, uint64_t unwatched, int64_t now)
{
	FILE *f = fopen("/proc/sys/fs/inotify/max_user_watches", "re");
	long lim = -1;
	char msg[512], cur[48] = "";

	if (f) {
		if (fscanf(f, "%ld", &lim) == 1 && lim > 0)
			snprintf(cur, sizeof(cur), " (now %ld)", lim);
		fclose(f);
	}
	snprintf(msg, sizeof(msg),
		 "%llu director%s without an inotify watch: fs.inotify.max_user_watches%s is "
		 "used up (by the programs of sweepd's user together), so changes there are seen only by rescans every 30 s and on settle; "
		 "raise it (sysctl -w fs.inotify.max_user_watches=N, and in /etc/sysctl.d/ to "
		 "keep it): the directories are watched again within 30 s",
		 (unsigned long long)unwatched, unwatched == 1 ? "y is" : "ies are", cur);
	alarms_hold(a, "watch_limit", NULL, msg, 0, now);
}

void daemon_alarms_update(struct daemon *d)
{
	struct alarms *a = d->alarms;
	int64_t now = (int64_t)time(NULL);

	if (!a)
		return;
	alarms_begin(a);
	for (size_t i = 0; d->sweep && i < d->cfg->n_zones; i++) {
		const struct sweep_episode *ep = sweep_zone_episode(d->sweep, i);
		char msg[PATH_MAX + 512]; /* the why names paths */

		if (!ep || !ep->active)
			continue;
		snprintf(msg, sizeof(msg), "zone %s is over its limits: %s", d->cfg->zones[i].name,
			 ep->why ? ep->why : "");
		alarms_hold(a, "quota_unmet", (const char *const[]){ "zone", d->cfg->zones[i].name, NULL },
			    msg, 0, now);
	}
	for (size_t k = 0; d->sweep && k < sweep_fs_count(d->sweep); k++) {
		const struct sweep_episode *ep;
		const char *probe;
		struct fsinfo fi;
		char msg[PATH_MAX + 512]; /* the why names paths */

		if (!(ep = sweep_fs_at(d->sweep, k, &probe))->active)
			continue;
		/* Only while the alarm holds: statfs and the mount table. */
		if (fsinfo_get(probe, &fi) < 0) {
			snprintf(fi.mount, sizeof(fi.mount), "%s", probe);
			fi.used_pct = 100;
		}
		/* Once under high, the episode holds until low: say which phase it is in. */
		if (fi.used_pct > d->cfg->disk_high)
			snprintf(msg, sizeof(msg), "the disk of %s is above its high mark: %s",
				 fi.mount, ep->why ? ep->why : "");
		else
			snprintf(msg, sizeof(msg),
				 "the disk of %s is still above its low mark (%.1f%% used, low %g%%) "
				 "after sweeping: %s",
				 fi.mount, fi.used_pct, d->cfg->disk_low, ep->why ? ep->why : "");
		alarms_hold(a, "disk_high", (const char *const[]){ "mount", fi.mount, NULL }, msg, 0, now);
	}
	for (size_t i = 0; d->sweep && i < d->cfg->n_zones; i++) {
		const char *why = sweep_archive_blocked(d->sweep, i);
		char dir[PATH_MAX + 64];

		if (!why)
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", d->cfg->archive_path, d->cfg->zones[i].name);
		alarms_hold(a, "archive_blocked",
			    (const char *const[]){ "zone", d->cfg->zones[i].name, "path", dir, NULL },
			    why, 0, now);
	}
	if (d->sweep && sweep_archive_episode(d->sweep)->active) {
		const struct sweep_episode *ep = sweep_archive_episode(d->sweep);
		char msg[PATH_MAX + 512];

		snprintf(msg, sizeof(msg), "the archive %s %s", d->cfg->archive_path,
			 ep->why ? ep->why : "is full: files stay in their zones");
		alarms_hold(a, "archive_full", NULL, msg, 0, now);
	}
	if (d->sweep && d->cfg->remote && sweep_remote_stats(d->sweep)->failing &&
	    sweep_remote_stats(d->sweep)->waiting_files) {
		const struct sweep_remote_stats *st = sweep_remote_stats(d->sweep);
		char msg[1600], sz[32];

		units_format_size(st->waiting_bytes, sz, sizeof(sz));
		snprintf(msg, sizeof(msg),
			 "%llu file(s) (%s) wait in the local archive for bucket %s: %s",
			 (unsigned long long)st->waiting_files, sz, d->cfg->remote->bucket,
			 st->last_error);
		alarms_hold(a, "remote_failing",
			    (const char *const[]){ "bucket", d->cfg->remote->bucket, NULL }, msg,
			    st->failing_since, now);
	}
	if (d->watch && watch_unwatched_at_limit(d->watch))
		watch_limit_alarm(a, watch_unwatched_at_limit(d->watch), now);
	if (d->rotate)
		rotate_alarms(d->rotate, a, now);
	alarms_end(a, NULL, NULL);
	/* What started, ended or is due again goes to alert_command. */
	if (d->alert)
		alert_sync(d->alert, a, now);
}

/*
 * One line for people and systemd: zones, files, bytes, and the alarms list.
 * Escaped whole: a log's name or a writer's command is anyone's to choose,
 * and a newline in it would add assignments of its own to the notify message.
 */
static void status_line(struct daemon *d, char *buf, size_t len)
{
	char alarms[512] = "", sz[32], raw[700];
	uint64_t files = 0, bytes = 0;
	size_t n = alarms_count(d->alarms);

	for (size_t i = 0; i < d->cfg->n_zones; i++) {
		files += table_zone(d->table, i)->files;
		bytes += table_zone(d->table, i)->bytes;
	}
	for (size_t i = 0; i < n; i++) {
		const struct alarm *al = alarms_at(d->alarms, i);
		const char *zone = alarms_label(al, "zone"), *mount = alarms_label(al, "mount"),
			   *path = alarms_label(al, "path");
		size_t used = strlen(alarms);

		if (used >= sizeof(alarms))
			break;
		if (!strcmp(al->name, "quota_unmet"))
			snprintf(alarms + used, sizeof(alarms) - used, "%szone %s over its limits",
				 i ? ", " : "", zone ? zone : "");
		else if (!strcmp(al->name, "disk_high"))
			snprintf(alarms + used, sizeof(alarms) - used, "%sdisk of %s over its marks",
				 i ? ", " : "", mount ? mount : "");
		else if (!strcmp(al->name, "archive_full"))
			snprintf(alarms + used, sizeof(alarms) - used, "%sarchive %s full",
				 i ? ", " : "", d->cfg->archive_path);
		else if (!strcmp(al->name, "watch_limit"))
			snprintf(alarms + used, sizeof(alarms) - used,
				 "%sinotify watch limit reached", i ? ", " : "");
		else if (!strcmp(al->name, "rotate_blocked"))
			snprintf(alarms + used, sizeof(alarms) - used,
				 "%srotation of %s blocked by pid %s (%s)", i ? ", " : "",
				 path ? path : "", alarms_label(al, "pid"), alarms_label(al, "comm"));
		else
			snprintf(alarms + used, sizeof(alarms) - used, "%s%s", i ? ", " : "", al->name);
	}
	snprintf(raw, sizeof(raw), "%zu zones, %llu files, %s; %s%s%s%s", d->cfg->n_zones,
		 (unsigned long long)files, units_format_size(bytes, sz, sizeof(sz)),
		 d->paused ? "paused; " : "", d->dry_run ? "dry run; " : "", n ? "alarms: " : "no alarms",
		 alarms);
	pathenc_escape_to(raw, buf, len);
}

void daemon_notify_status(struct daemon *d, bool ready)
{
	char line[700], msg[800];

	status_line(d, line, sizeof(line));
	if (!ready && !strcmp(line, d->status_sent))
		return;
	snprintf(d->status_sent, sizeof(d->status_sent), "%s", line);
	snprintf(msg, sizeof(msg), "%sSTATUS=%s", ready ? "READY=1\n" : "", line);
	notify_send(msg);
}

/*
 * A reload: the new configuration read (reload_read), then handed to each
 * part in turn (the watcher first: the only step that can still refuse it,
 * with nothing changed), then its reply (reload_taken).
 */
char *daemon_reload(struct daemon *d)
{
	struct config *old = d->cfg;
	struct reload rl;
	json_object *ch;
	int r;

	notify_reloading();
	r = reload_read(old, &rl);
	/* What happened under the old configuration is taken in under it. */
	if (r == 0)
		watch_drain(d->watch);
	if (r < 0 || watch_reconfigure(d->watch, rl.cfg, rl.old_of_new) < 0) {
		daemon_notify_status(d, true);
		return reload_refused(&rl);
	}
	/* Waiting reservations name zones by their old places. */
	reserve_end(d->reserve, "the configuration was reloaded");
	d->cfg = rl.cfg;
	reserve_set_config(d->reserve, rl.cfg);
	history_set_config(d->history, rl.cfg);
	if (sweep_reconfigure(d->sweep, rl.cfg, rl.old_of_new) < 0) {
		/* The watcher runs the new zones already: there is no going back. */
		log_err("reload: out of memory; stopping so that systemd starts sweepd again");
		ev_break(d->loop, EVBREAK_ALL);
	}
	rotate_reconfigure(d->rotate, rl.cfg);
	/* Later runs only: the alarms already sent are not sent again for a reload. */
	if (alert_configure(d->alert, rl.cfg->alert_command, rl.cfg->alert_repeat) < 0)
		log_err("reload: out of memory: alert_command keeps its old value");
	if (d->archive)
		archive_set_config(d->archive, rl.cfg);
	if (d->archive && !rl.cfg->remote && archive_remote_entries(d->archive)->live)
		log_warn("reload: archive.remote is gone, and %zu archived file(s) are in the "
			 "bucket: sweepd restores none of them until it is configured again",
			 archive_remote_entries(d->archive)->live);
	daemon_apply_socket(d);
	daemon_apply_http(d);
	ch = reload_changes(old, &rl);
	config_free(old);
	/* New limits apply at once. */
	daemon_settle(d);
	daemon_notify_status(d, true);
	return reload_taken(&rl, ch);
}

/* Owner, group, mode and client limits of the socket, from the config. */
void daemon_apply_socket(struct daemon *d)
{
	const struct config *cfg = d->cfg;
	const char *group = cfg->socket_group ? cfg->socket_group : cfg->admin_group;
	struct group *admins = cfg->admin_group ? getgrnam(cfg->admin_group) : NULL;
	struct passwd *pw;
	struct group *gr;
	int r;

	/* getgrnam's answer is overwritten by the next call: the admins' id first. */
	d->admin_gid_known = admins != NULL;
	d->admin_gid = admins ? admins->gr_gid : (gid_t)-1;
	pw = cfg->socket_owner ? getpwnam(cfg->socket_owner) : NULL;
	gr = group ? getgrnam(group) : NULL;
	control_set_limits(d->control,
			   &(struct control_limits){.idle_timeout = (double)cfg->idle_timeout,
						    .max_clients = (size_t)cfg->max_clients,
						    .per_user = (size_t)cfg->max_clients_per_user,
						    .admin_reserve = (size_t)cfg->admin_reserve});
	r = control_set_access(d->control, cfg->socket_mode, pw ? pw->pw_uid : (uid_t)-1,
			       gr ? gr->gr_gid : (gid_t)-1);
	if (r < 0 || (cfg->socket_owner && !pw) || (group && !gr))
		log_warn("socket %s: cannot give it owner %s, group %s, mode %04o: %s",
			 cfg->socket_path, cfg->socket_owner ? cfg->socket_owner : "(unchanged)",
			 group ? group : "(unchanged)", cfg->socket_mode,
			 r < 0 ? strerror(-r) : "no such user or group");
}

/*
 * What opening the archive found, each said only when it happened: a crash
 * recovered from, an index rebuilt from the tree, entries dropped for files
 * sweepd cannot show are its own, and what is left alone as someone else's.
 */
static void log_archive_report(const char *path, const struct archive_report *rep)
{
	if (rep->recovered)
		log_warn("archive %s: recovered after a crash: %llu half-done move(s) undone", path,
			 (unsigned long long)rep->recovered);
	if (rep->dropped || rep->found)
		log_warn("archive %s: index brought back in step with the tree: %llu entr(ies) "
			 "without a file dropped, %llu file(s) of sweepd's own indexed again",
			 path, (unsigned long long)rep->dropped, (unsigned long long)rep->found);
	if (rep->disowned)
		log_warn("archive %s: %llu index entr(ies) dropped: their files carry no mark of "
			 "sweepd's, so it cannot show it put them there; the files are left alone",
			 path, (unsigned long long)rep->disowned);
	if (rep->foreign || rep->foreign_dirs)
		log_info("archive %s: %llu file(s) and %llu director(ies) there are not sweepd's: "
			 "left alone, never indexed, purged or counted",
			 path, (unsigned long long)rep->foreign, (unsigned long long)rep->foreign_dirs);
	if (rep->no_marks && rep->shared)
		log_warn("archive %s: its filesystem keeps no extended attributes and the directory "
			 "held other files when sweepd first used it: sweepd knows its own files by "
			 "state_dir/archive.idx alone, and a lost index leaves them unindexed (never "
			 "deleted); give sweepd an empty directory of its own",
			 path);
}

/*
 * The bucket at start: unfinished multipart uploads a stop left, aborted;
 * and when state_dir held no index, the entries in the bucket indexed again.
 */
static void remote_start(struct mover *m, struct archive *a, const struct remote_config *rc,
			 bool no_index)
{
	struct mover_job *j = remote_leftovers_job(rc);

	if (j)
		mover_submit(m, j);
	if (no_index && (j = remote_rebuild_job(a, rc)))
		mover_submit(m, j);
}

/*
 * Belt and braces after the configuration's checks: the archive and state_dir
 * as they now are on disk (links resolved) must lie in no zone, or sweepd would
 * sweep its own archive into itself, forever. -ELOOP (said) when one does.
 */
static int refuse_own_in_zone(const struct daemon *d, const char *what, const char *path)
{
	char *real = path ? realpath(path, NULL) : NULL;
	int r = 0;

	for (size_t i = 0; real && !r && i < d->cfg->n_zones; i++) {
		const char *zp = d->cfg->zones[i].path;
		char *zr = zp ? realpath(zp, NULL) : NULL;

		if (zr && config_path_within(real, zr)) {
			log_err("cannot start: the %s %s is %s, inside zone \"%s\" (%s): sweepd would "
				"sweep its own %s; put it outside every zone",
				what, path, real, d->cfg->zones[i].name, zr, what);
			r = -ELOOP;
		}
		free(zr);
	}
	free(real);
	return r;
}

int daemon_start(struct daemon *d)
{
	struct engine_parts parts;
	uint64_t wd;
	bool no_index = false;
	int r;

	d->started = (int64_t)time(NULL);
	d->alarms = alarms_create();
	d->table = d->alarms ? table_create(d->cfg->n_zones) : NULL;
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
	d->sighup.data = d;
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
		log_archive_report(d->cfg->archive_path, &rep);
		no_index = rep.no_index;
	}
	r = refuse_own_in_zone(d, "archive", d->cfg->archive_path);
	if (!r)
		r = refuse_own_in_zone(d, "state_dir", d->cfg->state_dir);
	if (r < 0)
		return r;
	r = watch_start(d->watch);
	if (r < 0)
		return r;
	d->mover = mover_create(d->loop);
	if (!d->mover) {
		log_err("cannot start the mover's threads: %s", strerror(errno));
		return -ENOMEM;
	}
	if (d->cfg->remote && d->archive && !d->dry_run)
		remote_start(d->mover, d->archive, d->cfg->remote, no_index);
	d->settle = settle_create(d->loop, d->mover, settle_act, d);
	if (!d->settle)
		return -ENOMEM;
	mover_on_idle(d->mover, settle_on_idle, d->settle);
	/* The engine gets its parts, not the daemon (engine.h). */
	parts = (struct engine_parts){ .loop = d->loop, .cfg = d->cfg, .table = d->table,
				       .watch = d->watch, .archive = d->archive, .mover = d->mover,
				       .audit = d->audit, .counters = &d->counters,
				       .paused = &d->paused, .dry_run = d->dry_run };
	d->sweep = sweep_create(&parts);
	d->rotate = d->sweep ? rotate_create(&parts) : NULL;
	d->reserve = d->rotate ? reserve_create(d->loop, d->cfg, d->table, d->watch, d->sweep,
						d->dry_run)
			       : NULL;
	if (!d->reserve) {
		log_err("cannot start: out of memory");
		return -ENOMEM;
	}
	/* A log put off while a job was on it goes once the file is free. */
	mover_on_free(d->mover, rotate_file_free, d->rotate);
	watch_set_batch_hook(d->watch, on_batch, d);
	d->history = history_open(d->loop, d->cfg, d->table);
	d->alert = alert_create(d->loop, &d->counters);
	if (!d->alert || alert_configure(d->alert, d->cfg->alert_command, d->cfg->alert_repeat) < 0) {
		log_err("cannot start: out of memory");
		return -ENOMEM;
	}
	d->control = control_create(d->loop, d->cfg->socket_path, d->cfg->socket_mode, d->handler,
				    d->is_admin, d);
	if (!d->control) {
		r = -errno;
		log_err("cannot listen on %s: %s", d->cfg->socket_path,
			errno == EADDRINUSE ? "another sweepd is already answering there"
			: errno == EEXIST ? "something that is not a socket is in the way"
					  : strerror(errno));
		return r;
	}
	daemon_apply_socket(d);
	r = daemon_apply_http(d);
	if (r < 0)
		return r;
	ev_timer_init(&d->housekeeping, on_housekeeping, HOUSEKEEPING_S, HOUSEKEEPING_S);
	d->housekeeping.data = d;
	ev_timer_start(d->loop, &d->housekeeping);
	d->housekeeping_at = ev_now(d->loop);
	wd = notify_watchdog_init();
	if (wd) {
		/* Twice per interval, as sd_watchdog_enabled(3) advises. */
		ev_timer_init(&d->watchdog, on_watchdog, 0, (double)wd / 2e6);
		d->watchdog.data = d;
		ev_timer_again(d->loop, &d->watchdog);
		notify_watchdog_kick();
	}

	daemon_alarms_update(d);
	daemon_notify_status(d, true);
	log_info("ready: %s; listening on %s%s", d->status_sent, d->cfg->socket_path,
		 d->dry_run ? " (dry run)" : "");
	/* What was due while we were not running. */
	sweep_housekeeping(d->sweep);
	rotate_housekeeping(d->rotate);
	write_metrics_file(d);
	return 0;
}

void daemon_stop(struct daemon *d)
{
	if (d->loop) {
		ev_signal_stop(d->loop, &d->sigterm);
		ev_signal_stop(d->loop, &d->sigint);
		ev_signal_stop(d->loop, &d->sighup);
		ev_timer_stop(d->loop, &d->housekeeping);
		ev_timer_stop(d->loop, &d->watchdog);
		ev_timer_stop(d->loop, &d->http_move);
	}
	/* No run starts while stopping: those going get SIGTERM (alert.h). */
	alert_destroy(d->alert);
	d->alert = NULL;
	/* First: the running jobs stop (undone) and every result is applied while all is here. */
	mover_destroy(d->mover);
	d->mover = NULL;
	settle_destroy(d->settle);
	d->settle = NULL;
	reserve_destroy(d->reserve); /* its clients told sweepd is stopping */
	d->reserve = NULL;
	rotate_stopping(d->rotate); /* the rotate requests waiting for a prerotate answered */
	http_destroy(d->http);
	d->http = NULL;
	control_destroy(d->control);
	history_close(d->history);
	d->history = NULL;
	if (d->watch)
		watch_set_batch_hook(d->watch, NULL, NULL);
	rotate_destroy(d->rotate);
	d->rotate = NULL;
	sweep_destroy(d->sweep);
	archive_close(d->archive);
	audit_close(d->audit);
	watch_destroy(d->watch);
	table_destroy(d->table);
	alarms_destroy(d->alarms);
	d->alarms = NULL;
	d->control = NULL;
	d->sweep = NULL;
	d->archive = NULL;
	d->audit = NULL;
	d->watch = NULL;
	d->table = NULL;
}
