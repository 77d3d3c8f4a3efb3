#include "alert.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "counters.h"
#include "log.h"
#include "child.h"
#include "trusted.h"

extern char **environ;

/*
 * One alarm's runs: the one under way (at most one per alarm) and the next,
 * the latest state asked for while it waited. A slot lives while either is
 * there.
 */
struct slot {
	struct slot *next;
	struct alert *a;
	char *key; /* alert_name(): the alarm in the log, and its identity here */
	/* The run under way. */
	bool running, killed;
	pid_t pid;
	ev_child child;
	ev_timer kill;
	char *run_command;
	enum alert_status run_status;
	/* The next run. */
	bool pending;
	uint64_t seq; /* its place in the line */
	enum alert_status status;
	char *json, *name, *summary;
};

struct alert {
	struct ev_loop *loop;
	struct counters *counters;
	struct alert_track *track;
	char *command;
	int64_t repeat;
	double timeout;
	struct slot *slots;
	size_t running;
	uint64_t seq;
	ev_timer repeat_timer;
};

static void pump(struct alert *a);
static void arm_repeat(struct alert *a, int64_t now);

static void pending_clear(struct slot *s)
{
	free(s->json);
	free(s->name);
	free(s->summary);
	s->json = s->name = s->summary = NULL;
	s->pending = false;
}

/* Unlinks and frees s once it neither runs nor waits. */
static void slot_release(struct slot *s)
{
	struct slot **p;

	if (s->running || s->pending)
		return;
	for (p = &s->a->slots; *p != s; p = &(*p)->next)
		;
	*p = s->next;
	free(s->run_command);
	free(s->key);
	free(s);
}

static const char *status_word(enum alert_status st)
{
	return st == ALERT_FIRING ? "firing" : "resolved";
}

/* A run that failed: logged once, with the alarm, the command and why; counted. */
static void run_failed(struct alert *a, const struct slot *s, const char *command,
		       enum alert_status st, const char *why)
{
	a->counters->alert_failures++;
	log_err("alert %s (%s): %s %s", s->key, status_word(st),
		command ? command : "alert_command", why);
}

static void on_child(struct ev_loop *loop, ev_child *w, int revents)
{
	struct slot *s = w->data;
	struct alert *a = s->a;
	int st = w->rstatus;
	char why[128];

	(void)revents;
	ev_child_stop(loop, w);
	ev_timer_stop(loop, &s->kill);
	if (s->killed)
		snprintf(why, sizeof(why), "did not finish in %g s: killed", a->timeout);
	else if (WIFSIGNALED(st))
		snprintf(why, sizeof(why), "was killed by signal %d (%s)", WTERMSIG(st),
			 strsignal(WTERMSIG(st)));
	else if (WIFEXITED(st) && WEXITSTATUS(st))
		snprintf(why, sizeof(why), "exited with status %d", WEXITSTATUS(st));
	else
		why[0] = '\0';
	if (why[0])
		run_failed(a, s, s->run_command, s->run_status, why);
	else
		log_debug("alert %s (%s): %s done", s->key, status_word(s->run_status),
			  s->run_command ? s->run_command : "alert_command");
	s->running = false;
	a->running--;
	free(s->run_command);
	s->run_command = NULL;
	slot_release(s);
	pump(a);
}

/* Past the limit: the child and whatever it started (its process group) are killed. */
static void on_kill(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct slot *s = t->data;

	(void)loop;
	(void)revents;
	s->killed = true;
	kill(-s->pid, SIGKILL);
}

/* The daemon's environment with SWEEPD_ALERT_STATUS, _NAME and _SUMMARY set for this run. */
static char **run_env(const struct slot *s, char *own[3])
{
	size_t n = 0, k = 0;
	char **env;

	while (environ[n])
		n++;
	env = calloc(n + 4, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "SWEEPD_ALERT_STATUS=", 20) &&
		    strncmp(environ[i], "SWEEPD_ALERT_NAME=", 18) &&
		    strncmp(environ[i], "SWEEPD_ALERT_SUMMARY=", 21))
			env[k++] = environ[i];
	if (asprintf(&own[0], "SWEEPD_ALERT_STATUS=%s", status_word(s->status)) < 0)
		own[0] = NULL;
	if (asprintf(&own[1], "SWEEPD_ALERT_NAME=%s", s->name) < 0)
		own[1] = NULL;
	if (asprintf(&own[2], "SWEEPD_ALERT_SUMMARY=%s", s->summary) < 0)
		own[2] = NULL;
	if (!own[0] || !own[1] || !own[2]) {
		free(env);
		return NULL;
	}
	env[k++] = own[0];
	env[k++] = own[1];
	env[k++] = own[2];
	return env;
}

