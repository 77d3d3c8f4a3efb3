#include "notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* The watchdog interval systemd asked for, and our last ping: one daemon, one state. */
static uint64_t watchdog_usec, watchdog_last;

static uint64_t mono_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int notify_send(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len;
	int fd, r = 0;

	if (!path || !*path)
		return 0;
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len >= sizeof(sa.sun_path))
		return -EINVAL;
	memcpy(sa.sun_path, path, len);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0'; /* abstract namespace */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa,
		   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0)
		r = -errno;
	close(fd);
	return r;
}

int notify_reloading(void)
{
	char msg[64];

	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)mono_usec());
	return notify_send(msg);
}

uint64_t notify_watchdog_init(void)
{
	const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
	char *end;
	unsigned long long v;

	watchdog_usec = 0;
	if (!usec || !*usec)
		return 0;
	/* Meant for another process (a shell between systemd and us): not ours to answer. */
	if (pid && *pid && strtoll(pid, NULL, 10) != (long long)getpid())
		return 0;
	v = strtoull(usec, &end, 10);
	if (*end || !v)
		return 0;
	watchdog_usec = v;
	return watchdog_usec;
}

void notify_watchdog_kick(void)
{
	uint64_t now;

	if (!watchdog_usec)
		return;
	now = mono_usec();
	if (watchdog_last && now - watchdog_last < watchdog_usec / 4)
		return;
	watchdog_last = now;
	notify_send("WATCHDOG=1");
}
