#ifndef SWEEPD_RESERVE_H
#define SWEEPD_RESERVE_H

#include <stdbool.h>

struct config;
struct answer_sink;
struct ev_loop;
struct json_object;
struct request;
struct sweep;
struct table;
struct watch;

/*
 * reserve: room for N more bytes in a zone, within its max_size (and room
 * for one more file within max_files) and under the disk's high mark,
 * sweeping what the zone's rules allow. With a timeout, it looks again every
 * second until the room is there or the time is up; the client waits.
 */
struct reserve;

/* What reservations work with; NULL when out of memory. */
struct reserve *reserve_create(struct ev_loop *loop, const struct config *cfg, struct table *t,
			       struct watch *w, struct sweep *s, bool dry_run);
/* Every waiting client is told sweepd is stopping. */
void reserve_destroy(struct reserve *res);
/* After a reload (the waiting clients answered first: reserve_end). */
void reserve_set_config(struct reserve *res, const struct config *cfg);
/* Paused: a new request is refused; a waiting one sweeps nothing more until resumed. */
void reserve_pause(struct reserve *res, bool paused);

/*
 * A reserve request for zone (an index into the config's zones): the reply
 * now, or control_later and the answer through control_answer(client).
 */
char *reserve_request(struct reserve *res, const struct request *req,
		      struct answer_sink *client, int zone);
/* The reservations waiting for room: [{zone, bytes, missing, why, until}]. */
struct json_object *reserve_json(struct reserve *res);
/* At stop or reload: every waiting client gets an error that says why. */
void reserve_end(struct reserve *res, const char *why);

#endif
