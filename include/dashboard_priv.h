#ifndef SWEEPD_DASHBOARD_PRIV_H
#define SWEEPD_DASHBOARD_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "html.h"

/* The dashboard's parts (dashboard*.c), shared among them only. */
struct json_object;

/* Reading the status: a member of the wanted type, or NULL / false when absent or odd. */
struct json_object *dash_obj(struct json_object *o, const char *key);
struct json_object *dash_arr(struct json_object *o, const char *key);
const char *dash_str(struct json_object *o, const char *key);
bool dash_int(struct json_object *o, const char *key, int64_t *out);
/* A count or size of o: 0 when absent, null or below 0. */
uint64_t dash_u64(struct json_object *o, const char *key);
bool dash_num(struct json_object *o, const char *key, double *out);
bool dash_flag(struct json_object *o, const char *key);

/* "1.5G" (escaping needless: units write digits and a letter). */
void dash_size(struct html *h, uint64_t bytes);
/* A Unix time as "3h 5m ago" with its UTC date and time beside it. */
void dash_when(struct html *h, int64_t t, int64_t now);
/* "2026-12-02 10:43 UTC" into buf. */
const char *dash_utc(int64_t t, char *buf, int len);

/*
 * A bar for a fraction (clamped to 0..1) with up to two marks at fractions
 * (negative: none): the zones' limits, the disks' low and high marks.
 */
void dash_bar(struct html *h, double frac, double mark1, double mark2, const char *label);
/* One chart of a series' "day" and "month" samples (series may be NULL: no history). */
void dash_chart(struct html *h, const char *name, struct json_object *series, int64_t now);

/* The sections, in page order. */
void dash_zones(struct html *h, struct json_object *status, int64_t now);
void dash_filesystems(struct html *h, struct json_object *status);
void dash_charts(struct html *h, struct json_object *status, struct json_object *series,
		 int64_t now);
void dash_archive(struct html *h, struct json_object *status, int64_t now);
void dash_jobs(struct html *h, struct json_object *status);
void dash_actions(struct html *h, struct json_object *actions, int64_t now);

#endif
