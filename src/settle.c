#include "settle.h"

#include <stdlib.h>

#include "control.h"
#include "daemon.h"
#include "mover.h"
#include "reply.h"

struct settle_wait {
	struct control_client *client;
	struct settle_wait *next;
};

char *settle_request(struct daemon *d, struct control_client *client)
{
	struct settle_wait *w;

	daemon_settle(d);
	if (!mover_pending(d->mover))
		return reply_ok();
	w = calloc(1, sizeof(*w));
	if (!w)
		return reply_error("out of memory");
	w->client = client;
	w->next = d->settles;
	d->settles = w;
	return control_later;
}

static void answer_all(struct daemon *d)
{
	while (d->settles) {
		struct settle_wait *w = d->settles;

		d->settles = w->next;
		control_answer(w->client, reply_ok());
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
