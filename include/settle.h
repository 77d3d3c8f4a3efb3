#ifndef SWEEPD_SETTLE_H
#define SWEEPD_SETTLE_H

struct control_client;
struct daemon;

/*
 * settle: answers once every change made before it has been taken in and
 * acted on, the mover's jobs included (and what their results made due).
 */
struct settle_wait;

/* The reply now, or control_later: answered through control_answer when the mover is idle. */
char *settle_request(struct daemon *d, struct control_client *client);
/* reply (NULL: ok) now, or, while the mover has jobs, kept and sent once they are in. */
char *settle_after_jobs(struct daemon *d, struct control_client *client, char *reply);
/* The mover came back to idle: one more settle, and the waiters answered if it stays idle. */
void settle_on_idle(void *daemon);
/* Every waiter answered (the daemon stops). */
void settle_end(struct daemon *d);

#endif
