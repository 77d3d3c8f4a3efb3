#ifndef SWEEPD_ALARMS_H
#define SWEEPD_ALARMS_H

#include <stddef.h>
#include <stdint.h>

/*
 * The alarms that hold now, as one list: recomputed in rounds on the loop
 * (begin, hold each alarm found, end), so that an alarm keeps its start time
 * from round to round and one that is not held again ends. The status reply,
 * the STATUS= line and the metrics read this list. Pure: no I/O, no logging.
 */

#define ALARMS_LABELS 4

struct alarm {
	char *name;			 /* "rotate_blocked", "disk_high", ... */
	char *keys[ALARMS_LABELS];	 /* its labels, which tell one alarm of a name from another */
	char *values[ALARMS_LABELS];
	size_t n_labels;
	char *summary; /* a sentence: what is wrong and what to do */
	int64_t since;
	int held; /* in the round under way */
};

struct alarms;

struct alarms *alarms_create(void);
void alarms_destroy(struct alarms *a);

void alarms_begin(struct alarms *a);

/*
 * The alarm name with labels (key, value pairs, NULL-ended, at most
 * ALARMS_LABELS) holds now. since: when it started, or 0 for when it was
 * first held (now, when new). Returns 1 (it starts), 0 (it held already), or
 * -errno (-EINVAL: too many labels).
 */
int alarms_hold(struct alarms *a, const char *name, const char *const *labels,
		const char *summary, int64_t since, int64_t now);

/* Ends the round: each alarm not held in it is passed to ended (may be NULL), then dropped. */
size_t alarms_end(struct alarms *a, void (*ended)(const struct alarm *al, void *ud), void *ud);

size_t alarms_count(const struct alarms *a);
const struct alarm *alarms_at(const struct alarms *a, size_t i);
/* A label's value, or NULL. */
const char *alarms_label(const struct alarm *al, const char *key);

#endif
