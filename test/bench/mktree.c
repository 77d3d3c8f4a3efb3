/* Benchmark helper: mktree DIR DIRS FILES_PER_DIR makes DIR/aNNN/bNNN/fNN files of a few bytes. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char path[4096];
	int dirs, files, fan;

	if (argc != 4)
		return 2;
	dirs = atoi(argv[2]);
	files = atoi(argv[3]);
	fan = 1;
	while (fan * fan < dirs)
		fan++;
	mkdir(argv[1], 0755);
	for (int d = 0; d < dirs; d++) {
		snprintf(path, sizeof(path), "%s/a%03d", argv[1], d / fan);
		mkdir(path, 0755);
		snprintf(path, sizeof(path), "%s/a%03d/b%03d", argv[1], d / fan, d % fan);
		mkdir(path, 0755);
		for (int f = 0; f < files; f++) {
			int fd;
			snprintf(path, sizeof(path), "%s/a%03d/b%03d/f%02d", argv[1], d / fan, d % fan, f);
			fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
			if (fd < 0 || write(fd, path, (size_t)(f % 64)) < 0) {
				perror(path);
				return 1;
			}
			close(fd);
		}
	}
	return 0;
}
