#ifndef SWEEPD_REPLY_H
#define SWEEPD_REPLY_H

#include <stddef.h>

struct daemon;
struct request;
struct sweep_run;

/*
 * Reply lines of the socket protocol, each a malloc'd JSON object with its
 * trailing newline, or NULL when out of memory.
 */
struct json_object;

/* The object as a line; takes o. */
char *reply_object(struct json_object *o);
char *reply_error(const char *msg);
char *reply_ok(void);
/* {"text": ...}; takes text (NULL: out of memory). */
char *reply_metrics(char *text);
char *reply_status(struct daemon *d);
/* The status reply as an object (metrics are drawn from it); NULL when out of memory. */
struct json_object *reply_status_object(struct daemon *d);
/* top, for the zone (an index into the config's zones). */
char *reply_top(struct daemon *d, size_t zone, const struct request *req);

/* A sweep's actions (the reply takes run->actions). */
char *reply_actions(struct sweep_run *run);
/* A change refused while paused (_dry: for a command that has a dry run). */
char *reply_paused(void);
char *reply_paused_dry(void);
/* The rotate command: its actions, and ok false with every failure when any failed. */
char *reply_rotated(struct sweep_run *run, struct json_object *errors);
char *reply_purged(struct sweep_run *run);
char *reply_restored(const char *where);
/* The archive's entries, oldest first; of one zone when zone is not NULL. */
char *reply_archive(struct daemon *d, const char *zone);

#endif
