#include "http_conn.h"

#include <microhttpd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>

struct conn {
	struct conn *next, *prev;
	int fd;
	ev_tstamp since; /* when it connected or its last answer went */
	bool reading;	 /* a request is coming in */
};

struct http_conns {
	struct ev_loop *loop;
	struct conn *all;
	ev_timer tick;
	ev_tstamp last_tick;
};

static void on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct http_conns *c = w->data;
	ev_tstamp now = ev_now(loop), stalled = now - c->last_tick - 1;

	(void)revents;
	c->last_tick = now;
	/*
	 * A loop that could not turn for a while (a rescan of a large tree)
	 * read nobody's bytes meanwhile: that time is not the clients'. This
	 * timer runs before the reads of the same turn, so it is taken off.
	 */
	if (stalled > 0.5)
		for (struct conn *k = c->all; k; k = k->next)
			k->since += stalled;
	for (struct conn *k = c->all; k; k = k->next)
		if (k->reading && now - k->since > HTTP_REQUEST_S && k->fd >= 0) {
			/* libmicrohttpd sees the end of the stream and closes it itself. */
			shutdown(k->fd, SHUT_RDWR);
			k->fd = -1;
		}
	if (!c->all)
		ev_timer_stop(loop, &c->tick);
}

struct http_conns *http_conns_create(struct ev_loop *loop)
{
	struct http_conns *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->loop = loop;
	ev_timer_init(&c->tick, on_tick, 1, 1);
	c->tick.data = c;
	return c;
}

void http_conns_destroy(struct http_conns *c)
{
	if (!c)
		return;
	ev_timer_stop(c->loop, &c->tick);
	while (c->all)
		http_conn_remove(c, c->all);
	free(c);
}

void *http_conn_add(struct http_conns *c, struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct conn *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	k->fd = info ? info->connect_fd : -1;
	k->since = ev_now(c->loop);
	k->reading = true;
	k->next = c->all;
	if (c->all)
		c->all->prev = k;
	c->all = k;
	if (!ev_is_active(&c->tick)) {
		c->last_tick = ev_now(c->loop);
		ev_timer_again(c->loop, &c->tick);
	}
	return k;
}

void http_conn_remove(struct http_conns *c, void *ctx)
{
	struct conn *k = ctx;

	if (!k)
		return;
	if (k->prev)
		k->prev->next = k->next;
	else
		c->all = k->next;
	if (k->next)
		k->next->prev = k->prev;
	free(k);
}

static struct conn *conn_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return info ? info->socket_context : NULL;
}

void http_conn_request_read(struct http_conns *c, struct MHD_Connection *conn)
{
	struct conn *k = conn_of(conn);

	(void)c;
	if (k)
		k->reading = false;
}

void http_conn_request_done(struct http_conns *c, struct MHD_Connection *conn)
{
	struct conn *k = conn_of(conn);

	if (k) {
		k->reading = true;
		k->since = ev_now(c->loop);
	}
}
