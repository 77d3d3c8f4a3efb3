#ifndef SWEEPD_HTTP_CONN_H
#define SWEEPD_HTTP_CONN_H

#include <ev.h>

struct MHD_Connection;

/*
 * The HTTP server's connections, each given HTTP_REQUEST_S to send a whole
 * request (headers and body) from when it connects or its last answer went:
 * a client that sends a byte now and then (slowloris) keeps
 * libmicrohttpd's idle timer from ever firing, so this one closes it.
 * What the daemon takes to answer (a settle, a reservation) is not counted.
 */
#define HTTP_REQUEST_S 10

struct http_conns;

struct http_conns *http_conns_create(struct ev_loop *loop);
void http_conns_destroy(struct http_conns *c);
/* A new connection; its socket context (NULL when out of memory: it is never timed). */
void *http_conn_add(struct http_conns *c, struct MHD_Connection *conn);
/* The connection closed (ctx: its socket context). */
void http_conn_remove(struct http_conns *c, void *ctx);
/* Its request is all in: no deadline until the answer has gone. */
void http_conn_request_read(struct http_conns *c, struct MHD_Connection *conn);
/* Its answer went: the next request's time starts. */
void http_conn_request_done(struct http_conns *c, struct MHD_Connection *conn);

#endif
