#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "reply.h"
#include "request.h"

#define CONTROL_MAX_OUT (16 * 1024 * 1024)

char control_later[1];

struct control_client {
	struct control *ctl;
	struct control_client *next, *prev;
	int fd;
	ev_io rio, wio;
	ev_timer idle;
	struct control_peer peer;
	char *in;
	size_t in_len;
	char *out;
	size_t out_len, out_off;
	bool closing; /* flush what is queued, then close */
	bool waiting; /* its handler answers later: no other line until then */
	bool eof;     /* the peer closed its side while waiting: answer, then close */
};

struct control {
	struct ev_loop *loop;
	int fd;
	ev_io io;
	char *path;
	control_handler handler;
	void *ud;
	struct control_client *clients;
	size_t n_clients, max_clients;
	double idle_timeout;
};

static void client_destroy(struct control_client *cl)
{
	struct control *c = cl->ctl;

	ev_io_stop(c->loop, &cl->rio);
	ev_io_stop(c->loop, &cl->wio);
	ev_timer_stop(c->loop, &cl->idle);
	close(cl->fd);
	if (cl->prev)
		cl->prev->next = cl->next;
	else
		c->clients = cl->next;
	if (cl->next)
		cl->next->prev = cl->prev;
	c->n_clients--;
	free(cl->in);
	free(cl->out);
	free(cl);
}

/* Writes what is queued; returns false when the client is gone. */
static bool client_flush(struct control_client *cl)
{
	while (cl->out_off < cl->out_len) {
		ssize_t n = send(cl->fd, cl->out + cl->out_off, cl->out_len - cl->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			client_destroy(cl);
			return false;
		}
		cl->out_off += (size_t)n;
	}
	if (cl->out_off == cl->out_len) {
		cl->out_off = cl->out_len = 0;
		ev_io_stop(cl->ctl->loop, &cl->wio);
		if (cl->closing) {
			client_destroy(cl);
			return false;
		}
	} else {
		ev_io_start(cl->ctl->loop, &cl->wio);
	}
	return true;
}

/* Queues a reply; a client that does not read its replies is dropped. */
static bool client_queue(struct control_client *cl, char *line)
{
	size_t n;
	char *grown;

	if (!line) {
		client_destroy(cl);
		return false;
	}
	n = strlen(line);
	if (cl->out_len - cl->out_off + n > CONTROL_MAX_OUT) {
		log_warn("client pid %d reads no replies: dropped", (int)cl->peer.pid);
		free(line);
		client_destroy(cl);
		return false;
	}
	if (cl->out_off) {
		memmove(cl->out, cl->out + cl->out_off, cl->out_len - cl->out_off);
		cl->out_len -= cl->out_off;
		cl->out_off = 0;
	}
	grown = realloc(cl->out, cl->out_len + n);
	if (!grown) {
		free(line);
		client_destroy(cl);
		return false;
	}
	cl->out = grown;
	memcpy(cl->out + cl->out_len, line, n);
	cl->out_len += n;
	free(line);
	return client_flush(cl);
}

static void client_on_writable(struct ev_loop *loop, ev_io *io, int revents)
{
	(void)loop;
	(void)revents;
	client_flush(io->data);
}

/* Says why in a last error line, then closes once it is sent; what it sends is ignored. */
static bool client_close_with(struct control_client *cl, const char *why)
{
	cl->closing = true;
	cl->in_len = 0;
	return client_queue(cl, reply_error(why));
}

/* A request answered, or a reply sent: the client is busy, not idle. */
static void client_active(struct control_client *cl)
{
	if (cl->waiting)
		ev_timer_stop(cl->ctl->loop, &cl->idle);
	else
		ev_timer_again(cl->ctl->loop, &cl->idle);
}

static void client_on_idle(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct control_client *cl = t->data;

	(void)loop;
	(void)revents;
	client_close_with(cl, "no complete request for too long (the socket's idle_timeout): "
			      "closing the connection");
}

/* Answers every whole line in the input buffer; false when the client is gone. */
static bool client_lines(struct control_client *cl)
{
	struct control *c = cl->ctl;
	size_t start = 0;
	char *nl;

	while (!cl->closing && !cl->waiting &&
	       (nl = memchr(cl->in + start, '\n', cl->in_len - start))) {
		size_t len = (size_t)(nl - (cl->in + start));
		const char *line = cl->in + start;
		char *out;

		start += len + 1;
		if (len && line[len - 1] == '\r')
			len--;
		if (!len)
			continue;
		cl->peer.client = cl;
		out = c->handler(c->ud, line, len, &cl->peer);
		if (out == control_later) {
			cl->waiting = true;
			ev_timer_stop(c->loop, &cl->idle);
			continue;
		}
		client_active(cl);
		if (!client_queue(cl, out))
			return false;
	}
	memmove(cl->in, cl->in + start, cl->in_len - start);
	cl->in_len -= start;
	if (cl->in_len > REQUEST_MAX_LINE)
		return client_close_with(cl, "request line is longer than 65536 bytes: "
					     "closing the connection");
	return true;
}

