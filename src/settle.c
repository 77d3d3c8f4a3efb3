#include "settle.h"

#include <ev.h>
#include <stdlib.h>

#include "control.h"
#include "mover.h"
#include "reply.h"

struct settle_wait {
	struct answer_sink *client;
	char *reply; /* NULL: ok */
	struct settle_wait *next;
	struct settle *s;
	ev_timer limit; /* active: answered by then, jobs in or not */
};

struct settle {
	struct ev_loop *loop;
	struct mover *mover;
	void (*act)(void *ud);
	void *ud;
	struct settle_wait *waits;
};

struct settle *settle_create(struct ev_loop *loop, struct mover *m, void (*act)(void *ud),
			     void *ud)
{
	struct settle *s = calloc(1, sizeof(*s));

	if (s)
		*s = (struct settle){ loop, m, act, ud, NULL };
	return s;
}

static void answer(struct settle *s, struct settle_wait *w)
{
	ev_timer_stop(s->loop, &w->limit);
	control_answer(w->client, w->reply ? w->reply : reply_ok());
	free(w);
}

static void on_limit(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct settle_wait *w = t->data, **p;

	(void)loop;
	(void)revents;
	for (p = &w->s->waits; *p && *p != w; p = &(*p)->next)
		;
	if (*p)
		*p = w->next;
	answer(w->s, w);
}

char *settle_after_jobs(struct settle *s, struct answer_sink *client, char *reply,
			double limit)
{
	struct settle_wait *w;

	if (!mover_pending(s->mover))
		return reply ? reply : reply_ok();
	w = calloc(1, sizeof(*w));
	if (!w)
		return reply ? reply : reply_ok(); /* out of memory: at once, as before the mover */
	w->client = client;
	w->reply = reply;
	w->s = s;
	ev_timer_init(&w->limit, on_limit, limit, 0.);
	w->limit.data = w;
	if (limit > 0)
		ev_timer_start(s->loop, &w->limit);
	w->next = s->waits;
	s->waits = w;
	return control_later;
}

char *settle_request(struct settle *s, struct answer_sink *client)
{
	s->act(s->ud);
	return settle_after_jobs(s, client, NULL, 0);
}

static void answer_all(struct settle *s)
{
	while (s->waits) {
		struct settle_wait *w = s->waits;

		s->waits = w->next;
		answer(s, w);
	}
}

void settle_on_idle(void *settle)
{
	struct settle *s = settle;

	if (!s->waits)
		return;
	/* The results' own events in, and what they made due acted on: more jobs, maybe. */
	s->act(s->ud);
	if (!mover_pending(s->mover))
		answer_all(s);
}

void settle_destroy(struct settle *s)
{
	if (!s)
		return;
	answer_all(s);
	free(s);
}
