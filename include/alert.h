#ifndef SWEEPD_ALERT_H
#define SWEEPD_ALERT_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alarms.h"

/*
 * Alerts: alert_command run for each alarm that starts, ends, or (with
 * alert_repeat) lasts another alert_repeat, with the alert as Alertmanager's
 * POST /api/v2/alerts takes it on its standard input.
 *
 * Two parts. The pure one (alert_json.c): the alarms last seen and when each
 * was last sent (struct alert_track), which tells what a round of alarms asks
 * to send, and the JSON. The runner (alert.c): the children, on the loop.
 */

enum alert_status { ALERT_FIRING, ALERT_RESOLVED };

/* An alarm as the alerts keep it: a copy of the alarms list's entry. */
struct alert_alarm {
	char *name;
	char *keys[ALARMS_LABELS];
	char *values[ALARMS_LABELS];
	size_t n_labels;
	char *summary;
	int64_t since;
	int64_t sent_at; /* when its last firing was handed out; 0: never */
	int held;	 /* in the round under way */
};

/* What a round asks for: one run for one alarm. */
struct alert_event {
	enum alert_status status;
	const struct alert_alarm *alarm;
	int64_t ends_at; /* resolved: when it was seen gone; else 0 */
	bool repeat;	 /* firing again, alert_repeat after the last */
};

typedef void (*alert_emit_fn)(const struct alert_event *ev, void *ud);

struct alert_track;

struct alert_track *alert_track_create(void);
void alert_track_destroy(struct alert_track *t);

/*
 * One round of alarms against the ones kept: each alarm new in list, or
 * held but never sent, fires; each kept alarm missing from list and once
 * sent resolves (ends_at = now) and is dropped; with repeat > 0, each alarm
 * sent repeat or more seconds ago fires again. With send false (no command)
 * nothing is emitted and nothing counts as sent: an alarm that started then
 * fires once a command is there, and one never sent never resolves.
 * Returns 0 or -ENOMEM (the alarms it could not keep are tried next round).
 */
int alert_track_sync(struct alert_track *t, const struct alarms *list, int64_t now,
		     int64_t repeat, bool send, alert_emit_fn emit, void *ud);
/* The repeats due by now, between rounds (the kept alarms still hold). */
void alert_track_due(struct alert_track *t, int64_t now, int64_t repeat, bool send,
		     alert_emit_fn emit, void *ud);
/* When the next repeat falls due (a Unix time), or 0 for none. */
int64_t alert_track_next(const struct alert_track *t, int64_t repeat);
size_t alert_track_count(const struct alert_track *t);

/*
 * [{"labels": {"alertname": name, ...its labels}, "annotations": {"summary": ...},
 *   "startsAt": since, "endsAt": ends_at (resolved only), "generatorURL": url (when not NULL)}]
 * Times in RFC 3339, UTC; names that are not UTF-8 as pathenc.h says. Malloc'd, or NULL.
 */
char *alert_json(const struct alert_alarm *al, enum alert_status st, int64_t ends_at,
		 const char *generator_url);
/* t as RFC 3339 in UTC, "2026-12-02T10:00:00Z"; returns buf. */
char *alert_rfc3339(int64_t t, char *buf, size_t len);
/*
 * How the log names an alarm, and the runner its identity: disk_high{mount="/var"}.
 * Malloc'd (whole, however long its labels), or NULL.
 */
char *alert_name(const struct alert_alarm *al);

/* --- the runner --- */

#define ALERT_MAX_RUNNING 4
#define ALERT_TIMEOUT_S 30.0

struct counters;
struct alert;

/*
 * On loop (the default loop: children are reaped with ev_child). Counts each
 * run in counters->alert_runs and each failed one in alert_failures. The
 * environment variable SWEEPD_ALERT_TIMEOUT_S, read here, replaces the 30 s
 * limit: a hook for tests only. NULL when out of memory.
 */
struct alert *alert_create(struct ev_loop *loop, struct counters *counters);
/*
 * Runs still going when sweepd stops get SIGTERM (their process group) and
 * are not waited for; runs not yet started are dropped.
 */
void alert_destroy(struct alert *a);
/*
 * The command (an absolute path; NULL: none) and repeat (seconds; 0: only at
 * start and end), at start and on each reload: they apply to the runs that
 * start from now on. Without a command, runs not yet started are dropped and
 * running ones finish.
 */
int alert_configure(struct alert *a, const char *command, int64_t repeat);
/* After each round of alarms: runs what it asks for (alert_track_sync). */
void alert_sync(struct alert *a, const struct alarms *alarms, int64_t now);
/* Runs under way and waiting to start. */
size_t alert_running(const struct alert *a);
size_t alert_waiting(const struct alert *a);

#endif
