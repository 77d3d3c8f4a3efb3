#ifndef SWEEPD_DAEMON_H
#define SWEEPD_DAEMON_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "control.h"
#include "counters.h"

struct daemon {
	struct ev_loop *loop;
	struct config *cfg;
	struct table *table;
	struct watch *watch;
	struct control *control;
	/* The socket's request handler and admin check (commands.c's): main sets them. */
	control_handler handler;
	control_admin_check is_admin;
	struct archive *archive; /* NULL when no zone archives */
	struct audit *audit;
	struct sweep *sweep;
	struct rotate *rotate;
	struct mover *mover; /* file work, off the loop */
	struct reserve *reserve; /* clients waiting for room */
	struct settle *settle;	       /* clients waiting for the mover to be idle */
	struct history *history;
	struct alarms *alarms; /* what holds now: daemon_alarms_update */
	struct alert *alert;   /* alert_command's runs for the alarms */
	struct http *http;     /* NULL without config http */
	struct counters counters;
	int64_t started;
	bool dry_run, paused;
	gid_t admin_gid; /* admin_group's, looked up at start and reload */
	bool admin_gid_known;
	ev_signal sigterm, sigint, sighup;
	ev_timer housekeeping, watchdog;
	ev_timer http_move; /* the listener made again after a reload (daemon_apply_http) */
	ev_tstamp housekeeping_at;
	char status_sent[700]; /* the last STATUS= sent to systemd */
	bool metrics_warned;
};

/* Starts watching, scans, opens the socket; returns 0 or -errno (logged). */
int daemon_start(struct daemon *d);
void daemon_stop(struct daemon *d);

/*
 * Reads the config file again: taken whole, or refused whole with every
 * error (file:line), the old one staying. Returns the reply line.
 */
char *daemon_reload(struct daemon *d);
/*
 * The HTTP server as the config says: made (at start), changed, remade on
 * another address or certificate (HTTP_MOVE_DELAY_S later, so that a
 * reload's own answer goes out first), or closed. 0, or -errno when it
 * cannot listen at start (said in the log).
 */
#define HTTP_MOVE_DELAY_S 1.0
int daemon_apply_http(struct daemon *d);
/* Socket owner, group, mode and client limits from the config. */
void daemon_apply_socket(struct daemon *d);

/*
 * Where the status reply reads each part, the alarms brought up to date
 * first (v->reservations is v's to hand on to reply_status).
 */
struct reply_status_view;
void daemon_status_view(struct daemon *d, struct reply_status_view *v);
/* The metrics text (Prometheus exposition format); malloc'd, or NULL. */
char *daemon_metrics(struct daemon *d);

/* Sends STATUS= (with READY=1 when ready) when it changed, or always with ready. */
void daemon_notify_status(struct daemon *d, bool ready);

/*
 * The alarms list, from where each alarm's cause lives (zones over their
 * limits, disks, the archive, blocked rotations): after each pass, and
 * before the status is read.
 */
void daemon_alarms_update(struct daemon *d);

/* Takes in every change made before now: drains inotify, runs due rescans. */
void daemon_settle(struct daemon *d);

#endif
