#ifndef SWEEPD_CONFIG_ROTATE_H
#define SWEEPD_CONFIG_ROTATE_H

#include <libconfig.h>

struct cfgread;
struct zone_config;

/*
 * A zone's rotate: one group or a list of groups, each read into a
 * rotate_config (its include, triggers, method, create, prerotate) with what
 * is wrong in it; then the groups checked against the zone's include (a group
 * that can never match, or that an earlier one leaves nothing to, is a
 * warning) and the copies' names against it (an error when include would
 * take a copy for a log). s NULL: the zone does not rotate.
 */
void config_rotate_load(struct cfgread *ld, const config_setting_t *s, struct zone_config *z);

#endif
