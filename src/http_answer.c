#include "http_priv.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_auth.h"
#include "http_route.h"
#include "reply.h"
#include "request.h"

/*
 * What an HTTP request gets: who asks (a password checked off the loop),
 * then the page, the metrics, or the socket's handler's reply to the
 * request line its URL and body make.
 */

static void deliver(struct answer_sink *to, char *line)
{
	struct http_wait *w = (struct http_wait *)to;
	struct http_req *r = w->req;

	free(w);
	if (!r) {
		free(line);
		return;
	}
	r->wait = NULL;
	http_answer(r, line ? http_route_status(line) : 500, line, http_type_json);
	http_resume(r);
}

/* The socket's handler asked line for r's user; a later answer goes to `to`. */
static char *handle(struct http_req *r, const char *line, struct answer_sink *to)
{
	struct control_peer peer = { .uid = (uid_t)-1, .gid = (gid_t)-1, .http = true,
				     .http_user = r->user, .client = to };

	return r->h->hooks.handler(r->h->hooks.ud, line, strlen(line), &peer);
}

/* The handler's answer to line, now or (suspended) later. */
static void ask(struct http_req *r, const char *line)
{
	char *out;

	r->wait = calloc(1, sizeof(*r->wait));
	if (!r->wait) {
		http_answer_error(r, 500, "out of memory");
		return;
	}
	r->wait->sink.deliver = deliver;
	r->wait->req = r;
	out = handle(r, line, &r->wait->sink);
	if (out == control_later) {
		r->state = REQ_WAITING;
		if (!r->suspended)
			http_suspend(r);
		return;
	}
	free(r->wait);
	r->wait = NULL;
	if (!out)
		http_answer_error(r, 500, "out of memory");
	else
		http_answer(r, http_route_status(out), out, http_type_json);
}

/* /metrics: the socket's metrics reply, its text alone. */
static void metrics(struct http_req *r)
{
	char *out = handle(r, "{\"cmd\":\"metrics\"}", NULL), *text = NULL;
	json_object *o, *t;

	if (!out || out == control_later) { /* never later: metrics are answered at once */
		http_answer_error(r, 500, "out of memory");
		return;
	}
	o = json_tokener_parse(out);
	if (o && json_object_object_get_ex(o, "text", &t))
		text = strdup(json_object_get_string(t));
	json_object_put(o);
	if (text) {
		free(out);
		http_answer(r, 200, text, "text/plain; version=0.0.4; charset=utf-8");
	} else {
		http_answer(r, 500, out, http_type_json);
	}
}

struct query {
	const char *keys[64], *values[64];
	size_t n;
	bool too_many, nul;
};

static enum MHD_Result each_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				size_t key_size, const char *value, size_t value_size)
{
	struct query *q = cls;

	(void)kind;
	/* A %00 would cut the name or value short without a word: refused instead. */
	if (strlen(key) != key_size || (value && strlen(value) != value_size)) {
		q->nul = true;
		return MHD_NO;
	}
	if (q->n == 64) {
		q->too_many = true;
		return MHD_NO;
	}
	q->keys[q->n] = key;
	q->values[q->n++] = value;
	return MHD_YES;
}

static void api(struct http_req *r)
{
	struct http *h = r->h;
	struct request req;
	char err[512], *line = NULL;
	int c = request_cmd_find(r->cmd), e;
	bool admin;

	if (c < 0) {
		snprintf(err, sizeof(err), "no command \"%.100s\": the commands are those of the socket "
					   "protocol (status, top, archive, metrics, sweep, ...)",
			 r->cmd);
		http_answer_error(r, 404, err);
		return;
	}
	if (r->post && r->body && strlen(r->body) != r->body_len) {
		http_answer_error(r, 400, "the body holds a NUL byte");
		return;
	}
	if (r->post) {
		e = http_route_from_body(r->cmd, r->body ? r->body : "", r->body_len, &line, err,
					 sizeof(err));
	} else {
		struct query q = { .n = 0 };

		MHD_get_connection_values_n(r->conn, MHD_GET_ARGUMENT_KIND, each_arg, &q);
		if (q.too_many || q.nul) {
			http_answer_error(r, 400, q.nul ? "a query parameter holds a NUL byte (%00)"
							: "more than 64 query parameters");
			return;
		}
		e = http_route_from_query(r->cmd, q.keys, q.values, q.n, &line, err, sizeof(err));
	}
	if (e == -ENOMEM) {
		http_answer_error(r, 500, "out of memory");
		return;
	}
	if (e < 0) {
		http_answer_error(r, 400, err);
		return;
	}
	/* Read here only to know who may ask it; the handler reads it again. */
	if (request_parse(line, strlen(line), &req, err, sizeof(err)) < 0) {
		http_answer_error(r, 400, err);
		free(line);
		return;
	}
	admin = request_needs_admin(&req);
	request_clear(&req);
	if (admin && !r->post) {
		r->allow = "POST";
		http_answer_error(r, 405, "this command changes things: send it with POST, its arguments "
				     "as a JSON object in the body");
	} else if (admin && !http_auth_has_users(h->auth)) {
		http_answer_error(r, 403, "commands that change things need a user of "
				     "http.basic_auth_users, and none is configured; use sweepctl "
				     "on the server, or add a user");
	} else if (admin && !r->user) {
		r->challenge = true;
		http_answer_error(r, 401, "this command changes things: give a user and password of "
				     "http.basic_auth_users");
	} else if (admin && !h->tls && !h->loopback) {
		http_answer_error(r, 403, "commands that change things are refused over plain HTTP on a "
				     "network address: configure http.tls, or listen on 127.0.0.1");
	} else if (r->post && !http_route_origin_ok(
				      MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Origin"),
				      MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Host"),
				      h->tls)) {
		http_answer_error(r, 403, "refused: sent by a page of another site (its Origin is not "
				     "this server)");
	} else {
		ask(r, line);
	}
	free(line);
}

