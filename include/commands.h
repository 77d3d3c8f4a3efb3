#ifndef SWEEPD_COMMANDS_H
#define SWEEPD_COMMANDS_H

#include <stddef.h>

struct control_peer;

/*
 * The socket's handler (a control_handler, ud the daemon): one request line
 * in, its reply out; admin commands only for admins.
 */
char *daemon_request(void *ud, const char *line, size_t len, const struct control_peer *peer);

#endif
