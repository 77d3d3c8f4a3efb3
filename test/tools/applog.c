/*
 * A log writer for the tests: appends numbered lines to PATH with O_APPEND,
 * one write(2) per line, as fast as it can, COUNT lines in all. With
 * --pidfile it writes its pid there and reopens PATH on SIGUSR1, as daemons
 * do for logrotate. Prints the number of lines written when done.
 *
 *   applog PATH COUNT [--pidfile FILE]
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t reopen;

static void on_usr1(int sig)
{
	(void)sig;
	reopen = 1;
}

static int open_log(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0) {
		fprintf(stderr, "applog: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	return fd;
}

int main(int argc, char **argv)
{
	unsigned long long count, i;
	const char *pidfile = NULL;
	int fd;

	if (argc != 3 && !(argc == 5 && !strcmp(argv[3], "--pidfile"))) {
		fprintf(stderr, "usage: applog PATH COUNT [--pidfile FILE]\n");
		return 2;
	}
	count = strtoull(argv[2], NULL, 10);
	if (argc == 5) {
		struct sigaction sa = { .sa_handler = on_usr1 };
		FILE *f;

		pidfile = argv[4];
		sigaction(SIGUSR1, &sa, NULL);
		f = fopen(pidfile, "w");
		if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f) != 0) {
			fprintf(stderr, "applog: %s: %s\n", pidfile, strerror(errno));
			return 1;
		}
	}
	fd = open_log(argv[1]);
	for (i = 1; i <= count; i++) {
		char line[64];
		int n = snprintf(line, sizeof(line), "%010llu the quick brown fox jumps\n", i);

		if (reopen) {
			reopen = 0;
			close(fd);
			fd = open_log(argv[1]);
		}
		if (write(fd, line, (size_t)n) != n) {
			fprintf(stderr, "applog: write: %s\n", strerror(errno));
			return 1;
		}
	}
	close(fd);
	printf("%llu\n", count);
	return 0;
}