static void client_on_readable(struct ev_loop *loop, ev_io *io, int revents)
{
	struct control_client *cl = io->data;
	char buf[16384];
	ssize_t n;

	(void)loop;
	(void)revents;
	n = recv(cl->fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* Closed (or half-closed): answer what is complete, then go. */
		if (cl->waiting) {
			cl->eof = true;
			ev_io_stop(cl->ctl->loop, &cl->rio);
		} else if (cl->out_len == cl->out_off) {
			client_destroy(cl);
		} else {
			cl->closing = true;
			ev_io_stop(cl->ctl->loop, &cl->rio);
		}
		return;
	}
	if (cl->closing)
		return;
	{
		char *grown = realloc(cl->in, cl->in_len + (size_t)n);
		if (!grown) {
			client_destroy(cl);
			return;
		}
		cl->in = grown;
	}
	memcpy(cl->in + cl->in_len, buf, (size_t)n);
	cl->in_len += (size_t)n;
	client_lines(cl);
}

static void control_on_accept(struct ev_loop *loop, ev_io *io, int revents)
{
	struct control *c = io->data;
	struct control_client *cl;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int fd;

	(void)revents;
	fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (c->n_clients >= c->max_clients) {
		static const char busy[] =
			"{\"ok\":false,\"error\":\"too many clients connected: try again\"}\n";
		(void)!send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		close(fd);
		return;
	}
	cl = calloc(1, sizeof(*cl));
	if (!cl || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		free(cl);
		close(fd);
		return;
	}
	cl->ctl = c;
	cl->fd = fd;
	cl->peer.pid = cred.pid;
	cl->peer.uid = cred.uid;
	cl->peer.gid = cred.gid;
	cl->next = c->clients;
	if (c->clients)
		c->clients->prev = cl;
	c->clients = cl;
	c->n_clients++;
	ev_io_init(&cl->rio, client_on_readable, fd, EV_READ);
	ev_io_init(&cl->wio, client_on_writable, fd, EV_WRITE);
	ev_init(&cl->idle, client_on_idle);
	cl->idle.repeat = c->idle_timeout;
	cl->rio.data = cl->wio.data = cl->idle.data = cl;
	ev_io_start(loop, &cl->rio);
	ev_timer_again(loop, &cl->idle);
}

void control_answer(struct control_client *handle, char *line)
{
	struct control_client *cl = handle;

	cl->waiting = false;
	/* A half-closed peer still reads its answer; a closed one makes the send fail. */
	cl->closing |= cl->eof;
	client_active(cl);
	if (client_queue(cl, line) && !cl->closing)
		client_lines(cl);
}

void control_set_limits(struct control *c, double idle_timeout, size_t max_clients)
{
	c->idle_timeout = idle_timeout;
	c->max_clients = max_clients;
	for (struct control_client *cl = c->clients; cl; cl = cl->next) {
		cl->idle.repeat = idle_timeout;
		client_active(cl);
	}
}

int control_set_access(struct control *c, unsigned mode, uid_t uid, gid_t gid)
{
	if (chown(c->path, uid, gid) < 0 || chmod(c->path, mode) < 0)
		return -errno;
	return 0;
}

/* A socket file nobody answers on is stale; one that answers belongs to a live daemon. */
static int remove_stale(const char *path, const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, r;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	close(fd);
	if (r == 0)
		return -EADDRINUSE;
	return unlink(path) < 0 ? -errno : 0;
}

struct control *control_create(struct ev_loop *loop, const char *path, unsigned mode,
			       control_handler handler, void *ud)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct control *c;
	char *dir, *slash;
	int r;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	strcpy(sa.sun_path, path);
	dir = strdup(path);
	slash = dir ? strrchr(dir, '/') : NULL;
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
			free(dir);
			return NULL;
		}
	}
	free(dir);
	r = remove_stale(path, &sa);
	if (r < 0) {
		errno = -r;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->loop = loop;
	c->max_clients = 512;
	c->idle_timeout = 60;
	c->handler = handler;
	c->ud = ud;
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || bind(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = errno;
		if (c->fd >= 0)
			close(c->fd);
		free(c);
		errno = r;
		return NULL;
	}
	c->path = strdup(path);
	if (!c->path || chmod(path, mode) < 0 || listen(c->fd, 128) < 0) {
		r = c->path ? errno : ENOMEM;
		unlink(path);
		close(c->fd);
		free(c->path);
		free(c);
		errno = r;
		return NULL;
	}
	ev_io_init(&c->io, control_on_accept, c->fd, EV_READ);
	c->io.data = c;
	ev_io_start(loop, &c->io);
	return c;
}

void control_destroy(struct control *c)
{
	if (!c)
		return;
	while (c->clients)
		client_destroy(c->clients);
	ev_io_stop(c->loop, &c->io);
	close(c->fd);
	unlink(c->path);
	free(c->path);
	free(c);
}
