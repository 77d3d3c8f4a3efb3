#ifndef SWEEPD_CHILD_H
#define SWEEPD_CHILD_H

#include <stdbool.h>
#include <sys/types.h>

/*
 * A command the daemon runs and does not wait for (alert_command,
 * prerotate, postrotate): posix_spawn of path with argv and env; standard
 * input stdin_fd (-1: /dev/null), standard output /dev/null when quiet (else
 * the daemon's, the journal), standard error the daemon's; no other
 * descriptor; in a process group of its own, so that a kill of -pid reaches
 * what it started; signals as a fresh process has them. The pid, or -errno.
 */
pid_t child_spawn(const char *path, char *const argv[], char *const env[], int stdin_fd,
		    bool quiet);

#endif
