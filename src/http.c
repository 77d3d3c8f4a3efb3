#include "http_priv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "config.h"
#include "counters.h"
#include "http_auth.h"
#include "http_conn.h"
#include "http_route.h"
#include "log.h"
#include "reply.h"
#include "request.h"

/*
 * Limits on what a client controls. The headers and the URL must fit in
 * HTTP_MEMORY (a longer one is answered 414 or 431 by libmicrohttpd); a body
 * in REQUEST_MAX_LINE, as a socket's line; connections are bounded in all
 * (above the 500 idle ones a careless or hostile client may hold, so that
 * others still get in), per address, and in how long one may take to send
 * a whole request (http_conn.c).
 */
#define HTTP_MEMORY (32 * 1024)
#define HTTP_MAX_CONNECTIONS 1024
#define HTTP_PER_IP 768
#define HTTP_IDLE_S 30

const char http_type_json[] = "application/json";

static void on_bad_timer(struct ev_loop *loop, ev_timer *t, int revents);

static void kick(struct http *h)
{
	/* MHD_run at the loop's next turn: what a resume made ready is served. */
	ev_feed_event(h->loop, &h->io, EV_READ);
}

void http_suspend(struct http_req *r)
{
	struct http *h = r->h;

	MHD_suspend_connection(r->conn);
	r->suspended = true;
	r->prev = NULL;
	r->next = h->suspended;
	if (h->suspended)
		h->suspended->prev = r;
	h->suspended = r;
}

/* Off the list of suspended requests. */
static void unlink_suspended(struct http_req *r)
{
	struct http *h = r->h;

	if (r->prev)
		r->prev->next = r->next;
	else
		h->suspended = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->suspended = false;
}

void http_resume(struct http_req *r)
{
	if (!r->suspended)
		return;
	unlink_suspended(r);
	MHD_resume_connection(r->conn);
	kick(r->h);
}

void http_answer(struct http_req *r, unsigned code, char *body, const char *type)
{
	free(r->reply);
	r->code = code;
	r->reply = body;
	r->type = type;
	r->state = REQ_ANSWERED;
}

void http_answer_error(struct http_req *r, unsigned code, const char *msg)
{
	http_answer(r, code, reply_error(msg), http_type_json);
}

/* A reply's body as libmicrohttpd sends it: counted in the bytes held until it is freed. */
struct held {
	struct http *h;
	char *body;
	size_t len;
};

static ssize_t read_held(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct held *b = cls;
	size_t n = b->len - (size_t)pos;

	if (pos >= b->len)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (n > max)
		n = max;
	memcpy(buf, b->body + pos, n);
	return (ssize_t)n;
}

static void free_held(void *cls)
{
	struct held *b = cls;

	b->h->held_bytes -= b->len;
	free(b->body);
	free(b);
}

static enum MHD_Result send_answer(struct http_req *r)
{
	struct MHD_Response *resp = NULL;
	enum MHD_Result ret;
	char *body = r->reply;
	struct held *b = malloc(sizeof(*b));

