#include "rotate.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "audit.h"
#include "counters.h"
#include "log.h"
#include "pathenc.h"
#include "rotate_priv.h"
#include "child.h"
#include "sweep_run.h"
#include "table.h"

/*
 * prerotate: run before a log's cut, with the log's path as $1, not waited
 * for on the loop. Its exit decides: 0 queues the cut; anything else (or
 * PRE_TIMEOUT_S without an exit: killed) skips this rotation, said in the
 * log, the audit and the prerotate_failed alarm, which lasts until a
 * prerotate of that log succeeds. The log is tried again at its next
 * trigger, RETRY_S on.
 */

#define PRE_TIMEOUT_S 60

extern char **environ;

struct pre {
	ev_child child;
	ev_timer timeout;
	struct pre *next;
	struct rotate *r;
	pid_t pid;
	bool killed;
	char *zone, *rel, *path;
	uint64_t ino;
	enum policy_reason why;
	struct sweep_run *run;
	json_object *errors;
};

static void start_queued(struct rotate *r);

/* p freed: a running one (taken off the list, its watchers stopped) or a queued one. */
static void pre_free(struct rotate *r, struct pre *p)
{
	struct pre **pp;

	for (pp = &r->pres; *pp && *pp != p; pp = &(*pp)->next)
		;
	if (*pp) {
		*pp = p->next;
		r->n_pres--;
	}
	ev_child_stop(r->eng.loop, &p->child);
	ev_timer_stop(r->eng.loop, &p->timeout);
	json_object_put(p->errors);
	sweep_run_release(p->run);
	free(p->zone);
	free(p->rel);
	free(p->path);
	free(p);
}

/* The live log p ran for, as the rotator knows it now; NULL when gone. */
static struct live *pre_live(struct rotate *r, const struct pre *p, int *zi)
{
	struct live *l;

	*zi = config_zone_index(r->eng.cfg, p->zone);
	if (*zi < 0)
		return NULL;
	l = u64map_get(r->lives, rotate_live_key((uint32_t)*zi, p->ino));
	return l && l->ino == p->ino && l->zone == (uint32_t)*zi ? l : NULL;
}

/* A failure: said in the log, the audit (and the command's reply), and the alarm. */
static void pre_failed(struct rotate *r, struct pre *p, struct live *l, const char *how)
{
	int64_t now = (int64_t)time(NULL);
	char msg[PATH_MAX + 512];
	json_object *entry;

	snprintf(msg, sizeof(msg),
		 "%s: prerotate %s: not rotated; tried again at its next trigger (a minute on at "
		 "the soonest) or by sweepctl rotate",
		 p->path, how);
	r->eng.counters->errors++;
	log_err("%s", msg);
	entry = audit_entry(now, "rotate", p->zone, p->path, 0, p->why, false, NULL);
	if (entry) {
		json_object_object_add(entry, "skipped", pathenc_json(msg));
		audit_write(r->eng.audit, entry);
		if (p->run && p->run->actions)
			json_object_array_add(p->run->actions, entry);
		else
			json_object_put(entry);
	}
	if (p->errors)
		json_object_array_add(p->errors, pathenc_json(msg));
	if (!l)
		return;
	l->failed_at = now;
	if (!l->pre_failed) {
		l->pre_failed = calloc(1, sizeof(*l->pre_failed));
		if (!l->pre_failed)
			return;
		l->pre_failed->since = now;
		r->n_blocked++;
	}
	free(l->pre_failed->summary);
	free(l->pre_failed->path);
	l->pre_failed->summary = strdup(msg);
	l->pre_failed->path = strdup(p->path);
}

static void on_exit_pre(struct ev_loop *loop, ev_child *w, int revents)
{
	struct pre *p = w->data;
	struct rotate *r = p->r;
	int st = w->rstatus, zi;
	struct live *l = pre_live(r, p, &zi);
	struct sweep_run pass = { .dry = false }; /* an automatic rotation's, as a pass has */
	char how[64];

	(void)loop;
	(void)revents;
	if (WIFEXITED(st) && !WEXITSTATUS(st)) {
		rotate_pre_clear(r, l);
		if (*r->eng.paused && p->errors) {
			char msg[PATH_MAX + 128];

			snprintf(msg, sizeof(msg), "%s: not rotated: sweepd was paused after its "
						   "prerotate started", p->path);
			json_object_array_add(p->errors, pathenc_json(msg));
		} else if (zi >= 0)
			rotate_act_alone(r, zi, table_file_find(r->eng.table, (size_t)zi, p->rel, p->ino),
					 p->why, p->run ? p->run : &pass, p->errors, true);
	} else {
		if (p->killed)
			snprintf(how, sizeof(how), "ran past %d s and was killed", PRE_TIMEOUT_S);
		else if (WIFEXITED(st))
			snprintf(how, sizeof(how), "failed (exit status %d)", WEXITSTATUS(st));
		else
			snprintf(how, sizeof(how), "failed (signal %s)", sigabbrev_np(WTERMSIG(st)) ?
							     sigabbrev_np(WTERMSIG(st)) : "?");
		pre_failed(r, p, l, how);
	}
	pre_free(r, p);
	start_queued(r);
	if (r->pre_starved) { /* logs waited for a free slot: a pass (one for many exits) */
		r->pre_starved = false;
		rotate_pass_soon(r);
	}
}

static void on_timeout_pre(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct pre *p = t->data;

	(void)loop;
	(void)revents;
	p->killed = true;
	kill(-p->pid, SIGKILL); /* its process group: what it started too */
}

