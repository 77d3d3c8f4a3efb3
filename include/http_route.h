#ifndef SWEEPD_HTTP_ROUTE_H
#define SWEEPD_HTTP_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * What an HTTP request asks, read off its method, URL, query and body, and
 * the status code its reply earns. Pure: http.c does the talking.
 */

enum http_target {
	HTTP_PAGE,    /* GET /: the dashboard */
	HTTP_LOGIN,   /* GET /login: a 401 challenge until a user is given, then the page */
	HTTP_METRICS, /* GET /metrics */
	HTTP_API,     /* /api/v1/CMD */
	HTTP_UNKNOWN,
};

/* The target of url (a path, without its query); for HTTP_API, *cmd points at CMD in url. */
enum http_target http_route_target(const char *url, const char **cmd);

/*
 * The socket's request line (malloc'd, one JSON object, no newline) for
 * GET /api/v1/CMD?k=v&...: each value a number when it is one (but the
 * names and paths: zone, path, to, by), true or false, else a string.
 * 0, or -EINVAL with a sentence in err.
 */
int http_route_from_query(const char *cmd, const char *const *keys, const char *const *values,
			  size_t n, char **line, char *err, size_t errlen);
/* The same for POST: body is the request's JSON object; its cmd, if any, must be CMD. */
int http_route_from_body(const char *cmd, const char *body, size_t len, char **line, char *err,
			 size_t errlen);

/* 200 when the reply line says "ok": true, else 400. */
unsigned http_route_status(const char *reply);

/*
 * May a request that changes things come from this page? A browser names
 * the page in Origin: it must be this server's own (Host), so that another
 * site open in the same browser cannot use a logged-in user's password
 * (its scheme too: https with tls, else http). No Origin (curl, a
 * scheduler): yes.
 */
bool http_route_origin_ok(const char *origin, const char *host, bool tls);

/*
 * Is host (the Host header) one a server listening on loopback answers? An
 * IP address or localhost, with any port: a page of another site whose
 * name was made to resolve to 127.0.0.1 (DNS rebinding) sends its own name
 * and is refused. NULL (HTTP/1.0 without Host): yes.
 */
bool http_route_host_ok(const char *host);

#endif
