#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "reply.h"
#include "request.h"

/*
 * Unsent output a client may pile up beyond the reply being written: a reply
 * of any size goes (an archive of 100,000 files lists in about 30 MB), and the
 * client's next request is read only once it has all gone, so only a last
 * error line can ever be added behind it.
 */
#define CONTROL_MAX_OUT (16 * 1024 * 1024)

char control_later[1];

struct control_client {
	struct answer_sink sink; /* where a later answer comes: control_answer() */
	struct control *ctl;
	struct control_client *next, *prev;
	int fd;
	ev_io rio, wio;
	ev_timer idle;
	struct control_peer peer;
	bool admin; /* counted apart: ordinary users never take the admins' room */
	char *in;
	size_t in_len;
	char *out;
	size_t out_len, out_off;
	bool closing; /* flush what is queued, then close */
	bool waiting; /* its handler answers later: no other line until then */
	bool eof;     /* the peer closed its side: answer what is complete, then close */
	bool dead;    /* gone while waiting: freed when the answer comes (control_answer) */
};

/*
 * Requests of one client answered per turn of the loop: the rest wait for the
 * next turn, so that a client pipelining thousands of requests delays the
 * others (an admin's pause) by a few answers, not by thousands.
 */
#define CONTROL_LINES_PER_TURN 4

struct control {
	struct ev_loop *loop;
	int fd;
	ev_io io;
	char *path;
	control_handler handler;
	control_admin_check is_admin;
	void *ud;
	struct control_client *clients;
	size_t n_clients, n_ordinary;
	struct control_limits lim;
	int spare;	     /* a descriptor given up to accept one client when out of them */
	ev_timer resume;     /* accepting again after running out of descriptors */
};

bool control_peer_in_group(const struct control_peer *peer, gid_t gid)
{
	if (peer->gid == gid)
		return true;
	for (size_t i = 0; i < peer->n_groups; i++)
		if (peer->groups[i] == gid)
			return true;
	return false;
}

static int open_spare(void)
{
	return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

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
	if (!cl->admin)
		c->n_ordinary--;
	free((void *)cl->peer.groups);
	free(cl->in);
	free(cl->out);
	/* Its answer is still to come (a reservation): that frees it. */
	if (cl->waiting) {
		*cl = (struct control_client){ .sink = cl->sink, .waiting = true, .dead = true };
	} else {
		free(cl);
	}
	if (c->spare < 0)
		c->spare = open_spare();
	/* A descriptor came free: accept again now rather than at the pause's end. */
	if (ev_is_active(&c->resume)) {
		ev_timer_stop(c->loop, &c->resume);
		ev_io_start(c->loop, &c->io);
	}
}

static void client_active(struct control_client *cl);
static void client_answer(struct answer_sink *to, char *line);

/*
 * Writes what is queued as far as the socket takes it; returns false when the
 * client is gone. Bytes taken count as activity: a steady reader of a reply
 * larger than it can take in idle_timeout is not idle.
 */