int rotate_pre_start(struct rotate *r, uint32_t zone, struct table_file *f, const char *path,
		     const char *rel, const struct rotate_config *rc, enum policy_reason why,
		     struct sweep_run *run, json_object *errors)
{
	char *argv[] = { "sh", "-c", rc->prerotate, "sweepd-prerotate", (char *)path, NULL };
	struct live *l = rotate_live_get(r, zone, f);
	struct pre *p = calloc(1, sizeof(*p));

	if (!p || !(p->zone = strdup(r->eng.cfg->zones[zone].name)) || !(p->rel = strdup(rel)) ||
	    !(p->path = strdup(path))) {
		if (p)
			pre_free(r, p);
		log_err("%s: out of memory: its prerotate is not run, nor is it rotated", path);
		return -ENOMEM;
	}
	p->r = r;
	p->ino = f->ino;
	p->why = why;
	p->run = run && run->refs ? run : NULL;
	sweep_run_hold(p->run); /* the command answers once the cut (or the failure) is in */
	p->errors = p->run && errors ? json_object_get(errors) : NULL;
	p->pid = child_spawn("/bin/sh", argv, environ, -1, false);
	if (p->pid < 0) {
		char how[128];

		snprintf(how, sizeof(how), "cannot be run (%s)", strerror((int)-p->pid));
		pre_failed(r, p, l, how);
		pre_free(r, p);
		return -EIO;
	}
	ev_child_init(&p->child, on_exit_pre, p->pid, 0);
	p->child.data = p;
	ev_child_start(r->eng.loop, &p->child);
	ev_timer_init(&p->timeout, on_timeout_pre, PRE_TIMEOUT_S, 0.);
	p->timeout.data = p;
	ev_timer_start(r->eng.loop, &p->timeout);
	p->next = r->pres;
	r->pres = p;
	r->n_pres++;
	return 0;
}

bool rotate_pre_running(const struct rotate *r, uint32_t zone, uint64_t ino)
{
	const char *name = r->eng.cfg->zones[zone].name;

	for (const struct pre *p = r->pres; p; p = p->next)
		if (p->ino == ino && !strcmp(p->zone, name))
			return true;
	return false;
}

/* prerotates of the zone named zone that run now. */
static size_t zone_pres(const struct rotate *r, const char *zone)
{
	size_t n = 0;

	for (const struct pre *p = r->pres; p; p = p->next)
		n += !strcmp(p->zone, zone);
	return n;
}

bool rotate_pre_waits(struct rotate *r, uint32_t zone, const struct rotate_config *rc,
		      const struct table_file *f)
{
	if (!r->pres)
		return false;
	if (rotate_pre_running(r, zone, f->ino))
		return true;
	/* Each zone its own slots: a zone whose writers make many logs holds up no other. */
	if (rc->prerotate && zone_pres(r, r->eng.cfg->zones[zone].name) >= ROTATE_PRE_MAX) {
		r->pre_starved = true;
		return true;
	}
	return false;
}

int rotate_pre_queue(struct rotate *r, uint32_t zone, const struct table_file *f, const char *rel,
		     enum policy_reason why, struct sweep_run *run, json_object *errors)
{
	struct pre *q = calloc(1, sizeof(*q)), **end;

	if (!q || !(q->zone = strdup(r->eng.cfg->zones[zone].name)) || !(q->rel = strdup(rel))) {
		if (q)
			pre_free(r, q);
		if (errors)
			json_object_array_add(errors, json_object_new_string(
							      "out of memory: a log was not rotated"));
		return -ENOMEM;
	}
	q->r = r;
	q->ino = f->ino;
	q->why = why;
	q->run = run;
	sweep_run_hold(run);
	q->errors = errors ? json_object_get(errors) : NULL;
	for (end = &r->pre_queue; *end; end = &(*end)->next)
		;
	*end = q;
	return 0;
}

/* Queued logs whose zone has a free slot now: their prerotates started. */
static void start_queued(struct rotate *r)
{
	struct pre **pp = &r->pre_queue, *q;

	while ((q = *pp)) {
		int zi = config_zone_index(r->eng.cfg, q->zone);

		if (zi >= 0 && zone_pres(r, q->zone) >= ROTATE_PRE_MAX) {
			pp = &q->next;
			continue;
		}
		*pp = q->next;
		if ((zi < 0 || *r->eng.paused) && q->errors) {
			char msg[PATH_MAX * 2 + 128], path[PATH_MAX * 2 + 8];

			if (zi < 0 || rotate_zone_join(path, sizeof(path), &r->eng.cfg->zones[zi],
						       q->rel) < 0)
				snprintf(path, sizeof(path), "%s", q->rel);
			snprintf(msg, sizeof(msg), "%s: not rotated: %s", path,
				 zi < 0 ? "its zone is gone (a reload)" : "sweepd was paused");
			json_object_array_add(q->errors, pathenc_json(msg));
		} else if (zi >= 0) { /* gone or emptied meanwhile: nothing to do */
			rotate_act_alone(r, zi, table_file_find(r->eng.table, (size_t)zi, q->rel, q->ino),
					 q->why, q->run, q->errors, false);
		}
		pre_free(r, q);
	}
}

/* The daemon stops: each prerotate is left to finish on its own; its log is not cut. */
void rotate_pre_stop_all(struct rotate *r)
{
	for (struct pre *p = r->pres; p; p = p->next)
		if (p->errors)
			json_object_array_add(p->errors,
					      json_object_new_string("sweepd stopped while a prerotate "
								     "ran: that log was not rotated"));
	for (struct pre *p = r->pre_queue; p; p = p->next)
		if (p->errors)
			json_object_array_add(p->errors,
					      json_object_new_string("sweepd stopped while a log waited "
								     "for its prerotate: not rotated"));
	while (r->pres)
		pre_free(r, r->pres);
	while (r->pre_queue) {
		struct pre *q = r->pre_queue;

		r->pre_queue = q->next;
		pre_free(r, q);
	}
}
