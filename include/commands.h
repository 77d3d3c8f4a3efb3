#ifndef SWEEPD_COMMANDS_H
#define SWEEPD_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>

struct control_peer;

/*
 * The socket's handler (a control_handler, ud the daemon): one request line
 * in, its reply out; admin commands only for admins.
 */
char *daemon_request(void *ud, const char *line, size_t len, const struct control_peer *peer);
/* Root, the daemon's own user, or a member of admin_group (a control_admin_check). */
bool daemon_peer_is_admin(void *ud, const struct control_peer *peer);

struct daemon;
/* The explain command's reply for path (explain_daemon.c). */
char *daemon_explain(struct daemon *d, const char *path);

#endif
