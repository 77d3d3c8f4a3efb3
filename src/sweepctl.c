#include <errno.h>
#include <stdint.h>
#include <json-c/json.h>
#include <locale.h>
#include <math.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl_hash.h"
#include "ctl_import.h"
#include "ctlfmt.h"
#include "units.h"
#include "pathenc.h"

#define DEFAULT_SOCKET "/run/sweepd/sweepd.sock"
#define DEFAULT_TIMEOUT 30.0

struct command {
	const char *name, *args, *summary, *details;
};

static const struct command commands[] = {
	{"status", "[--wide]", "zones, filesystems, archive, trends, counters",
	 "Usage bars against each zone's max_size and each disk's high mark, growth per\n"
	 "day with the last 24 hours as a sparkline, and when a growing disk would\n"
	 "cross its high mark. It fits the terminal's width ($COLUMNS when not a\n"
	 "terminal, else 80): the least needed columns go and long names and paths\n"
	 "are cut in the middle; --wide prints every column whole."},
	{"settle", "", "wait until every change made so far is taken in and acted on", NULL},
	{"top", "ZONE [-n N] [--by size|age] [--wide]", "the largest or oldest files of a zone",
	 "IDLE is the time since the file was last read or written; a file open for\n"
	 "writing shows \"writing\". Fits the terminal's width as status does."},
	{"sweep", "[ZONE] [--dry-run]", "apply the quotas now (admin)",
	 "With --dry-run, report what would be done and change nothing."},
	{"archive", "[ZONE]", "list what is in the archive", NULL},
	{"restore", "ID|PATH [--to PATH]", "bring an archived file back (admin)",
	 "Never overwrites: an error if something already stands at the destination.\n"
	 "PATH is read as sweepctl archive prints it: a backslash is written \\\\, and\n"
	 "a control byte or a byte that is not UTF-8 \\xHH; quote it for the shell\n"
	 "('...'), as in: sweepctl restore '/srv/out/new\\x0aline.mp4'"},
	{"purge", "[--older-than DURATION]", "empty the archive of old entries (admin)", NULL},
	{"rotate", "[ZONE]", "rotate logs now (admin)", NULL},
	{"reserve", "ZONE SIZE [--timeout DURATION]", "make room for SIZE more in ZONE (admin)",
	 "Sweeps what the zone's rules allow until SIZE more bytes fit within its\n"
	 "max_size and under the disk's high mark; waits up to --timeout for files\n"
	 "being written or too young. Exits 1 when the room is not there, so that\n"
	 "a job can run it first: sweepctl reserve outputs 300M && render ..."},
	{"reload", "", "read the configuration again (admin)",
	 "Taken whole, or refused whole: the errors are printed with file:line and\n"
	 "the running configuration stays."},
	{"pause", "", "touch nothing until resume (admin)", NULL},
	{"resume", "", "act again (admin)", NULL},
	{"metrics", "", "Prometheus text exposition format", NULL},
	{"explain", "PATH", "why a file is kept, due or blocked, and who writes it",
	 "Says which zone and rule apply, whether the file is kept, due, blocked or\n"
	 "outside every zone and why, when it falls due, which processes hold it\n"
	 "open for writing, and for a log when it rotates next. PATH is read as for\n"
	 "restore: a backslash is written \\\\."},
	{"hash-password", "", "a bcrypt hash for http.basic_auth_users (no daemon needed)",
	 "Asks for the password twice on a terminal, or reads one line of standard\n"
	 "input, and prints the hash to put in the config:\n"
	 "  basic_auth_users = { ops = \"$2y$10$...\"; };"},
	{"import-logrotate", "FILE...", "sweepd zones from logrotate files (no daemon needed)",
	 "Reads logrotate configuration files (a directory: each file in it, as\n"
	 "include does; /etc/logrotate.conf with its include /etc/logrotate.d) and\n"
	 "prints the equivalent zones = ( ... ); for sweepd.conf, with a comment for\n"
	 "each directive that does not carry over and why. Check it with sweepd -t."},
};
#define N_COMMANDS (sizeof(commands) / sizeof(*commands))

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static void list_commands(FILE *out)
{
	char left[64];

	fprintf(out, "commands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++) {
		snprintf(left, sizeof(left), "%s %s", commands[i].name, commands[i].args);
		fprintf(out, "  %-40s %s\n", left, commands[i].summary);
	}
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: sweepctl [-s SOCKET] [--json] [--timeout SECONDS] COMMAND [ARGS]\n"
		"  -s, --socket PATH  the daemon's socket (default $SWEEPD_SOCKET, else %s)\n"
		"      --json         print the daemon's raw JSON reply\n"
		"      --wide         status, top: every column whole, whatever the width\n"
		"      --timeout S    give up (exit 2) when no answer comes within S seconds\n"
		"                     (default %g; reserve's own --timeout is added to it)\n"
		"  -h, --help         this help; sweepctl COMMAND -h for one command\n",
		DEFAULT_SOCKET, DEFAULT_TIMEOUT);
	list_commands(out);
	fprintf(out, "exit status: 0 done, 1 the daemon answered with an error, 2 it cannot be "
		     "reached\n");
}

