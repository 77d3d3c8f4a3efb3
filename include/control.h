#ifndef SWEEPD_CONTROL_H
#define SWEEPD_CONTROL_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * The control socket: accepts clients, splits what they send into lines,
 * hands each line to a handler and queues its reply. Never blocks on one
 * client; bounds what each may make it hold.
 */
struct control;

/*
 * Where an answer given later goes: a socket's client, or an HTTP request
 * (http.c). It stays valid until its answer is delivered, even when the
 * client has gone meanwhile.
 */
struct answer_sink {
	void (*deliver)(struct answer_sink *to, char *line); /* takes line */
};

struct control_peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	const gid_t *groups; /* its supplementary groups when it connected (SO_PEERGROUPS) */
	size_t n_groups;
	struct answer_sink *client; /* for control_answer() */
	/* An HTTP request's: its user (NULL: none given), checked by http.c; a user is an admin. */
	const char *http_user;
	bool http;
};

/* Is gid the peer's group, primary or supplementary? */
bool control_peer_in_group(const struct control_peer *peer, gid_t gid);

/*
 * Returns a malloc'd reply line (with its newline), NULL to drop the client,
 * or control_later: the answer comes through control_answer(), and the
 * client's next requests wait for it.
 */
extern char control_later[];
typedef char *(*control_handler)(void *ud, const char *line, size_t len,
				 const struct control_peer *peer);
/* Whether a peer is an admin: admins get the room kept for them and no per-user cap. */
typedef bool (*control_admin_check)(void *ud, const struct control_peer *peer);

/* Binds path (removing a stale socket first); NULL with errno set on failure. */
struct control *control_create(struct ev_loop *loop, const char *path, unsigned mode,
			       control_handler handler, control_admin_check is_admin, void *ud);
/* The answer a handler kept the client waiting for; takes line. */
void control_answer(struct answer_sink *to, char *line);
struct control_limits {
	double idle_timeout;  /* seconds a client may stay without a complete request */
	size_t max_clients;   /* connections in all */
	size_t per_user;      /* connections of one ordinary (not admin) uid */
	size_t admin_reserve; /* of max_clients, never given to ordinary users */
};
/* Applies the limits to new clients (and idle_timeout to every client). */
void control_set_limits(struct control *c, const struct control_limits *lim);
/* Owner, group ((uid_t)-1, (gid_t)-1: unchanged) and mode of the socket file; 0 or -errno. */
int control_set_access(struct control *c, unsigned mode, uid_t uid, gid_t gid);
/* Closes every client and the socket, and unlinks its path. */
void control_destroy(struct control *c);

#endif
