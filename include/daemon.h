#ifndef SWEEPD_DAEMON_H
#define SWEEPD_DAEMON_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"

struct counters {
	uint64_t events, overflows, rescans, archived, deleted, purged, restored, rotated,
		bytes_freed, errors, blocked;
};

struct daemon {
	struct ev_loop *loop;
	struct config *cfg;
	struct table *table;
	struct watch *watch;
	struct control *control;
	struct archive *archive; /* NULL when no zone archives */
	struct audit *audit;
	struct sweep *sweep;
	struct counters counters;
	int64_t started;
	bool dry_run, paused;
	ev_signal sigterm, sigint, sighup;
	ev_timer housekeeping;
};

/* Starts watching, scans, opens the socket; returns 0 or -errno (logged). */
int daemon_start(struct daemon *d);
void daemon_stop(struct daemon *d);

/* Takes in every change made before now: drains inotify, runs due rescans. */
void daemon_settle(struct daemon *d);

#endif
