#ifndef SWEEPD_REPLY_H
#define SWEEPD_REPLY_H

#include <stddef.h>

struct archive;
struct request;
struct sweep_run;
struct table;
struct zone_config;

/*
 * Reply lines of the socket protocol, each a malloc'd JSON object with its
 * trailing newline, or NULL when out of memory. Each is made of what it is
 * given; the status, which reads every part of the daemon, is reply_status.
 */
struct json_object;

/* The object as a line; takes o. */
char *reply_object(struct json_object *o);
char *reply_error(const char *msg);
char *reply_ok(void);
/* {"text": ...}; takes text (NULL: out of memory). */
char *reply_metrics(char *text);
/* top, for zone (zc, its config; an index into the table's zones). */
char *reply_top(struct table *t, const struct zone_config *zc, size_t zone,
		const struct request *req);

/* A sweep's actions (the reply takes run->actions). */
char *reply_actions(struct sweep_run *run);
/* A change refused while paused (_dry: for a command that has a dry run). */
char *reply_paused(void);
char *reply_paused_dry(void);
/* The rotate command: its actions, and ok false with every failure when any failed. */
char *reply_rotated(struct sweep_run *run, struct json_object *errors);
char *reply_purged(struct sweep_run *run);
char *reply_restored(const char *where);
/* The archive's entries (none when a is NULL), oldest first; of one zone when zone is not NULL. */
char *reply_archive(struct archive *a, const char *zone);

#endif