/* What the request gets, once who asks is known (r->user, r->bad_password). */
static void decide(struct http_req *r)
{
	struct http *h = r->h;
	enum http_target t;
	const char *cmd;
	char *page;

	t = http_route_target(r->url, &cmd);
	if (r->http11 && !MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Host")) {
		http_answer_error(r, 400, "an HTTP/1.1 request needs a Host header");
		return;
	}
	if (h->loopback &&
	    !http_route_host_ok(MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Host"))) {
		http_answer_error(r, 421, "this server answers to its address or localhost only (the Host "
				     "header names another)");
		return;
	}
	if (r->bad_password) {
		r->challenge = true;
		http_answer_error(r, 401, "wrong user or password");
		return;
	}
	if (h->read_auth && !r->user && t != HTTP_UNKNOWN) {
		r->challenge = true;
		http_answer_error(r, 401, "reading needs a user too here (http.read_auth)");
		return;
	}
	if (h->held_bytes >= HTTP_HELD_MAX) {
		r->allow = NULL;
		http_answer_error(r, 503, "too many large answers are waiting to be read: try again");
		return;
	}
	if (t != HTTP_API && r->post) {
		r->allow = "GET, HEAD";
		http_answer_error(r, 405, "only GET here");
		return;
	}
	switch (t) {
	case HTTP_LOGIN:
		if (!http_auth_has_users(h->auth)) {
			http_answer_error(r, 403, "no user is configured (http.basic_auth_users)");
			break;
		}
		if (!r->user) {
			r->challenge = true;
			http_answer_error(r, 401, "log in with a user of http.basic_auth_users");
			break;
		}
		/*
		 * The page itself, with the buttons: a browser sends the password
		 * again to where it was asked for, and the page's refresh and its
		 * buttons stay under that.
		 */
		/* fall through */
	case HTTP_PAGE:
		page = h->hooks.page ? h->hooks.page(h->hooks.ud, r->user) : NULL;
		if (page)
			http_answer(r, 200, page, "text/html; charset=utf-8");
		else
			http_answer_error(r, 500, "the page could not be made (out of memory)");
		break;
	case HTTP_METRICS:
		metrics(r);
		break;
	case HTTP_API:
		free(r->cmd);
		r->cmd = strdup(cmd);
		if (!r->cmd)
			http_answer_error(r, 500, "out of memory");
		else
			api(r);
		break;
	default:
		http_answer_error(r, 404, "not found: the dashboard is /, the metrics /metrics, the API "
				     "/api/v1/COMMAND");
	}
}

static void checked(void *ud, bool ok)
{
	struct http_req *r = ud;

	if (!ok) {
		http_bad_password(r->h, r->conn, r->user);
		free(r->user);
		r->user = NULL;
		r->bad_password = true;
	}
	decide(r);
	if (r->state == REQ_ANSWERED)
		http_resume(r);
}

/* Who asks: a right password is checked off the loop (http_auth.c). */
void http_identify(struct http_req *r)
{
	char *password = NULL, *user = MHD_basic_auth_get_username_password(r->conn, &password);
	int e;

	if (!user) {
		if (password)
			MHD_free(password);
		decide(r);
		return;
	}
	r->user = strdup(user);
	e = r->user ? http_auth_check(r->h->auth, user, password ? password : "",
					  http_client_key(r->conn), checked, r)
		    : -ENOMEM;
	MHD_free(user);
	if (password) {
		explicit_bzero(password, strlen(password));
		MHD_free(password);
	}
	if (e == 1) {
		decide(r);
	} else if (e == 0) {
		r->state = REQ_CHECKING;
		http_suspend(r);
	} else if (e == -EAGAIN) {
		free(r->user);
		r->user = NULL;
		http_answer_error(r, 503, "too many passwords are being checked at once: try again");
	} else {
		http_answer_error(r, 500, "out of memory");
	}
}

