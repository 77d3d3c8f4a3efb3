#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <time.h>

#include "dashboard_priv.h"
#include "units.h"

/*
 * The status is read defensively: a field of another type, or none, reads
 * as absent, so that an older or newer daemon's reply (or a hand-written
 * one) still renders.
 */
static json_object *member(json_object *o, const char *key, json_type type)
{
	json_object *v;

	if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, type))
		return NULL;
	return v;
}

json_object *dash_obj(json_object *o, const char *key)
{
	return member(o, key, json_type_object);
}

json_object *dash_arr(json_object *o, const char *key)
{
	return member(o, key, json_type_array);
}

const char *dash_str(json_object *o, const char *key)
{
	return json_object_get_string(member(o, key, json_type_string));
}

bool dash_int(json_object *o, const char *key, int64_t *out)
{
	json_object *v = member(o, key, json_type_int);

	if (v)
		*out = json_object_get_int64(v);
	return v != NULL;
}

uint64_t dash_u64(json_object *o, const char *key)
{
	int64_t v = 0;

	return dash_int(o, key, &v) && v > 0 ? (uint64_t)v : 0;
}

bool dash_num(json_object *o, const char *key, double *out)
{
	json_object *v = member(o, key, json_type_double);

	if (!v)
		v = member(o, key, json_type_int);
	if (v)
		*out = json_object_get_double(v);
	return v && isfinite(*out);
}

bool dash_flag(json_object *o, const char *key)
{
	return json_object_get_boolean(member(o, key, json_type_boolean));
}

void dash_size(struct html *h, uint64_t bytes)
{
	char buf[32];

	html_raw(h, units_format_size(bytes, buf, sizeof(buf)));
}

const char *dash_utc(int64_t t, char *buf, int len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, (size_t)len, "%Y-%m-%d %H:%M UTC", &tm))
		snprintf(buf, (size_t)len, "@%lld", (long long)t);
	return buf;
}

/*
 * Relative first, which is what a person scanning the page wants, and the
 * absolute UTC time beside it (and in datetime, for a machine).
 */
void dash_when(struct html *h, int64_t t, int64_t now)
{
	char age[32], utc[48], iso[32];
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0) {
		html_raw(h, "&ndash;");
		return;
	}
	if (!gmtime_r(&tt, &tm) || !strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", &tm))
		iso[0] = '\0';
	units_format_age(t <= now ? now - t : t - now, age, sizeof(age));
	html_printf(h, "<time datetime=\"%s\">%s%s%s</time> <small class=\"utc\">%s</small>", iso,
		    t <= now ? "" : "in ", age, t <= now ? " ago" : "",
		    dash_utc(t, utc, sizeof(utc)));
}
