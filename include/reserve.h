#ifndef SWEEPD_RESERVE_H
#define SWEEPD_RESERVE_H

struct daemon;
struct request;
struct control_peer;

/*
 * reserve: room for N more bytes in a zone, within its max_size (and room
 * for one more file within max_files) and under the disk's high mark,
 * sweeping what the zone's rules allow. With a timeout, it looks again every
 * second until the room is there or the time is up; the client waits.
 */
char *daemon_reserve(struct daemon *d, const struct request *req, const struct control_peer *peer,
		     int zone);
/* The reservations waiting for room: {zone, bytes, missing, why, until}. */
struct json_object *daemon_reserves_json(struct daemon *d);
/* At stop or reload: every waiting client gets an error that says why. */
void daemon_reserves_end(struct daemon *d, const char *why);

#endif
