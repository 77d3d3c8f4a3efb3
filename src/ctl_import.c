#include "ctl_import.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lrimport.h"

/* The whole of a regular file, up to one byte past lrimport's bound; -errno. */
static int read_all(const char *path, char **text, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	size_t cap = LRIMPORT_MAX_TEXT + 1, n = 0;
	struct stat st;
	char *buf;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		int e = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		close(fd);
		return e;
	}
	buf = malloc(cap);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (n < cap) {
		ssize_t k = read(fd, buf + n, cap - n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			int e = -errno;
			free(buf);
			close(fd);
			return e;
		}
		if (!k)
			break;
		n += (size_t)k;
	}
	close(fd);
	*text = buf;
	*len = n;
	return 0;
}

static int include(void *arg, struct lrimport_conf *c, const char *path, const char *from,
		   int line);

static int one_file(struct lrimport_conf *c, const char *path, const char *from, int line)
{
	char *text = NULL;
	size_t len = 0;
	int r = read_all(path, &text, &len);

	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		lrimport_error(c, from, line, "%s: %s", path, strerror(-r));
		return r;
	}
	r = lrimport_parse(c, path, text, len, include, NULL);
	free(text);
	return r;
}

/* A file, or each file of a directory in name order but those logrotate skips. */
static int include(void *arg, struct lrimport_conf *c, const char *path, const char *from,
		   int line)
{
	struct dirent **names;
	struct stat st;
	int n, r = 0;

	(void)arg;
	if (stat(path, &st) < 0) {
		lrimport_error(c, from, line, "%s: %s", path, strerror(errno));
		return -errno;
	}
	if (!S_ISDIR(st.st_mode))
		return one_file(c, path, from, line);
	n = scandir(path, &names, NULL, alphasort);
	if (n < 0) {
		lrimport_error(c, from, line, "%s: %s", path, strerror(errno));
		return -errno;
	}
	for (int i = 0; i < n; i++) {
		char *p = NULL;

		if (r != -ENOMEM && !lrimport_taboo(names[i]->d_name) &&
		    asprintf(&p, "%s/%s", path, names[i]->d_name) >= 0 && stat(p, &st) == 0 &&
		    S_ISREG(st.st_mode)) {
			int k = one_file(c, p, from, line);
			if (k == -ENOMEM)
				r = k;
		}
		free(p);
		free(names[i]);
	}
	free(names);
	return r;
}

int ctl_import_logrotate(int argc, char **argv)
{
	struct lrimport_conf c = {0};
	int status = 0;
	char *out;

	if (argc < 1) {
		fprintf(stderr, "sweepctl: import-logrotate needs at least one file, like "
				"/etc/logrotate.conf or /etc/logrotate.d/nginx\n");
		return 1;
	}
	for (int i = 0; i < argc; i++) {
		size_t before = c.n_errors;
		int r = include(NULL, &c, argv[i], "command line", 0);

		if (r == -ENOMEM) {
			fprintf(stderr, "sweepctl: import-logrotate: %s\n", strerror(ENOMEM));
			lrimport_free(&c);
			return 1;
		}
		if (r < 0 && c.n_errors > before && strstr(c.errors[before], "command line:0:")) {
			fprintf(stderr, "sweepctl: import-logrotate: cannot read %s\n",
				c.errors[before] + strlen("command line:0: "));
			status = 1;
		}
	}
	out = lrimport_translate(&c);
	if (!out) {
		fprintf(stderr, "sweepctl: import-logrotate: %s\n", strerror(ENOMEM));
		lrimport_free(&c);
		return 1;
	}
	fputs(out, stdout);
	free(out);
	lrimport_free(&c);
	return status;
}
