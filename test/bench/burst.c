/* Benchmark helper: burst DIR N creates and closes N files as fast as it can,
 * then prints the CLOCK_MONOTONIC time of the last close in nanoseconds. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char path[4096];
	struct timespec ts;
	int n;

	if (argc != 3)
		return 2;
	n = atoi(argv[2]);
	for (int i = 0; i < n; i++) {
		int fd;
		snprintf(path, sizeof(path), "%s/burst-%07d", argv[1], i);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || write(fd, "data", 4) != 4) {
			perror(path);
			return 1;
		}
		close(fd);
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	printf("%lld\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	return 0;
}
