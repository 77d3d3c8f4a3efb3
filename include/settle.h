#ifndef SWEEPD_SETTLE_H
#define SWEEPD_SETTLE_H

/*
 * settle: answers once every change made before it has been taken in and
 * acted on, the mover's jobs included (and what their results made due).
 * Given the mover and what "taken in and acted on" is (act), not the daemon.
 */
struct answer_sink;
struct ev_loop;
struct mover;
struct settle;

/* NULL when out of memory. act(ud) takes in what is pending and acts on what is due. */
struct settle *settle_create(struct ev_loop *loop, struct mover *m, void (*act)(void *ud),
			     void *ud);
/* Every waiter answered (the daemon stops; the mover stopped first), then freed. */
void settle_destroy(struct settle *s);

/* act, then the reply now, or control_later: answered once the mover is idle. */
char *settle_request(struct settle *s, struct answer_sink *client);
/*
 * reply (NULL: ok) now, or, while the mover has jobs, kept and sent once they
 * are in, or after limit seconds (> 0) whether they are or not.
 */
char *settle_after_jobs(struct settle *s, struct answer_sink *client, char *reply,
			double limit);
/* For mover_on_idle: one more act, and the waiters answered if the mover stays idle. */
void settle_on_idle(void *settle);

#endif
