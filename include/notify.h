#ifndef SWEEPD_NOTIFY_H
#define SWEEPD_NOTIFY_H

/*
 * systemd's notification protocol: one datagram to $NOTIFY_SOCKET. A no-op
 * when the variable is unset. Returns 0 or -errno.
 */
int notify_send(const char *state);

#endif