static bool client_flush(struct control_client *cl)
{
	size_t before = cl->out_off;

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
	if (cl->out_off > before)
		client_active(cl);
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
	/* One reply (of any size) at a time: only a pile of them is refused. */
	if (cl->out_len > cl->out_off && cl->out_len - cl->out_off + n > CONTROL_MAX_OUT) {
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

static bool client_lines(struct control_client *cl);

/*
 * A reply is written out whole before the client's next request is read, so
 * that one that sends requests and reads no replies holds one reply at most:
 * its socket fills, we stop reading it, and its own sends stop.
 */
static void client_on_writable(struct ev_loop *loop, ev_io *io, int revents)
{
	struct control_client *cl = io->data;

	(void)loop;
	(void)revents;
	if (!client_flush(cl) || cl->out_len > cl->out_off || cl->closing || cl->waiting)
		return;
	client_lines(cl);
}

/* Says why in a last error line, then closes once it is sent; what it sends is ignored. */
static bool client_close_with(struct control_client *cl, const char *why)
{
	cl->closing = true;
	cl->in_len = 0;
	return client_queue(cl, reply_error(why));
}

/*
 * A request answered, or a reply sent: the client is busy, not idle. The
 * clock is read afresh: building a large reply may have taken longer than
 * idle_timeout, and the loop's time is still that of before it.
 */
static void client_active(struct control_client *cl)
{
	if (cl->waiting) {
		ev_timer_stop(cl->ctl->loop, &cl->idle);
	} else {
		ev_now_update(cl->ctl->loop);
		ev_timer_again(cl->ctl->loop, &cl->idle);
	}
}

static void client_on_idle(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct control_client *cl = t->data;

	(void)loop;
	(void)revents;
	/* One that reads nothing would never take a last line: it goes at once. */
	if (cl->out_len > cl->out_off) {
		log_warn("client pid %d reads no replies: dropped", (int)cl->peer.pid);
		client_destroy(cl);
		return;
	}
	client_close_with(cl, "no complete request for too long (the socket's idle_timeout): "
			      "closing the connection");
}

/*
 * Answers the whole lines in the input buffer, a few per turn of the loop, one
 * reply in flight at a time; reading waits while a reply is unsent, an answer
 * is awaited, or lines are left for the next turn. After the peer's end of
 * input, goes once all is answered. false when the client is gone.
 */
static bool client_lines(struct control_client *cl)
{
	struct control *c = cl->ctl;
	size_t start = 0;
	int answered = 0;
	char *nl;

	while (!cl->closing && !cl->waiting && cl->out_len == cl->out_off &&
	       answered < CONTROL_LINES_PER_TURN && cl->in_len > start &&
	       (nl = memchr(cl->in + start, '\n', cl->in_len - start))) {
		size_t len = (size_t)(nl - (cl->in + start));
		const char *line = cl->in + start;
		char *out;

		start += len + 1;
		if (len > REQUEST_MAX_LINE)
			return client_close_with(cl, "request line is longer than 65536 bytes: "
						     "closing the connection");
		if (len && line[len - 1] == '\r')
			len--;
		if (!len)
			continue;
		answered++;
		cl->peer.client = &cl->sink;
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
	if (start) {
		memmove(cl->in, cl->in + start, cl->in_len - start);
		cl->in_len -= start;
	}
	if (cl->closing)
		return true;
	if (cl->waiting || cl->out_len > cl->out_off) {
		/* On again once answered (control_answer) or sent (client_on_writable). */
		ev_io_stop(c->loop, &cl->rio);
		return true;
	}
	if (cl->in_len && memchr(cl->in, '\n', cl->in_len)) {
		/* More lines: at the next turn, through the (at once) writable socket. */
		ev_io_stop(c->loop, &cl->rio);
		ev_io_start(c->loop, &cl->wio);
		return true;
	}
	if (cl->in_len > REQUEST_MAX_LINE)
		return client_close_with(cl, "request line is longer than 65536 bytes: "
					     "closing the connection");
	if (cl->eof) {
		client_destroy(cl);
		return false;
	}
	ev_io_start(c->loop, &cl->rio);
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
	if (n < 0) {
		client_destroy(cl);
		return;
	}
	if (n == 0) {
		/*
		 * Half-closed: answer what came (a last request without its newline
		 * too, as "printf '{...}' | nc -U" sends it), then go.
		 */
		cl->eof = true;
		ev_io_stop(cl->ctl->loop, &cl->rio);
		if (cl->in_len && cl->in[cl->in_len - 1] != '\n' && !cl->closing) {
			buf[0] = '\n';
			n = 1;
		} else {
			client_lines(cl);
			return;
		}
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

/* The peer's supplementary groups; NULL (and none) when the kernel cannot say. */
static gid_t *peer_groups(int fd, size_t *n)
{
	socklen_t len = 64 * sizeof(gid_t);
	gid_t *g = NULL;

	*n = 0;
	for (int tries = 0; tries < 2; tries++) {
		gid_t *grown = realloc(g, len ? len : 1);
		if (!grown)
			break;
		g = grown;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) == 0) {
			*n = len / sizeof(gid_t);
			return g;
		}
		if (errno != ERANGE)
			break;
	}
	free(g);
	return NULL;
}

/* Sends a refusal as the connection's only line, and closes it. */
static void refuse(int fd, const char *why)
{
	char *line = reply_error(why);

	if (line)
		(void)!send(fd, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT);
	free(line);
	close(fd);
}

/*
 * Lets a new connection in, or refuses it with a line that says why. An ordinary
 * user gets at most per_user connections, and all of them together leave
 * admin_reserve of max_clients to root, the daemon's user and admin_group, so a
 * flood by anyone else never keeps an admin out. short_of_fds: the daemon gave up
 * its spare descriptor for this one, which only an admin may keep.
 */
static void control_admit(struct control *c, int fd, bool short_of_fds)
{
	struct control_client *cl;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	size_t mine = 0;
	char why[200];

	cl = calloc(1, sizeof(*cl));
	if (!cl || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		free(cl);
		close(fd);
		return;
	}
	cl->peer.pid = cred.pid;
	cl->peer.uid = cred.uid;
	cl->peer.gid = cred.gid;
	cl->peer.groups = peer_groups(fd, &cl->peer.n_groups);
	cl->admin = c->is_admin(c->ud, &cl->peer);
	for (struct control_client *o = c->clients; o && !cl->admin; o = o->next)
		mine += !o->admin && o->peer.uid == cred.uid;
	why[0] = '\0';
	/*
	 * Admins are counted apart: however many ordinary connections there are
	 * (a reload may have lowered the limits under them), an admin gets in
	 * while admins themselves hold fewer than max_clients.
	 */
	if (cl->admin) {
		if (c->n_clients - c->n_ordinary >= c->lim.max_clients)
			snprintf(why, sizeof(why),
				 "too many admin connections (max_clients %zu): try again",
				 c->lim.max_clients);
	} else if (c->n_clients >= c->lim.max_clients)
		snprintf(why, sizeof(why), "too many clients connected (max_clients %zu): try again",
			 c->lim.max_clients);
	else if (short_of_fds)
		snprintf(why, sizeof(why),
			 "sweepd is out of file descriptors: only admins get in now; try again");
	else if (mine >= c->lim.per_user)
		snprintf(why, sizeof(why),
			 "too many connections from uid %u: at most %zu per user "
			 "(the socket's max_clients_per_user); close some and try again",
			 (unsigned)cred.uid, c->lim.per_user);
	else if (c->n_ordinary + c->lim.admin_reserve >= c->lim.max_clients)
		snprintf(why, sizeof(why),
			 "too many clients connected (max_clients %zu, of which admin_reserve %zu "
			 "are kept for admins): try again",
			 c->lim.max_clients, c->lim.admin_reserve);
	if (why[0]) {
		free((void *)cl->peer.groups);
		free(cl);
		refuse(fd, why);
		return;
	}
	cl->ctl = c;
	cl->sink.deliver = client_answer;
	cl->fd = fd;
	cl->next = c->clients;
	if (c->clients)
		c->clients->prev = cl;
	c->clients = cl;
	c->n_clients++;
	c->n_ordinary += !cl->admin;
	ev_io_init(&cl->rio, client_on_readable, fd, EV_READ);
	ev_io_init(&cl->wio, client_on_writable, fd, EV_WRITE);
	ev_init(&cl->idle, client_on_idle);
	cl->idle.repeat = c->lim.idle_timeout;
	cl->rio.data = cl->wio.data = cl->idle.data = cl;
	ev_io_start(c->loop, &cl->rio);
	ev_timer_again(c->loop, &cl->idle);
}

static void control_on_resume(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct control *c = t->data;

	(void)revents;
	if (c->spare < 0)
		c->spare = open_spare();
	ev_io_start(loop, &c->io);
}

/*
 * Takes in what waits on the listening socket (a batch per wakeup, so a flood
 * drains quickly and an admin's connect does not queue behind it for long). Out
 * of descriptors (EMFILE), the spare one is closed to accept and look at the
 * peer; with no spare left, accepting pauses for a second instead of spinning on
 * a socket that stays readable.
 */
static void control_on_accept(struct ev_loop *loop, ev_io *io, int revents)
{
	struct control *c = io->data;

	(void)revents;
	for (int i = 0; i < 64; i++) {
		bool short_of_fds = false;
		int fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
			if (c->spare < 0) {
				log_warn("control socket: out of file descriptors (%s): "
					 "not accepting for a second",
					 strerror(errno));
				ev_io_stop(loop, &c->io);
				ev_timer_set(&c->resume, 1.0, 0.0);
				ev_timer_start(loop, &c->resume);
				return;
			}
			close(c->spare);
			c->spare = -1;
			fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
			short_of_fds = true;
		}
		if (fd >= 0)
			control_admit(c, fd, short_of_fds);
		if (c->spare < 0)
			c->spare = open_spare();
		if (fd < 0)
			return; /* EMFILE comes before the kernel looks for a connection */
	}
}

void control_answer(struct answer_sink *to, char *line)
{
	to->deliver(to, line);
}

static void client_answer(struct answer_sink *to, char *line)
{
	struct control_client *cl = (struct control_client *)to;

	if (cl->dead) {
		/* The client went while it waited: nobody to tell. */
		free(line);
		free(cl);
		return;
	}
	cl->waiting = false;
	client_active(cl);
	/*
	 * Its next lines at the next turn of the loop (through the writable
	 * watcher), never from here: the caller may be half-way through a reload
	 * that ends every reservation, and a pipelined reload must not run inside it.
	 */
	if (client_queue(cl, line) && !cl->closing)
		ev_io_start(cl->ctl->loop, &cl->wio);
}

/*
 * Also raises the soft limit on descriptors (up to the hard one) so that
 * max_clients fit beside what the rest of the daemon holds; past the hard limit,
 * the spare descriptor still lets admins in.
 */
void control_set_limits(struct control *c, const struct control_limits *lim)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)lim->max_clients + 256;

	c->lim = *lim;
	for (struct control_client *cl = c->clients; cl; cl = cl->next) {
		cl->idle.repeat = lim->idle_timeout;
		client_active(cl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < want) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
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
			       control_handler handler, control_admin_check is_admin, void *ud)
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
	c->lim = (struct control_limits){.idle_timeout = 60, .max_clients = 512, .per_user = 16,
					 .admin_reserve = 32};
	c->handler = handler;
	c->is_admin = is_admin;
	c->ud = ud;
	c->spare = open_spare();
	ev_init(&c->resume, control_on_resume);
	c->resume.data = c;
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || bind(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = errno;
		if (c->fd >= 0)
			close(c->fd);
		if (c->spare >= 0)
			close(c->spare);
		free(c);
		errno = r;
		return NULL;
	}
	c->path = strdup(path);
	if (!c->path || chmod(path, mode) < 0 || listen(c->fd, 128) < 0) {
		r = c->path ? errno : ENOMEM;
		unlink(path);
		close(c->fd);
		if (c->spare >= 0)
			close(c->spare);
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
	ev_timer_stop(c->loop, &c->resume);
	close(c->fd);
	if (c->spare >= 0)
		close(c->spare);
	unlink(c->path);
	free(c->path);
	free(c);
}