	r->reply = NULL;
	if (!body)
		body = reply_error("no answer");
	if (b && body) {
		*b = (struct held){ r->h, body, strlen(body) };
		resp = MHD_create_response_from_callback(b->len, 64 * 1024, read_held, b, free_held);
	}
	if (!resp) {
		free(body);
		free(b);
		return MHD_NO;
	}
	r->h->held_bytes += b->len;
	MHD_add_response_header(resp, "Content-Type", r->type ? r->type : http_type_json);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	/* Nothing the page loads may come from elsewhere; its script may call this server only. */
	MHD_add_response_header(resp, "Content-Security-Policy",
				"default-src 'none'; style-src 'unsafe-inline'; script-src "
				"'unsafe-inline'; img-src data:; connect-src 'self'; base-uri "
				"'none'; form-action 'self'; frame-ancestors 'none'");
	if (r->code == 405 && r->allow)
		MHD_add_response_header(resp, "Allow", r->allow);
	if (r->code == 503)
		MHD_add_response_header(resp, "Retry-After", "1");
	if (r->challenge)
		ret = MHD_queue_basic_auth_fail_response(r->conn, "sweepd", resp);
	else
		ret = MHD_queue_response(r->conn, r->code, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* 405, with the methods the path is answered for. */
static void refuse_method(struct http_req *r, const char *url)
{
	const char *cmd;

	r->allow = http_route_target(url, &cmd) == HTTP_API ? "GET, HEAD, POST" : "GET, HEAD";
	http_answer_error(r, 405, "only GET, HEAD and POST are answered here");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct http *h = cls;
	struct http_req *r = *con_cls;

	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r || !(r->url = strdup(url))) {
			free(r);
			return MHD_NO;
		}
		r->h = h;
		r->conn = conn;
		r->post = !strcmp(method, MHD_HTTP_METHOD_POST);
		r->http11 = !strcmp(version, MHD_HTTP_VERSION_1_1);
		*con_cls = r;
		if (!r->post && strcmp(method, MHD_HTTP_METHOD_GET) &&
		    strcmp(method, MHD_HTTP_METHOD_HEAD))
			refuse_method(r, url);
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		if (r->state != REQ_READING || r->too_big)
			return MHD_YES;
		if (r->body_len + n > REQUEST_MAX_LINE) {
			r->too_big = true;
			return MHD_YES;
		}
		char *grown = realloc(r->body, r->body_len + n + 1);
		if (!grown)
			return MHD_NO;
		memcpy(grown + r->body_len, upload_data, n);
		r->body = grown;
		r->body_len += n;
		r->body[r->body_len] = '\0';
		return MHD_YES;
	}
	http_conn_request_read(h->conns, conn);
	if (r->state == REQ_READING) {
		if (r->too_big)
			http_answer_error(r, 413, "the body is longer than 65536 bytes");
		else
			http_identify(r);
	}
	if (r->state != REQ_ANSWERED)
		return MHD_YES; /* suspended: called again once resumed */
	return send_answer(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http *h = cls;
	struct http_req *r = *con_cls;

	(void)toe;
	http_conn_request_done(h->conns, conn);
	if (!r)
		return;
	*con_cls = NULL;
	if (r->state == REQ_CHECKING && h->auth)
		http_auth_cancel(h->auth, r);
	if (r->wait)
		r->wait->req = NULL; /* its answer, when it comes, goes nowhere */
	if (r->suspended)
		unlink_suspended(r);
	free(r->url);
	free(r->cmd);
	free(r->body);
	free(r->user);
	free(r->reply);
	free(r);
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct http *h = cls;

	if (code == MHD_CONNECTION_NOTIFY_STARTED)
		*socket_context = http_conn_add(h->conns, conn);
	else
		http_conn_remove(h->conns, *socket_context);
}

static void run(struct http *h)
{
	MHD_UNSIGNED_LONG_LONG ms;

	MHD_run(h->mhd);
	ev_timer_stop(h->loop, &h->timer);
	if (MHD_get_timeout(h->mhd, &ms) == MHD_YES) {
		ev_timer_set(&h->timer, (double)ms / 1000.0, 0);
		ev_timer_start(h->loop, &h->timer);
	}
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	run(w->data);
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	run(w->data);
}

/* Room for HTTP_MAX_CONNECTIONS more descriptors, as far as the hard limit allows. */
static unsigned raise_files(void)
{
	struct rlimit rl;
	rlim_t want;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 64;
	want = rl.rlim_cur + HTTP_MAX_CONNECTIONS + 64;
	if (rl.rlim_max != RLIM_INFINITY && want > rl.rlim_max)
		want = rl.rlim_max;
	if (want > rl.rlim_cur) {
		rl.rlim_cur = want;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	getrlimit(RLIMIT_NOFILE, &rl);
	return rl.rlim_cur > 1024 + HTTP_MAX_CONNECTIONS ? HTTP_MAX_CONNECTIONS
							: (unsigned)(rl.rlim_cur / 2);
}

static int sockaddr_of(const struct http_config *cfg, struct sockaddr_storage *ss, bool *v6)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	const char *host = !strcmp(cfg->host, "localhost") ? "127.0.0.1" : cfg->host;

	memset(ss, 0, sizeof(*ss));
	*v6 = false;
	if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)cfg->port);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)cfg->port);
		*v6 = true;
		return 0;
	}
	return -EINVAL;
}

