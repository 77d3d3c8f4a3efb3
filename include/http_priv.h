#ifndef SWEEPD_HTTP_PRIV_H
#define SWEEPD_HTTP_PRIV_H

#include <ev.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"

/*
 * What http.c (the server: connections, libmicrohttpd on the loop) and
 * http_answer.c (what each request gets: who asks, the route, the
 * handler's reply) share.
 */

struct http {
	struct ev_loop *loop;
	struct MHD_Daemon *mhd;
	ev_io io;
	ev_timer timer;
	struct http_hooks hooks;
	struct http_auth *auth;
	struct http_conns *conns;
	bool tls, loopback, read_auth;
	char *listen, *cert_pem, *key_pem; /* what it was made with */
	struct http_req *suspended; /* waiting for a password's check or a later answer */
	uint64_t bad_passwords, bad_unsaid; /* wrong passwords: since the start, not logged yet */
	ev_tstamp bad_said_at;
	ev_timer bad_timer;	       /* the minute's rest said at its end */
	char bad_user[65], bad_addr[46]; /* the last wrong one's */
	size_t held_bytes; /* of replies made and not yet sent whole */
};

/*
 * Replies waiting to be read may hold this much in all: beyond, a request is
 * answered 503 before its reply is made (an archive of 20,000 files lists in
 * 10 MB; a client that asks for it on hundreds of connections and reads
 * nothing would otherwise hold gigabytes).
 */
#define HTTP_HELD_MAX (64 * 1024 * 1024)

/* Where a later answer goes; outlives its request when the client goes first. */
struct http_wait {
	struct answer_sink sink;
	struct http_req *req; /* NULL: gone, nobody to tell */
};

enum req_state { REQ_READING, REQ_CHECKING, REQ_WAITING, REQ_ANSWERED };

struct http_req {
	struct http *h;
	struct MHD_Connection *conn;
	struct http_req *next, *prev; /* among the suspended */
	enum req_state state;
	bool post, too_big, suspended, http11;
	char *url, *cmd;
	char *body;
	size_t body_len;
	char *user;	 /* given with a right password */
	bool bad_password; /* a user was given, with a wrong password */
	struct http_wait *wait;
	/* The answer */
	unsigned code;
	char *reply;
	const char *type;
	bool challenge;	   /* 401 with WWW-Authenticate */
	const char *allow; /* with a 405: the methods that are answered */
};

extern const char http_type_json[];

/* The request waits (a password's check, a later answer): MHD calls it again once resumed. */
void http_suspend(struct http_req *r);
void http_resume(struct http_req *r);
/* The answer: body (malloc'd, taken) with its status code and type. */
void http_answer(struct http_req *r, unsigned code, char *body, const char *type);
/* An error reply line saying msg. */
void http_answer_error(struct http_req *r, unsigned code, const char *msg);
/* A wrong password given by user over conn: counted, and said in the log a few times a minute. */
void http_bad_password(struct http *h, struct MHD_Connection *conn, const char *user);
/* A key of the client's address (not its port): whose password checks wait. */
uint64_t http_client_key(struct MHD_Connection *conn);
/* A request read whole: who asks is found out, then what it gets (now, or after a resume). */
void http_identify(struct http_req *r);

#endif