/* The JSON in a memfd at offset 0: the child's stdin, which can never block the loop. */
static int stdin_memfd(const char *json)
{
	size_t len = strlen(json), off = 0;
	int fd = memfd_create("sweepd-alert", MFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	while (off < len) {
		ssize_t w = write(fd, json + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = w < 0 ? errno : EIO;
			close(fd);
			return -e;
		}
		off += (size_t)w;
	}
	if (lseek(fd, 0, SEEK_SET) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

/* The command, no shell, no arguments, the JSON on its standard input. The pid, or -errno. */
static pid_t spawn(const char *command, const char *json, char **env)
{
	char *argv[] = { (char *)command, NULL };
	int fd = stdin_memfd(json);
	pid_t pid;

	if (fd < 0)
		return fd;
	pid = child_spawn(command, argv, env, fd, true);
	close(fd);
	return pid;
}

/* Starts s's next run. */
static void start(struct alert *a, struct slot *s)
{
	char *own[3] = { NULL, NULL, NULL }, why[PATH_MAX + 200];
	char **env;
	pid_t pid;
	enum alert_status st = s->status;

	/* Checked again at each run: what is there now is what would run as sweepd's user. */
	if (path_trusted(a->command, why, sizeof(why)) < 0) {
		a->counters->alert_runs++;
		pending_clear(s);
		run_failed(a, s, a->command, st, why);
		slot_release(s);
		return;
	}
	env = run_env(s, own);
	pid = env ? spawn(a->command, s->json, env) : -ENOMEM;

	a->counters->alert_runs++;
	free(env);
	free(own[0]);
	free(own[1]);
	free(own[2]);
	pending_clear(s);
	if (pid < 0) {
		snprintf(why, sizeof(why), "could not be started: %s", strerror((int)-pid));
		run_failed(a, s, a->command, st, why);
		slot_release(s);
		return;
	}
	s->run_command = strdup(a->command); /* for the log; NULL when out of memory */
	s->running = true;
	s->killed = false;
	s->run_status = st;
	s->pid = pid;
	a->running++;
	ev_child_init(&s->child, on_child, pid, 0);
	s->child.data = s;
	ev_child_start(a->loop, &s->child);
	ev_timer_init(&s->kill, on_kill, a->timeout, 0);
	s->kill.data = s;
	ev_timer_start(a->loop, &s->kill);
}

/* Starts waiting runs, in the order they were asked for, while fewer than the limit run. */
static void pump(struct alert *a)
{
	while (a->command && a->running < ALERT_MAX_RUNNING) {
		struct slot *first = NULL;

		for (struct slot *s = a->slots; s; s = s->next)
			if (s->pending && !s->running && (!first || s->seq < first->seq))
				first = s;
		if (!first)
			return;
		start(a, first);
	}
}

/* What a round asks for: the latest state of an alarm replaces any it had waiting. */
static void on_event(const struct alert_event *ev, void *ud)
{
	struct alert *a = ud;
	char *key = alert_name(ev->alarm);
	struct slot *s = NULL;
	char *json, *name, *summary;

	for (s = key ? a->slots : NULL; s && strcmp(s->key, key); s = s->next)
		;
	if (key && !s && (s = calloc(1, sizeof(*s)))) {
		s->a = a;
		s->key = key;
		key = NULL;
		s->next = a->slots;
		a->slots = s;
	}
	free(key);
	json = alert_json(ev->alarm, ev->status, ev->ends_at, NULL);
	name = strdup(ev->alarm->name);
	summary = strdup(ev->alarm->summary);
	if (!s || !json || !name || !summary) {
		free(json);
		free(name);
		free(summary);
		a->counters->alert_failures++;
		log_err("alert %s (%s): out of memory: %s not run", ev->alarm->name,
			status_word(ev->status), a->command);
		if (s)
			slot_release(s);
		return;
	}
	if (!s->pending)
		s->seq = ++a->seq;
	pending_clear(s);
	s->pending = true;
	s->status = ev->status;
	s->json = json;
	s->name = name;
	s->summary = summary;
}

static void on_repeat(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct alert *a = t->data;
	int64_t now = (int64_t)time(NULL);

	(void)loop;
	(void)revents;
	alert_track_due(a->track, now, a->repeat, a->command != NULL, on_event, a);
	pump(a);
	arm_repeat(a, now);
}

/* The repeat timer, set for the next alarm due to fire again. */
static void arm_repeat(struct alert *a, int64_t now)
{
	int64_t next = a->command ? alert_track_next(a->track, a->repeat) : 0;

	ev_timer_stop(a->loop, &a->repeat_timer);
	if (!next)
		return;
	ev_timer_set(&a->repeat_timer, next > now ? (double)(next - now) : 0.0, 0.0);
	ev_timer_start(a->loop, &a->repeat_timer);
}

struct alert *alert_create(struct ev_loop *loop, struct counters *counters)
{
	struct alert *a = calloc(1, sizeof(*a));
	const char *t = getenv("SWEEPD_ALERT_TIMEOUT_S");
	char *end;

	if (!a || !(a->track = alert_track_create())) {
		free(a);
		return NULL;
	}
	a->loop = loop;
	a->counters = counters;
	a->timeout = ALERT_TIMEOUT_S;
	if (t && *t) {
		double v = strtod(t, &end);

		if (!*end && v > 0 && v <= 3600)
			a->timeout = v;
		log_warn("SWEEPD_ALERT_TIMEOUT_S=%s (a hook for tests): alert_command is killed "
			 "after %g s",
			 t, a->timeout);
	}
	ev_timer_init(&a->repeat_timer, on_repeat, 0.0, 0.0);
	a->repeat_timer.data = a;
	return a;
}

void alert_destroy(struct alert *a)
{
	size_t killed = 0, dropped = 0;

	if (!a)
		return;
	ev_timer_stop(a->loop, &a->repeat_timer);
	while (a->slots) {
		struct slot *s = a->slots;

		if (s->running) {
			ev_child_stop(a->loop, &s->child);
			ev_timer_stop(a->loop, &s->kill);
			kill(-s->pid, SIGTERM);
			killed++;
		}
		dropped += s->pending;
		pending_clear(s);
		a->slots = s->next;
		free(s->run_command);
		free(s->key);
		free(s);
	}
	if (killed || dropped)
		log_warn("stopping: %zu alert_command run(s) still going sent SIGTERM, %zu not yet "
			 "started dropped",
			 killed, dropped);
	alert_track_destroy(a->track);
	free(a->command);
	free(a);
}

int alert_configure(struct alert *a, const char *command, int64_t repeat)
{
	char *c = command ? strdup(command) : NULL;

	if (command && !c)
		return -ENOMEM;
	free(a->command);
	a->command = c;
	a->repeat = repeat;
	if (!c) {
		/* No more runs: those waiting are dropped, those running finish. */
		for (struct slot *s = a->slots, *next; s; s = next) {
			next = s->next;
			pending_clear(s);
			slot_release(s);
		}
	}
	arm_repeat(a, (int64_t)time(NULL));
	pump(a);
	return 0;
}

void alert_sync(struct alert *a, const struct alarms *alarms, int64_t now)
{
	alert_track_sync(a->track, alarms, now, a->repeat, a->command != NULL, on_event, a);
	pump(a);
	arm_repeat(a, now);
}

size_t alert_running(const struct alert *a)
{
	return a->running;
}

size_t alert_waiting(const struct alert *a)
{
	size_t n = 0;

	for (const struct slot *s = a->slots; s; s = s->next)
		n += s->pending;
	return n;
}
