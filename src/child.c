#include "child.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>

pid_t child_spawn(const char *path, char *const argv[], char *const env[], int stdin_fd,
		    bool quiet)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, dfl;
	pid_t pid = -1;
	int e;

	sigemptyset(&none);
	sigemptyset(&dfl);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaddset(&dfl, sig);
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	e = stdin_fd >= 0 ? posix_spawn_file_actions_adddup2(&fa, stdin_fd, 0)
			  : posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (!e && quiet)
		e = posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
	if (!e)
		e = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
	if (!e)
		e = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
							  POSIX_SPAWN_SETSIGDEF);
	if (!e)
		e = posix_spawnattr_setpgroup(&at, 0);
	if (!e)
		e = posix_spawnattr_setsigmask(&at, &none);
	if (!e)
		e = posix_spawnattr_setsigdefault(&at, &dfl);
	if (!e)
		e = posix_spawn(&pid, path, &fa, &at, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	return e ? -e : pid;
}
