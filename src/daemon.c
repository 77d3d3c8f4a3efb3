#include "daemon.h"

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "log.h"
#include "notify.h"
#include "reply.h"
#include "request.h"
#include "table.h"
#include "units.h"
#include "watch.h"

#define HOUSEKEEPING_S 30.0

void daemon_settle(struct daemon *d)
{
	watch_drain(d->watch);
	watch_poll_unwatched(d->watch);
	watch_drain(d->watch);
}

static char *not_yet(enum request_cmd cmd)
{
	char msg[256];

	snprintf(msg, sizeof(msg),
		 "\"%s\" is not implemented yet in this version of sweepd; status, settle and "
		 "top are",
		 request_cmd_name(cmd));
	return reply_error(msg);
}

/* The socket's handler: one request line in, one reply line out. */
static char *daemon_request(void *ud, const char *line, size_t len,
			    const struct control_peer *peer)
{
	struct daemon *d = ud;
	struct request req;
	char err[512], *out;

	(void)peer;
	if (request_parse(line, len, &req, err, sizeof(err)) < 0)
		return reply_error(err);
	switch (req.cmd) {
	case REQ_STATUS:
		out = reply_status(d);
		break;
	case REQ_SETTLE:
		daemon_settle(d);
		out = reply_ok();
		break;
	case REQ_TOP:
		out = reply_top(d, &req);
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
 * missing, since neither sends events.
 */
static void on_housekeeping(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct daemon *d = t->data;

	(void)loop;
	(void)revents;
	watch_poll_unwatched(d->watch);
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
	r = watch_start(d->watch);
	if (r < 0)
		return r;
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
	watch_destroy(d->watch);
	table_destroy(d->table);
	d->control = NULL;
	d->watch = NULL;
	d->table = NULL;
}