struct http *http_create(struct ev_loop *loop, const struct http_config *cfg,
			 const struct http_hooks *hooks, char *err, size_t errlen)
{
	struct http *h = calloc(1, sizeof(*h));
	struct sockaddr_storage ss;
	bool v6 = false, any = !*cfg->host;
	unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME, max;
	const union MHD_DaemonInfo *info;
	struct MHD_OptionItem opts[16];
	size_t n = 0;

	if (!h || !(h->auth = http_auth_create(loop)) || !(h->conns = http_conns_create(loop)) ||
	    !(h->listen = strdup(cfg->listen)) ||
	    (cfg->cert_pem && !(h->cert_pem = strdup(cfg->cert_pem))) ||
	    (cfg->key_pem && !(h->key_pem = strdup(cfg->key_pem))) ||
	    http_auth_set_users(h->auth, cfg->users, cfg->n_users) < 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	h->loop = loop;
	h->hooks = *hooks;
	h->tls = cfg->cert_pem != NULL;
	h->loopback = cfg->loopback;
	h->read_auth = cfg->read_auth;
	if (!any && sockaddr_of(cfg, &ss, &v6) < 0) {
		snprintf(err, errlen, "http listen %s: not an address", cfg->listen);
		goto fail;
	}
	max = raise_files();
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, h };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, h };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_MEMORY_LIMIT, HTTP_MEMORY, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_LIMIT, max, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_PER_IP_CONNECTION_LIMIT,
					     max < HTTP_PER_IP ? max : HTTP_PER_IP, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_TIMEOUT, HTTP_IDLE_S, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_LISTEN_BACKLOG_SIZE, 128, NULL };
	if (!any)
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_SOCK_ADDR, 0, &ss };
	if (h->tls) {
		flags |= MHD_USE_TLS;
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, cfg->key_pem };
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, cfg->cert_pem };
	}
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
	if (any)
		flags |= MHD_USE_DUAL_STACK;
	else if (v6)
		flags |= MHD_USE_IPv6;
	errno = 0;
	h->mhd = MHD_start_daemon(flags, (uint16_t)cfg->port, NULL, NULL, on_request, h,
				  MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	if (!h->mhd) {
		snprintf(err, errlen, "cannot listen on %s: %s", cfg->listen,
			 errno == EADDRINUSE ? "the address is in use (another program, or "
					       "another sweepd, listens there)"
			 : errno	    ? strerror(errno)
			 : h->tls	    ? "the TLS certificate or key was refused (do they match?)"
					    : "libmicrohttpd refused to start");
		goto fail;
	}
	info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info) {
		snprintf(err, errlen, "libmicrohttpd gave no epoll descriptor");
		goto fail;
	}
	ev_io_init(&h->io, on_io, info->epoll_fd, EV_READ);
	h->io.data = h;
	ev_io_start(loop, &h->io);
	ev_timer_init(&h->timer, on_timer, 0, 0);
	h->timer.data = h;
	ev_timer_init(&h->bad_timer, on_bad_timer, 0, 0);
	h->bad_timer.data = h;
	run(h);
	return h;
fail:
	http_destroy(h);
	return NULL;
}