static void command_usage(const struct command *c, FILE *out)
{
	fprintf(out, "usage: sweepctl [-s SOCKET] [--json] %s%s%s\n%s.\n", c->name,
		*c->args ? " " : "", c->args, c->summary);
	if (c->details)
		fprintf(out, "\n%s\n", c->details);
}

static int usage_error(const char *msg)
{
	fprintf(stderr, "sweepctl: %s\n", msg);
	usage(stderr);
	return 1;
}

/*
 * A path argument is read as sweepctl prints paths (\\ and \xHH escapes), so
 * that a line of "sweepctl archive" pastes back; it goes to the daemon in the
 * protocol's UTF-8 encoding. Returns 0, or -1 after saying what is wrong.
 */
static int add_path(json_object *req, const char *cmd, const char *key, const char *text)
{
	char *bytes = NULL, *enc;
	size_t at = 0;
	int r = pathenc_unescape(text, &bytes, &at);

	if (r == -EINVAL) {
		fprintf(stderr,
			"sweepctl: %s: the backslash at byte %zu of the path starts neither \\\\ nor "
			"\\xHH (HH a byte, not 00): paths are read as sweepctl prints them, so a "
			"backslash is written \\\\\n",
			cmd, at);
		return -1;
	}
	if (r == 0 && !*bytes) {
		fprintf(stderr, "sweepctl: %s: an empty path\n", cmd);
		free(bytes);
		return -1;
	}
	/* The daemon has a working directory of its own: a relative path is made ours. */
	if (r == 0 && bytes[0] != '/') {
		char *cwd = getcwd(NULL, 0), *abs = NULL;

		if (!cwd || asprintf(&abs, "%s/%s", strcmp(cwd, "/") ? cwd : "", bytes) < 0)
			abs = NULL;
		free(cwd);
		free(bytes);
		bytes = abs;
		r = abs ? 0 : -ENOMEM;
	}
	enc = r == 0 ? pathenc_encode(bytes) : NULL;
	free(bytes);
	if (!enc) {
		fprintf(stderr, "sweepctl: %s: %s\n", cmd, strerror(ENOMEM));
		return -1;
	}
	json_object_object_add(req, key, json_object_new_string(enc));
	free(enc);
	return 0;
}

/*
 * explain's path as the daemon knows it: a relative one taken from the working
 * directory, and the directory it is in with its links resolved (a zone's path
 * is kept so), when it is there; malloc'd, or NULL to send it as given.
 */
static char *explain_path(const char *a)
{
	char *cwd = a[0] == '/' ? NULL : realpath(".", NULL), *full = NULL, *dir, *slash, *out = NULL;

	if (a[0] != '/' && (!cwd || asprintf(&full, "%s/%s", cwd, a) < 0))
		full = NULL;
	free(cwd);
	if (!full && !(full = strdup(a)))
		return NULL;
	slash = strrchr(full, '/');
	*slash = '\0';
	dir = realpath(*full ? full : "/", NULL);
	*slash = '/';
	if (dir && asprintf(&out, "%s/%s", strcmp(dir, "/") ? dir : "", slash + 1) < 0)
		out = NULL;
	free(dir);
	if (out) {
		free(full);
		return out;
	}
	return full;
}

