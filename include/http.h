#ifndef SWEEPD_HTTP_H
#define SWEEPD_HTTP_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>

#include "control.h"

struct counters;
struct http_config;

/*
 * The HTTP server (config http): the dashboard, /metrics and /api/v1/CMD,
 * served by libmicrohttpd on the daemon's loop (its epoll descriptor watched
 * by an ev_io, its timeout by an ev_timer; no thread of its own). Every API
 * request goes through the socket's handler, so the two never disagree.
 */
struct http;

struct http_hooks {
	control_handler handler; /* the socket's: a request line in, its reply out */
	/* The dashboard page (malloc'd HTML), for user (NULL: nobody logged in); NULL on failure. */
	char *(*page)(void *ud, const char *user);
	void *ud;
	struct counters *counters; /* http_wrong_passwords */
};

/* Listens as cfg says; NULL with a sentence in err. */
struct http *http_create(struct ev_loop *loop, const struct http_config *cfg,
			 const struct http_hooks *hooks, char *err, size_t errlen);
/* After a reload: the users and read_auth of cfg (the address and certificate stay). */
void http_set_config(struct http *h, const struct http_config *cfg);
/* Does h serve as cfg says (its address, certificate and key)? Else it must be made again. */
bool http_serves(const struct http *h, const struct http_config *cfg);
/* Does h listen where cfg says? */
bool http_listens_on(const struct http *h, const struct http_config *cfg);
/* Closes every connection and the listening socket. */
void http_destroy(struct http *h);

#endif
