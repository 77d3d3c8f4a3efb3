#ifndef SWEEPD_REPLY_STATUS_H
#define SWEEPD_REPLY_STATUS_H

#include <stdbool.h>
#include <stdint.h>

struct alarms;
struct archive;
struct config;
struct counters;
struct history;
struct json_object;
struct mover;
struct sweep;
struct table;
struct watch;

/*
 * The status reply: zones, filesystems, the archive, counters, alarms, the
 * mover's jobs and the reservations waiting, read from the parts that hold
 * them. The caller (the daemon) says where each part is.
 */
struct reply_status_view {
	const struct config *cfg;
	struct table *table;
	const struct watch *watch;
	const struct sweep *sweep;
	struct archive *archive;       /* NULL: no archive */
	const struct history *history; /* NULL: no trends */
	struct mover *mover;
	const struct alarms *alarms; /* brought up to date by the caller */
	const struct counters *counters;
	int64_t started; /* Unix s */
	bool paused, dry_run;
	struct json_object *reservations; /* the reservations waiting for room: the status takes it */
};

/* The status reply as an object (metrics are drawn from it); NULL when out of memory. */
struct json_object *reply_status_object(const struct reply_status_view *v);
/* The status reply line. */
char *reply_status(const struct reply_status_view *v);

#endif
