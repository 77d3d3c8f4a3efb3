#include "settle.h"

#include <stdlib.h>

#include "control.h"
#include "daemon.h"
#include "mover.h"
#include "reply.h"

struct settle_wait {
	struct control_client *client;
	char *reply; /* NULL: ok */
	struct settle_wait *next;
};

char *settle_after_jobs(struct daemon *d, struct control_client *client, char *reply)
{
	struct settle_wait *w;

	if (!mover_pending(d->mover))
		return reply ? reply : reply_ok();
	w = calloc(1, sizeof(*w));
	if (!w)
		return reply ? reply : reply_ok(); /* out of memory: at once, as before the mover */
	w->client = client;
	w->reply = reply;
	w->next = d->settles;
	d->settles = w;
	return control_later;
}

char *settle_request(struct daemon *d, struct control_client *client)
{
	daemon_settle(d);
	return settle_after_jobs(d, client, NULL);
}

static void answer_all(struct daemon *d)
{
	while (d->settles) {
		struct settle_wait *w = d->settles;

		d->settles = w->next;
		control_answer(w->client, w->reply ? w->reply : reply_ok());
		free(w);
	}
}

void settle_on_idle(void *daemon)
{
	struct daemon *d = daemon;

	if (!d->settles)
		return;
	/* The results' own events in, and what they made due acted on: more jobs, maybe. */
	daemon_settle(d);
	if (!mover_pending(d->mover))
		answer_all(d);
}

void settle_end(struct daemon *d)
{
	answer_all(d);
}
