#ifndef SWEEPD_HISTORY_H
#define SWEEPD_HISTORY_H

#include <stdint.h>

struct daemon;
struct trend_series;

/*
 * Usage history of the zones (bytes) and their filesystems (used), sampled
 * every minute and kept in state_dir/trends.json across restarts: written
 * every ten minutes and at stop, whole or not at all.
 */
struct history;

struct history *history_open(struct daemon *d);
/* Saves and frees. */
void history_close(struct history *h);
/* NULL when nothing was recorded under that name. */
const struct trend_series *history_zone(const struct history *h, const char *zone);
const struct trend_series *history_fs(const struct history *h, const char *mount);

#endif