/* Builds the request from the command line; NULL after printing a usage error. */
static json_object *build_request(int argc, char **argv, bool *wide)
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
		} else if (!strcmp(a, "--wide")) {
			*wide = true;
		} else if (!strcmp(a, "--dry-run")) {
			json_object_object_add(req, "dry_run", json_object_new_boolean(1));
		} else if (!strcmp(a, "--to") && val) {
			if (add_path(req, cmd, "to", val) < 0) {
				json_object_put(req);
				return NULL;
			}
			i++;
		} else if (!strcmp(a, "--timeout") && strcmp(cmd, "reserve")) {
			fprintf(stderr,
				"sweepctl: %s: --timeout goes before the command, as in 'sweepctl "
				"--timeout 5 %s' (after it, only reserve takes one: how long to wait "
				"for room)\n",
				cmd, cmd);
			json_object_put(req);
			return NULL;
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
		} else if (pos == 0 && !strcmp(cmd, "explain")) {
			char *full = explain_path(a);
			if (add_path(req, cmd, "path", full ? full : a) < 0) {
				free(full);
				json_object_put(req);
				return NULL;
			}
			free(full);
			pos++;
		} else if (pos == 0 && !strcmp(cmd, "restore")) {
			char *end;
			long long id = strtoll(a, &end, 10);
			if (*a && !*end) {
				json_object_object_add(req, "id", json_object_new_int64(id));
			} else if (add_path(req, cmd, "path", a) < 0) {
				json_object_put(req);
				return NULL;
			}
			pos++;
		} else if (pos == 0 && strcmp(cmd, "purge")) {
			json_object_object_add(req, "zone", json_object_new_string(a));
			pos++;
		} else if (pos == 1 && !strcmp(cmd, "reserve")) {
			uint64_t bytes;
			if (units_parse_size(a, &bytes) < 0 || bytes > INT64_MAX) {
				fprintf(stderr, "sweepctl: reserve wants a size (300M, 2G, 512K or bytes), not '%s'\n",
					a);
				json_object_put(req);
				return NULL;
			}
			json_object_object_add(req, "bytes", json_object_new_int64((int64_t)bytes));
			pos++;
		} else {
			fprintf(stderr, "sweepctl: %s: unexpected argument '%s'\n", cmd, a);
			json_object_put(req);
			return NULL;
		}
	}
	return req;
}

/* Columns to fit: 0 (no limit) with --wide, else the terminal's, $COLUMNS, or 80. */
static int output_width(bool wide)
{
	struct winsize ws;
	const char *env = getenv("COLUMNS");
	char *end;
	long n;

	if (wide)
		return 0;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	if (env && *env) {
		n = strtol(env, &end, 10);
		if (!*end && n > 0 && n < 100000)
			return (int)n;
	}
	return 80;
}

/* One line of an error on stderr: pre, len bytes of text escaped as paths are, post. */
static void error_line(const char *pre, const char *text, size_t len, const char *post)
{
	char *part = strndup(text, len);

	fputs(pre, stderr);
	/* Its sentences name paths: escaped as the paths in tables are. */
	ctlfmt_path(part ? part : "", stderr);
	fprintf(stderr, "%s\n", post);
	free(part);
}

/*
 * An error reply: its sentence, then its "errors" (a refused reload's, each
 * with file:line) one a line. The sentence quotes the first of them: it is
 * cut there so that each error is printed once.
 */
