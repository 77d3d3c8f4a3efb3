#ifndef SWEEPD_CONTROL_H
#define SWEEPD_CONTROL_H

#include <ev.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * The control socket: accepts clients, splits what they send into lines,
 * hands each line to a handler and queues its reply. Never blocks on one
 * client; bounds what each may make it hold.
 */
struct control;

struct control_peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
};

/* Returns a malloc'd reply line (with its newline), or NULL to drop the client. */
typedef char *(*control_handler)(void *ud, const char *line, size_t len,
				 const struct control_peer *peer);

/* Binds path (removing a stale socket first); NULL with errno set on failure. */
struct control *control_create(struct ev_loop *loop, const char *path, unsigned mode,
			       control_handler handler, void *ud);
/* Closes every client and the socket, and unlinks its path. */
void control_destroy(struct control *c);

#endif
