#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "audit.h"
#include "config.h"
#include "control.h"
#include "daemon.h"
#include "dashboard.h"
#include "history.h"
#include "trend.h"

/*
 * What the dashboard reads, gathered on the loop: the status exactly as the
 * socket answers it (so that the page and sweepctl never disagree), the
 * history's rings as chart points, and the audit's latest actions.
 */

#define DAY_POINTS 150
#define MONTH_POINTS 180

/*
 * A ring as [[t, v], ...], oldest first, t in Unix seconds: at most max
 * points, each the highest value of its stretch of slots (a peak is what a
 * disk's chart is read for), at the time of the stretch's last sample.
 */
static json_object *ring_points(const struct trend_slot *ring, size_t len, int64_t unit,
				int64_t now, size_t max)
{
	json_object *arr = json_object_new_array();
	int64_t first = now / unit - (int64_t)len + 1;
	size_t per = (len + max - 1) / max;

	for (size_t b = 0; arr && b * per < len; b++) {
		int64_t at = 0;
		uint64_t v = 0;

		for (size_t k = b * per; k < (b + 1) * per && k < len; k++) {
			const struct trend_slot *sl = &ring[(uint64_t)(first + (int64_t)k) % len];

			if (sl->at != first + (int64_t)k)
				continue;
			v = !at || sl->value > v ? sl->value : v;
			at = sl->at;
		}
		if (at) {
			json_object *pair = json_object_new_array();

			json_object_array_add(pair, json_object_new_int64(at * unit));
			json_object_array_add(pair, json_object_new_uint64(v));
			json_object_array_add(arr, pair);
		}
	}
	return arr;
}

static void add_series(json_object *out, const char *kind, const char *name,
		       const struct trend_series *s, int64_t now)
{
	json_object *o;
	char key[512];

	if (!s || !name)
		return;
	o = json_object_new_object();
	json_object_object_add(o, "day", ring_points(s->minutes, TREND_MINUTES, 60, now, DAY_POINTS));
	json_object_object_add(o, "month",
			       ring_points(s->hours, TREND_HOURS, 3600, now, MONTH_POINTS));
	snprintf(key, sizeof(key), "%s:%s", kind, name);
	json_object_object_add(out, key, o);
}

static const char *name_at(json_object *arr, size_t i, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(json_object_array_get_idx(arr, i), key, &v) &&
			       json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v)
		       : NULL;
}

/* The charts of the zones and filesystems the status lists, by the history's names. */
static json_object *series_of(const struct history *h, json_object *status, int64_t now)
{
	json_object *out = json_object_new_object(), *zones, *fss;

	if (!h || !out)
		return out;
	if (json_object_object_get_ex(status, "zones", &zones) &&
	    json_object_is_type(zones, json_type_array))
		for (size_t i = 0; i < json_object_array_length(zones); i++) {
			const char *name = name_at(zones, i, "name");

			add_series(out, "zone", name, name ? history_zone(h, name) : NULL, now);
		}
	if (json_object_object_get_ex(status, "filesystems", &fss) &&
	    json_object_is_type(fss, json_type_array))
		for (size_t i = 0; i < json_object_array_length(fss); i++) {
			const char *mount = name_at(fss, i, "mount");

			add_series(out, "fs", mount, mount ? history_fs(h, mount) : NULL, now);
		}
	return out;
}

/* The status reply through the socket's own handler, as an HTTP peer; NULL on failure. */
static json_object *status_of(struct daemon *d, const char *user)
{
	static const char req[] = "{\"cmd\":\"status\"}";
	struct control_peer peer = {
		.pid = 0,
		.uid = (uid_t)-1,
		.gid = (gid_t)-1,
		.http_user = user,
		.http = true,
	};
	char *line = d->handler(d, req, sizeof(req) - 1, &peer);
	json_object *o;

	/* status always answers at once; a later answer would have nowhere to go. */
	if (!line || line == control_later)
		return NULL;
	o = json_tokener_parse(line);
	free(line);
	return o;
}

char *daemon_dashboard(void *ud, const char *user)
{
	struct daemon *d = ud;
	int64_t now = (int64_t)time(NULL);
	struct dashboard_view v = {
		.user = user,
		.can_login = d->cfg->http && d->cfg->http->n_users > 0,
		.now = now,
	};
	char *page;

	v.status = status_of(d, user);
	v.series = series_of(d->history, v.status, now);
	v.actions = audit_recent(d->audit);
	page = dashboard_render(&v);
	json_object_put(v.status);
	json_object_put(v.series);
	json_object_put(v.actions);
	return page;
}
