#ifndef SWEEPD_REPLY_H
#define SWEEPD_REPLY_H

struct daemon;
struct request;

/*
 * Reply lines of the socket protocol, each a malloc'd JSON object with its
 * trailing newline, or NULL when out of memory.
 */
char *reply_error(const char *msg);
char *reply_ok(void);
char *reply_status(struct daemon *d);
/* top; an error reply when the zone is unknown. */
char *reply_top(struct daemon *d, const struct request *req);

#endif