static void print_error(json_object *reply)
{
	json_object *e = NULL, *errs = NULL;
	const char *msg, *first, *at = NULL;
	size_t n;

	json_object_object_get_ex(reply, "error", &e);
	msg = e && json_object_get_string(e) ? json_object_get_string(e) : "the daemon gave no reason";
	json_object_object_get_ex(reply, "errors", &errs);
	n = json_object_is_type(errs, json_type_array) ? json_object_array_length(errs) : 0;
	first = n ? json_object_get_string(json_object_array_get_idx(errs, 0)) : NULL;
	if (first && *first)
		at = strstr(msg, first);
	if (at == msg)
		at = NULL; /* the sentence is the first error: printed as it is */
	if (at) {
		size_t len = (size_t)(at - msg);
		while (len && (msg[len - 1] == ' ' || msg[len - 1] == ':'))
			len--;
		error_line("sweepctl: ", msg, len, ":");
	} else {
		error_line("sweepctl: ", msg, strlen(msg), "");
	}
	for (size_t k = 0; k < n; k++) {
		const char *one = json_object_get_string(json_object_array_get_idx(errs, k));
		if (one && (at || !strstr(msg, one)))
			error_line("  ", one, strlen(one), "");
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Milliseconds left until deadline (at least 1 while any is left), 0 when past. */
static int left_ms(double deadline)
{
	double left = deadline - now_s();

	return left <= 0 ? 0 : left > 86400.0 ? 86400000 : (int)(left * 1000.0) + 1;
}

/*
 * Connects before deadline. A Unix stream connect waits while the daemon's
 * backlog is full (a stopped daemon stops emptying it); SO_SNDTIMEO bounds that
 * wait, and the send that follows. ETIMEDOUT when the time is up.
 */
static int connect_to(const char *path, double deadline)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int ms = left_ms(deadline), fd;
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno == EAGAIN || errno == EINPROGRESS ? ETIMEDOUT : errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Sends one line and reads one line back before deadline; malloc'd, or NULL with errno. */
static char *exchange(int fd, const char *line, double deadline)
{
	size_t len = strlen(line), off = 0, cap = 65536, have = 0;
	char *buf;

	while (off < len) {
		ssize_t n = send(fd, line + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
			break; /* refused at once: its reason may wait to be read */
		if (n < 0) {
			if (errno == EAGAIN)
				errno = ETIMEDOUT;
			return NULL;
		}
		off += (size_t)n;
	}
	buf = malloc(cap);
	while (buf) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;
		char *nl;
		int r;

		if (have + 1 >= cap) {
			char *g = realloc(buf, cap * 2);
			if (!g)
				break;
			buf = g;
			cap *= 2;
		}
		r = poll(&p, 1, left_ms(deadline));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = ETIMEDOUT;
			break;
		}
		n = recv(fd, buf + have, cap - have - 1, 0);
		if (n <= 0) {
			errno = n == 0 ? ECONNRESET : errno;
			break;
		}
		nl = memchr(buf + have, '\n', (size_t)n); /* only what came now: replies can be large */
		have += (size_t)n;
		buf[have] = '\0';
		if (nl) {
			*nl = '\0';
			return buf;
		}
	}
	free(buf);
	return NULL;
}

/* A --timeout value: seconds, a positive number; -1 when it is not one. */
static double parse_timeout(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	return *s && !*end && isfinite(v) && v > 0 && v <= 86400.0 * 365 ? v : -1;
}

int main(int argc, char **argv)
{
	const char *sock = getenv("SWEEPD_SOCKET");
	const struct command *cmd;
	json_object *req, *reply, *ok;
	bool json = false, wide = false;
	char *line, *answer;
	int i, fd, status;
	double timeout = DEFAULT_TIMEOUT, deadline;
	json_object *wait;

	setlocale(LC_CTYPE, ""); /* sparklines in UTF-8 where the terminal speaks it */
	if (!sock || !*sock)
		sock = DEFAULT_SOCKET;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if ((!strcmp(argv[i], "-s") || !strcmp(argv[i], "--socket")) && i + 1 < argc)
			sock = argv[++i];
		else if (!strcmp(argv[i], "--json"))
			json = true;
		else if (!strcmp(argv[i], "--wide"))
			wide = true;
		else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
			timeout = parse_timeout(argv[++i]);
			if (timeout < 0) {
				fprintf(stderr, "sweepctl: --timeout wants a number of seconds above 0, "
						"not '%s'\n", argv[i]);
				return 1;
			}
		}
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else
			return usage_error("unknown option");
	}
	if (i == argc)
		return usage_error("no command given");
	cmd = find_command(argv[i]);
	if (!cmd) {
		fprintf(stderr, "sweepctl: unknown command '%s'\n", argv[i]);
		list_commands(stderr);
		return 1;
	}
	for (int k = i + 1; k < argc; k++)
		if (!strcmp(argv[k], "-h") || !strcmp(argv[k], "--help")) {
			command_usage(cmd, stdout);
			return 0;
		}
	if (!strcmp(cmd->name, "hash-password"))
		return argc - i == 1 ? ctl_hash_password() : usage_error("hash-password takes no "
									"arguments");
	if (!strcmp(cmd->name, "import-logrotate"))
		return ctl_import_logrotate(argc - i - 1, argv + i + 1);
	if (!strcmp(cmd->name, "reserve") && argc - i < 3) {
		fprintf(stderr, "sweepctl: reserve needs a zone and a size\n");
		command_usage(cmd, stderr);
		return 1;
	}
	req = build_request(argc - i, argv + i, &wide);
	if (!req)
		return 1;
	if (asprintf(&line, "%s\n", json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN)) < 0) {
		json_object_put(req);
		return 1;
	}
	/* A reservation may wait on the daemon's side: that time comes on top. */
	if (json_object_object_get_ex(req, "timeout", &wait))
		timeout += (double)json_object_get_int64(wait);
	json_object_put(req);
	deadline = now_s() + timeout;
	fd = connect_to(sock, deadline);
	answer = fd < 0 ? NULL : exchange(fd, line, deadline);
	if (fd >= 0) {
		int e = errno;
		close(fd);
		errno = e;
	}
	free(line);
	if (!answer && errno == ETIMEDOUT) {
		fprintf(stderr, "sweepctl: sweepd at %s did not answer within %g s (is it stopped "
				"or stuck? --timeout sets how long to wait)\n",
			sock, timeout);
		return 2;
	}
	if (fd < 0) {
		fprintf(stderr, "sweepctl: cannot reach sweepd at %s: %s\n", sock, strerror(errno));
		return 2;
	}
	if (!answer) {
		fprintf(stderr, "sweepctl: sweepd at %s closed the connection without an answer\n",
			sock);
		return 2;
	}
	reply = json_tokener_parse(answer);
	if (!reply || !json_object_object_get_ex(reply, "ok", &ok)) {
		fprintf(stderr, "sweepctl: unreadable answer from %s: ", sock);
		ctlfmt_path(answer, stderr);
		fputc('\n', stderr);
		json_object_put(reply);
		free(answer);
		return 2;
	}
	status = json_object_get_boolean(ok) ? 0 : 1;
	if (json) {
		printf("%s\n", answer);
	} else if (status) {
		json_object *e;
		/* A rotation or sweep that failed for some files: what was done still shows. */
		if ((json_object_object_get_ex(reply, "actions", &e) && json_object_array_length(e)) ||
		    json_object_object_get_ex(reply, "failed", &e))
			ctlfmt_actions(reply, stdout);
		print_error(reply);
	} else if (!strcmp(argv[i], "metrics")) {
		json_object *t;
		json_object_object_get_ex(reply, "text", &t);
		fputs(json_object_get_string(t), stdout);
	} else if (!strcmp(argv[i], "reserve")) {
		ctlfmt_reserve(reply, stdout);
	} else if (!strcmp(argv[i], "reload")) {
		ctlfmt_reload(reply, stdout);
	} else if (!strcmp(argv[i], "status")) {
		ctlfmt_status(reply, stdout, output_width(wide));
	} else if (!strcmp(argv[i], "top")) {
		ctlfmt_top(reply, stdout, output_width(wide));
	} else if (!strcmp(argv[i], "archive")) {
		ctlfmt_archive(reply, stdout);
	} else if (!strcmp(argv[i], "sweep") || !strcmp(argv[i], "rotate")) {
		ctlfmt_actions(reply, stdout);
	} else if (!strcmp(argv[i], "purge")) {
		ctlfmt_purge(reply, stdout);
	} else if (!strcmp(argv[i], "restore")) {
		ctlfmt_restore(reply, stdout);
	} else if (!strcmp(argv[i], "explain")) {
		ctlfmt_explain(reply, stdout);
	} else if (!strcmp(argv[i], "pause") || !strcmp(argv[i], "resume")) {
		ctlfmt_paused(!strcmp(argv[i], "pause"), stdout);
	} else {
		ctlfmt_generic(reply, stdout);
	}
	json_object_put(reply);
	free(answer);
	return status;
}
