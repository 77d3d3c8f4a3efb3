#ifndef SWEEPD_TREND_H
#define SWEEPD_TREND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

/*
 * Usage history, bounded: one sample a minute for a day, one an hour for a
 * month, per named series ("zone:outputs", "fs:/srv"). Growth is the slope
 * of a least-squares line through the samples, as Prometheus's
 * predict_linear() draws it. Pure: no I/O, no clock.
 */

#define TREND_MINUTES 1440
#define TREND_HOURS 720
#define TREND_SPARK 24 /* hourly points for a sparkline */

struct trend_slot {
	int64_t at; /* the minute (or hour) number since the epoch; 0: empty */
	uint64_t value;
};

struct trend_series {
	char *name;
	struct trend_slot minutes[TREND_MINUTES];
	struct trend_slot hours[TREND_HOURS];
};

struct trends {
	struct trend_series **v;
	size_t n;
};

/* The series named name, made when missing (NULL when out of memory). */
struct trend_series *trends_series(struct trends *t, const char *name);
struct trend_series *trends_find(const struct trends *t, const char *name);
void trends_clear(struct trends *t);

/* Records value as the sample for the minute and the hour of time now. */
void trend_add(struct trend_series *s, int64_t now, uint64_t value);
/*
 * Bytes per day, from the last day's minute samples when they span at least
 * ten minutes, else from the month's hourly ones when they span two hours.
 * false when there is not enough history.
 */
bool trend_growth(const struct trend_series *s, int64_t now, double *per_day);
/* The last TREND_SPARK hours, oldest first, one value each; -1 where none. */
void trend_last_hours(const struct trend_series *s, int64_t now, int64_t out[TREND_SPARK]);
/* When used (growing by per_day) reaches limit: Unix time, or -1 when it never does. */
int64_t trend_reaches(uint64_t used, uint64_t limit, double per_day, int64_t now);

/* The state file's form: {"version":1,"series":{NAME:{"m":[[at,v],...],"h":[...]}}}. */
struct json_object *trends_to_json(const struct trends *t, int64_t now);
/* Adds what a state file holds; samples older than the rings' reach are left out. 0 or -EINVAL. */
int trends_from_json(struct trends *t, struct json_object *o, int64_t now);

#endif