static bool same_text(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

bool http_serves(const struct http *h, const struct http_config *cfg)
{
	return !strcmp(h->listen, cfg->listen) && same_text(h->cert_pem, cfg->cert_pem) &&
	       same_text(h->key_pem, cfg->key_pem);
}

bool http_listens_on(const struct http *h, const struct http_config *cfg)
{
	return !strcmp(h->listen, cfg->listen);
}

/* The client's address bytes (4 or 16) and family; NULL when it has none of those. */
static const unsigned char *client_addr(struct MHD_Connection *conn, int *family, size_t *n)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	*family = sa ? sa->sa_family : AF_UNSPEC;
	*n = 0;
	if (sa && sa->sa_family == AF_INET) {
		*n = 4;
		return (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr;
	}
	if (sa && sa->sa_family == AF_INET6) {
		*n = 16;
		return (const unsigned char *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
	}
	return NULL;
}

uint64_t http_client_key(struct MHD_Connection *conn)
{
	int family;
	size_t n;
	const unsigned char *p = client_addr(conn, &family, &n);
	uint64_t k = 14695981039346656037ULL; /* FNV-1a */

	for (size_t i = 0; i < n; i++)
		k = (k ^ p[i]) * 1099511628211ULL;
	return k;
}

/*
 * Wrong passwords: counted, and said in the log at once and then at most once
 * a minute, so that guessing shows without a guesser filling the log.
 */
/* What wrong passwords came since the last line, said in one. */
static void say_bad_passwords(struct http *h)
{
	log_warn("http: %llu wrong password(s)%s, the last for user \"%s\" from %s (%llu since "
		 "the start: sweepd_http_wrong_passwords_total)",
		 (unsigned long long)h->bad_unsaid, h->bad_said_at ? " in the last minute" : "",
		 h->bad_user, h->bad_addr,
		 (unsigned long long)(h->hooks.counters ? h->hooks.counters->http_wrong_passwords
							: h->bad_passwords));
	h->bad_said_at = ev_now(h->loop);
	h->bad_unsaid = 0;
}

static void on_bad_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct http *h = t->data;

	(void)loop;
	(void)revents;
	if (h->bad_unsaid)
		say_bad_passwords(h);
}

void http_bad_password(struct http *h, struct MHD_Connection *conn, const char *user)
{
	int family;
	size_t n;
	const unsigned char *addr = client_addr(conn, &family, &n);
	ev_tstamp now = ev_now(h->loop);

	h->bad_passwords++;
	if (h->hooks.counters)
		h->hooks.counters->http_wrong_passwords++;
	h->bad_unsaid++;
	snprintf(h->bad_user, sizeof(h->bad_user), "%s", user ? user : "");
	if (!addr || !inet_ntop(family, addr, h->bad_addr, sizeof(h->bad_addr)))
		snprintf(h->bad_addr, sizeof(h->bad_addr), "?");
	if (!h->bad_said_at || now - h->bad_said_at >= 60) {
		say_bad_passwords(h);
	} else if (!ev_is_active(&h->bad_timer)) {
		/* The rest of the minute's, said at its end even when the guesser has stopped. */
		ev_timer_set(&h->bad_timer, h->bad_said_at + 60 - now, 0);
		ev_timer_start(h->loop, &h->bad_timer);
	}
}

void http_set_config(struct http *h, const struct http_config *cfg)
{
	h->read_auth = cfg->read_auth;
	if (http_auth_set_users(h->auth, cfg->users, cfg->n_users) < 0)
		log_err("http: out of memory: no user may log in until the next reload");
}

void http_destroy(struct http *h)
{
	if (!h)
		return;
	/* No password's check comes back now; a later answer goes nowhere. */
	http_auth_destroy(h->auth);
	h->auth = NULL;
	if (h->mhd) {
		while (h->suspended) {
			struct http_req *r = h->suspended;
			if (r->wait)
				r->wait->req = NULL;
			r->wait = NULL;
			r->state = REQ_ANSWERED;
			http_resume(r);
		}
		ev_io_stop(h->loop, &h->io);
		ev_timer_stop(h->loop, &h->timer);
		ev_timer_stop(h->loop, &h->bad_timer);
		if (h->bad_unsaid)
			say_bad_passwords(h);
		MHD_stop_daemon(h->mhd);
	}
	http_conns_destroy(h->conns);
	free(h->listen);
	free(h->cert_pem);
	if (h->key_pem)
		explicit_bzero(h->key_pem, strlen(h->key_pem));
	free(h->key_pem);
	free(h);
}
