#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctlfmt.h"
#include "units.h"
#include "pathenc.h"

#define DEFAULT_SOCKET "/run/sweepd/sweepd.sock"

static const char *const commands_help =
	"commands:\n"
	"  status                          zones, filesystems, archive, counters\n"
	"  settle                          wait until every change made so far is taken in\n"
	"  top ZONE [-n N] [--by size|age] the largest or oldest files of a zone\n"
	"  sweep [ZONE] [--dry-run]        apply the quotas now\n"
	"  archive [ZONE]                  list what is in the archive\n"
	"  restore ID|PATH [--to PATH]     bring an archived file back\n"
	"  purge [--older-than DURATION]   empty the archive of old entries\n"
	"  rotate [ZONE]                   rotate logs now\n"
	"  reserve ZONE BYTES [--timeout S] make room for BYTES more in ZONE\n"
	"  reload | pause | resume         configuration and control\n"
	"  metrics                         Prometheus text\n";

static void usage(FILE *out)
{
	fprintf(out,
		"usage: sweepctl [-s SOCKET] [--json] COMMAND [ARGS]\n"
		"  -s, --socket PATH  the daemon's socket (default $SWEEPD_SOCKET, else %s)\n"
		"      --json         print the daemon's raw JSON reply\n"
		"  -h, --help         this help\n%s",
		DEFAULT_SOCKET, commands_help);
}

static int usage_error(const char *msg)
{
	fprintf(stderr, "sweepctl: %s\n", msg);
	usage(stderr);
	return 1;
}

/* A path argument goes to the daemon in its UTF-8 encoding. */
static void add_path(json_object *req, const char *key, const char *bytes)
{
	char *enc = pathenc_encode(bytes);
	json_object_object_add(req, key, json_object_new_string(enc ? enc : bytes));
	free(enc);
}

/* Builds the request from the command line; NULL after printing a usage error. */
static json_object *build_request(int argc, char **argv)
{
	json_object *req = json_object_new_object();
	const char *cmd = argv[0];
	int pos = 0;

	json_object_object_add(req, "cmd", json_object_new_string(cmd));
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "-n") && val) {
			json_object_object_add(req, "n", json_object_new_int64(atoll(val)));
			i++;
		} else if (!strcmp(a, "--by") && val) {
			json_object_object_add(req, "by", json_object_new_string(val));
			i++;
		} else if (!strcmp(a, "--dry-run")) {
			json_object_object_add(req, "dry_run", json_object_new_boolean(1));
		} else if (!strcmp(a, "--to") && val) {
			add_path(req, "to", val);
			i++;
		} else if ((!strcmp(a, "--older-than") || !strcmp(a, "--timeout")) && val) {
			int64_t secs;
			if (units_parse_duration(val, &secs) < 0) {
				fprintf(stderr, "sweepctl: %s: %s wants a duration (90s, 15m, 1h, 7d), not '%s'\n",
					cmd, a, val);
				json_object_put(req);
				return NULL;
			}
			json_object_object_add(req, a[2] == 'o' ? "older_than" : "timeout",
					       json_object_new_int64(secs));
			i++;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "sweepctl: %s: unknown option '%s'\n", cmd, a);
			json_object_put(req);
			return NULL;
		} else if (pos == 0 && !strcmp(cmd, "restore")) {
			char *end;
			long long id = strtoll(a, &end, 10);
			if (*a && !*end)
				json_object_object_add(req, "id", json_object_new_int64(id));
			else
				add_path(req, "path", a);
			pos++;
		} else if (pos == 0 && strcmp(cmd, "purge")) {
			json_object_object_add(req, "zone", json_object_new_string(a));
			pos++;
		} else if (pos == 1 && !strcmp(cmd, "reserve")) {
			json_object_object_add(req, "bytes", json_object_new_int64(atoll(a)));
			pos++;
		} else {
			fprintf(stderr, "sweepctl: %s: unexpected argument '%s'\n", cmd, a);
			json_object_put(req);
			return NULL;
		}
	}
	return req;
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Sends one line and reads one line back; malloc'd, or NULL. */
static char *exchange(int fd, const char *line)
{
	size_t len = strlen(line), off = 0, cap = 65536, have = 0;
	char *buf;

	while (off < len) {
		ssize_t n = send(fd, line + off, len - off, MSG_NOSIGNAL);
		if (n < 0)
			return NULL;
		off += (size_t)n;
	}
	buf = malloc(cap);
	while (buf) {
		ssize_t n;
		char *nl;

		if (have + 1 >= cap) {
			char *g = realloc(buf, cap * 2);
			if (!g)
				break;
			buf = g;
			cap *= 2;
		}
		n = recv(fd, buf + have, cap - have - 1, 0);
		if (n <= 0)
			break;
		have += (size_t)n;
		buf[have] = '\0';
		nl = memchr(buf, '\n', have);
		if (nl) {
			*nl = '\0';
			return buf;
		}
	}
	free(buf);
	return NULL;
}

int main(int argc, char **argv)
{
	const char *sock = getenv("SWEEPD_SOCKET");
	json_object *req, *reply, *ok;
	bool json = false;
	char *line, *answer;
	int i, fd, status;

	if (!sock || !*sock)
		sock = DEFAULT_SOCKET;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if ((!strcmp(argv[i], "-s") || !strcmp(argv[i], "--socket")) && i + 1 < argc)
			sock = argv[++i];
		else if (!strcmp(argv[i], "--json"))
			json = true;
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else
			return usage_error("unknown option");
	}
	if (i == argc)
		return usage_error("no command given");
	if (argc > i + 1 && (!strcmp(argv[i + 1], "-h") || !strcmp(argv[i + 1], "--help"))) {
		usage(stdout);
		return 0;
	}
	req = build_request(argc - i, argv + i);
	if (!req)
		return 1;
	if (asprintf(&line, "%s\n", json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN)) < 0) {
		json_object_put(req);
		return 1;
	}
	json_object_put(req);
	fd = connect_to(sock);
	if (fd < 0) {
		fprintf(stderr, "sweepctl: cannot reach sweepd at %s: %s\n", sock, strerror(errno));
		free(line);
		return 2;
	}
	answer = exchange(fd, line);
	close(fd);
	free(line);
	if (!answer) {
		fprintf(stderr, "sweepctl: sweepd at %s closed the connection without an answer\n",
			sock);
		return 2;
	}
	reply = json_tokener_parse(answer);
	if (!reply || !json_object_object_get_ex(reply, "ok", &ok)) {
		fprintf(stderr, "sweepctl: unreadable answer from %s: %s\n", sock, answer);
		json_object_put(reply);
		free(answer);
		return 2;
	}
	status = json_object_get_boolean(ok) ? 0 : 1;
	if (json) {
		printf("%s\n", answer);
	} else if (status) {
		json_object *e;
		json_object_object_get_ex(reply, "error", &e);
		fprintf(stderr, "sweepctl: %s\n", json_object_get_string(e));
	} else if (!strcmp(argv[i], "status")) {
		ctlfmt_status(reply, stdout);
	} else if (!strcmp(argv[i], "top")) {
		ctlfmt_top(reply, stdout);
	} else if (!strcmp(argv[i], "archive")) {
		ctlfmt_archive(reply, stdout);
	} else if (!strcmp(argv[i], "sweep")) {
		ctlfmt_actions(reply, stdout);
	} else {
		ctlfmt_generic(reply, stdout);
	}
	json_object_put(reply);
	free(answer);
	return status;
}
