#include "reserve.h"

#include <ev.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "control.h"
#include "fsinfo.h"
#include "log.h"
#include "policy.h"
#include "reply.h"
#include "request.h"
#include "sweep.h"
#include "table.h"
#include "units.h"
#include "watch.h"

/* While room is missing, look again this often, until the request's timeout. */
#define RESERVE_RETRY_S 1.0

/* What reservations need: the sweeper to free room, the table to measure it. */
struct reserve {
	struct ev_loop *loop;
	const struct config *cfg;
	struct table *table;
	struct watch *watch;
	struct sweep *sweep;
	bool dry_run, paused;
	struct reserve_wait *waiting; /* clients waiting for room */
};

struct reserve_wait {
	struct reserve *res;
	struct answer_sink *client;
	struct reserve_wait *next;
	struct sweep_reserve r;
	struct sweep_run total;	    /* what every attempt did (freed, actions) */
	struct sweep_run *attempt;  /* the attempt whose files are with the mover, or NULL */
	bool waits;		    /* a timeout: attempts go on until it passes */
	ev_timer retry;
	ev_tstamp deadline;
};

static bool has_room(const struct sweep_reserve *r)
{
	return !r->zone_missing && !r->files_missing && !r->disk_missing;
}

/* Bytes still missing: the larger of the two shortfalls, since freeing serves both. */
static uint64_t missing_bytes(const struct sweep_reserve *r)
{
	return r->zone_missing > r->disk_missing ? r->zone_missing : r->disk_missing;
}

static char *answer(struct reserve *res, struct sweep_reserve *r, struct sweep_run *run)
{
	const char *zone = res->cfg->zones[r->zone].name;
	json_object *o = json_object_new_object();
	char want[32], freed[32], miss[32], msg[PATH_MAX + 1024];
	uint64_t missing = missing_bytes(r);

	units_format_size(r->bytes, want, sizeof(want));
	units_format_size(run->freed, freed, sizeof(freed));
	units_format_size(missing, miss, sizeof(miss));
	json_object_object_add(o, "ok", json_object_new_boolean(has_room(r)));
	if (!has_room(r)) {
		if (missing)
			snprintf(msg, sizeof(msg),
				 "no room for %s more in zone \"%s\" (%s freed; %s could not be found, "
				 "%s%s%s): %s",
				 want, zone, freed, miss, r->zone_missing ? "over the zone's max_size" : "",
				 r->zone_missing && r->disk_missing ? ", " : "",
				 r->disk_missing ? "over the disk's high mark" : "", r->why);
		else
			snprintf(msg, sizeof(msg),
				 "no room for one more file in zone \"%s\" (%s freed; it is at its "
				 "max_files): %s",
				 zone, freed, r->why);
		json_object_object_add(o, "error", json_object_new_string(msg));
	}
	json_object_object_add(o, "zone", json_object_new_string(zone));
	json_object_object_add(o, "bytes", json_object_new_uint64(r->bytes));
	json_object_object_add(o, "freed", json_object_new_uint64(run->freed));
	json_object_object_add(o, "missing", json_object_new_uint64(missing));
	json_object_object_add(o, "dry_run", json_object_new_boolean(run->dry));
	json_object_object_add(o, "actions", run->actions);
	run->actions = NULL;
	log_info("reserve %s in zone %s: %s; %s freed", want, zone,
		 has_room(r) ? "room found" : "room not found", freed);
	return reply_object(o);
}

static void wait_end(struct reserve_wait *w, char *line)
{
	struct reserve_wait **pp = &w->res->waiting;

	while (*pp && *pp != w)
		pp = &(*pp)->next;
	if (*pp)
		*pp = w->next;
	ev_timer_stop(w->res->loop, &w->retry);
	if (w->attempt)
		w->attempt->finished = NULL; /* freed once its last file is in */
	json_object_put(w->total.actions);
	control_answer(w->client, line);
	free(w);
}

/* An attempt's count, bytes and actions, added to the whole request's. */
static void merge(struct reserve_wait *w, struct sweep_run *run)
{
	w->total.count += run->count;
	w->total.freed += run->freed;
	w->total.archive_refused |= run->archive_refused;
	for (size_t i = 0; run->actions && i < json_object_array_length(run->actions); i++)
		json_object_array_add(w->total.actions,
				      json_object_get(json_object_array_get_idx(run->actions, i)));
}

static void attempt_done(struct sweep_run *run, void *ud);

/* One attempt; true when its files went to the mover (attempt_done follows). */
static bool attempt(struct reserve_wait *w)
{
	struct sweep_run *run = sweep_run_new();

	if (!run)
		return false;
	run->dry = w->total.dry;
	run->zone = w->total.zone;
	run->manual = true;
	run->archive_refused = w->total.archive_refused;
	run->actions = json_object_new_array();
	sweep_reserve(w->res->sweep, run, &w->r);
	if (sweep_run_waiting(run)) {
		run->finished = attempt_done;
		run->ud = w;
		w->attempt = run;
		sweep_run_release(run);
		return true;
	}
	merge(w, run);
	sweep_run_free(run);
	return false;
}

/* Answered when there is room, when the time is up, or at once without a timeout. */
static void judge(struct reserve_wait *w)
{
	if (has_room(&w->r) || !w->waits || ev_now(w->res->loop) >= w->deadline)
		wait_end(w, answer(w->res, &w->r, &w->total));
}

