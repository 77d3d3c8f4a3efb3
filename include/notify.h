#ifndef SWEEPD_NOTIFY_H
#define SWEEPD_NOTIFY_H

#include <stdint.h>

/*
 * systemd's notification protocol (sd_notify(3)): one datagram to
 * $NOTIFY_SOCKET. A no-op when the variable is unset. Returns 0 or -errno.
 */
int notify_send(const char *state);
/* RELOADING=1 with the MONOTONIC_USEC that Type=notify-reload wants. */
int notify_reloading(void);

/*
 * The watchdog: the interval systemd asked for in WATCHDOG_USEC (0: none).
 * A kick sends WATCHDOG=1 unless one went out in the last quarter interval,
 * so it is cheap enough to call from long walks as well as from the loop.
 */
uint64_t notify_watchdog_init(void);
void notify_watchdog_kick(void);

#endif
