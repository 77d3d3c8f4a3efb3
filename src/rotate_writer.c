#include "rotate.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "counters.h"
#include "log.h"
#include "rotate_priv.h"
#include "child.h"

extern char **environ;

static void on_kid(struct ev_loop *loop, ev_child *w, int revents)
{
	struct kid *k = (struct kid *)w, **p;
	struct rotate *r = w->data;

	(void)revents;
	ev_child_stop(loop, w);
	if (!WIFEXITED(w->rstatus) || WEXITSTATUS(w->rstatus)) {
		r->eng.counters->errors++;
		log_err("%s: postrotate failed (%s %d)", k->what,
			WIFEXITED(w->rstatus) ? "exit status" : "signal",
			WIFEXITED(w->rstatus) ? WEXITSTATUS(w->rstatus) : WTERMSIG(w->rstatus));
	}
	for (p = &r->kids; *p != k; p = &(*p)->next)
		;
	*p = k->next;
	free(k->what);
	free(k);
}

/* postrotate through /bin/sh, with the live log as $1 and its copy as $2; not waited for. */
static void run_postrotate(struct rotate *r, const char *cmd, const char *path, const char *copy)
{
	char *argv[] = { "sh", "-c", (char *)cmd, "sweepd-postrotate", (char *)path, (char *)copy,
			 NULL };
	struct kid *k = calloc(1, sizeof(*k));
	pid_t pid;

	if (!k || !(k->what = strdup(path))) {
		free(k);
		log_err("%s: out of memory: postrotate not run", path);
		return;
	}
	pid = child_spawn("/bin/sh", argv, environ, -1, false);
	if (pid < 0) {
		r->eng.counters->errors++;
		log_err("%s: cannot run postrotate: %s", path, strerror((int)-pid));
		free(k->what);
		free(k);
		return;
	}
	ev_child_init(&k->w, on_kid, pid, 0);
	k->w.data = r;
	ev_child_start(r->eng.loop, &k->w);
	k->next = r->kids;
	r->kids = k;
}

/* signal to the pid in pidfile: the writer reopens its log. */
static int signal_writer(const struct rotate_config *rc, char *err, size_t len)
{
	FILE *f = fopen(rc->pidfile, "re");
	long pid = 0;
	bool read_ok = f && fscanf(f, "%ld", &pid) == 1 && pid > 1;

	if (f)
		fclose(f);
	if (!read_ok) {
		snprintf(err, len, "cannot read a pid from pidfile %s%s%s", rc->pidfile,
			 f ? "" : ": ", f ? "" : strerror(errno));
		return -1;
	}
	if (kill((pid_t)pid, rc->signal) < 0) {
		snprintf(err, len, "cannot send SIG%s to pid %ld (from %s): %s",
			 sigabbrev_np(rc->signal), pid, rc->pidfile, strerror(errno));
		return -1;
	}
	return 0;
}

/* Tells the writer of a file moved aside to reopen its log. */
void rotate_reopen_writer(struct rotate *r, const struct rotate_config *rc, const char *path,
			  const char *copy_path)
{
	char err[PATH_MAX + 256];

	if (rc->pidfile && rc->signal && signal_writer(rc, err, sizeof(err)) < 0) {
		r->eng.counters->errors++;
		log_err("%s: rotated, but %s: its writer goes on in %s", path, err, copy_path);
	}
	if (rc->postrotate)
		run_postrotate(r, rc->postrotate, path, copy_path);
}