/* What the attempt's files freed is in the table now: measured again (more may go). */
static void attempt_done(struct sweep_run *run, void *ud)
{
	struct reserve_wait *w = ud;

	w->attempt = NULL;
	merge(w, run);
	sweep_run_free(run);
	if (!w->res->paused && attempt(w))
		return;
	judge(w);
}

static void on_retry(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct reserve_wait *w = t->data;

	(void)loop;
	(void)revents;
	if (w->attempt)
		return; /* its files first */
	if (!w->res->paused && attempt(w))
		return;
	judge(w);
}

/* Refuses what can never fit; NULL when the request can be tried. */
static char *impossible(struct reserve *res, const struct sweep_reserve *r)
{
	const struct zone_config *zc = &res->cfg->zones[r->zone];
	struct table_zone *tz = table_zone(res->table, r->zone);
	char want[32], lim[32], msg[400];
	struct fsinfo fi;

	units_format_size(r->bytes, want, sizeof(want));
	if (zc->max_size != CONFIG_UNSET && r->bytes > (uint64_t)zc->max_size) {
		snprintf(msg, sizeof(msg), "%s is more than zone \"%s\" may ever hold (max_size %s)",
			 want, zc->name, units_format_size((uint64_t)zc->max_size, lim, sizeof(lim)));
		return reply_error(msg);
	}
	if (!tz->root) {
		snprintf(msg, sizeof(msg), "zone \"%s\": its directory %s is missing", zc->name,
			 zc->path);
		return reply_error(msg);
	}
	if (fsinfo_get(zc->path, &fi) == 0 &&
	    r->bytes > policy_mark_bytes(res->cfg->disk_high, fi.used + fi.free)) {
		snprintf(msg, sizeof(msg), "%s is more than %s may hold under its high mark (%g%%)",
			 want, fi.mount, res->cfg->disk_high);
		return reply_error(msg);
	}
	return NULL;
}

struct reserve *reserve_create(struct ev_loop *loop, const struct config *cfg, struct table *t,
			       struct watch *w, struct sweep *s, bool dry_run)
{
	struct reserve *res = calloc(1, sizeof(*res));

	if (res)
		*res = (struct reserve){ .loop = loop, .cfg = cfg, .table = t, .watch = w, .sweep = s,
					 .dry_run = dry_run };
	return res;
}

void reserve_destroy(struct reserve *res)
{
	if (!res)
		return;
	reserve_end(res, "sweepd is stopping");
	free(res);
}

void reserve_set_config(struct reserve *res, const struct config *cfg)
{
	res->cfg = cfg;
}

void reserve_pause(struct reserve *res, bool paused)
{
	res->paused = paused;
}

char *reserve_request(struct reserve *res, const struct request *req,
		      struct answer_sink *client, int zone)
{
	struct sweep_reserve r = { .zone = (size_t)zone, .bytes = (uint64_t)req->bytes };
	struct reserve_wait *w;
	char *out;

	if ((out = impossible(res, &r)))
		return out;
	if (res->paused)
		return reply_paused();
	w = calloc(1, sizeof(*w));
	if (!w)
		return reply_error("out of memory");
	w->res = res;
	w->client = client;
	w->r = r;
	w->total = (struct sweep_run){ .dry = res->dry_run, .zone = zone, .manual = true };
	w->total.actions = json_object_new_array();
	/* A dry run frees nothing, so waiting changes nothing. */
	w->waits = req->timeout > 0 && !res->dry_run;
	w->deadline = ev_now(res->loop) + (ev_tstamp)(req->timeout > 0 ? req->timeout : 0);
	ev_timer_init(&w->retry, on_retry, RESERVE_RETRY_S, RESERVE_RETRY_S);
	w->retry.data = w;
	w->next = res->waiting;
	res->waiting = w;
	watch_drain(res->watch);
	if (!attempt(w) && (has_room(&w->r) || !w->waits)) {
		/* Answered now: taken off the list without a word through the client. */
		res->waiting = w->next;
		out = answer(res, &w->r, &w->total);
		json_object_put(w->total.actions);
		free(w);
		return out;
	}
	if (w->waits)
		ev_timer_start(res->loop, &w->retry);
	return control_later;
}

json_object *reserve_json(struct reserve *res)
{
	json_object *a = json_object_new_array();

	for (struct reserve_wait *w = res ? res->waiting : NULL; w; w = w->next) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "zone", json_object_new_string(res->cfg->zones[w->r.zone].name));
		json_object_object_add(o, "bytes", json_object_new_uint64(w->r.bytes));
		json_object_object_add(o, "missing", json_object_new_uint64(missing_bytes(&w->r)));
		json_object_object_add(o, "why", json_object_new_string(w->r.why ? w->r.why : ""));
		json_object_object_add(o, "until", json_object_new_int64((int64_t)(w->deadline - ev_now(res->loop)) +
										 (int64_t)time(NULL)));
		json_object_array_add(a, o);
	}
	return a;
}

void reserve_end(struct reserve *res, const char *why)
{
	char msg[300];

	snprintf(msg, sizeof(msg), "%s: the room was not reserved; ask again", why);
	while (res && res->waiting)
		wait_end(res->waiting, reply_error(msg));
}
