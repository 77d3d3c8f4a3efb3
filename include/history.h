#ifndef SWEEPD_HISTORY_H
#define SWEEPD_HISTORY_H

#include <stdint.h>

struct config;
struct ev_loop;
struct table;
struct trend_series;

/*
 * Usage history of the zones (bytes) and their filesystems (used), sampled
 * every minute and kept in state_dir/trends.json across restarts: written
 * every ten minutes and at stop, whole or not at all.
 */
struct history;

/*
 * Loads state_dir/trends.json and samples the table every minute on loop;
 * NULL when out of memory.
 */
struct history *history_open(struct ev_loop *loop, const struct config *cfg, struct table *t);
/* After a reload: the zones to sample (the table's are already the new ones). */
void history_set_config(struct history *h, const struct config *cfg);
/* Saves and frees. */
void history_close(struct history *h);
/* NULL when nothing was recorded under that name. */
const struct trend_series *history_zone(const struct history *h, const char *zone);
const struct trend_series *history_fs(const struct history *h, const char *mount);

#endif
