#ifndef SWEEPD_CONFIG_ZONE_H
#define SWEEPD_CONFIG_ZONE_H

#include <libconfig.h>

struct cfgread;
struct config;
struct zone_config;

/*
 * The zones of the configuration: each group read into a zone_config (its
 * rotation included) with what is wrong in it, then the zones checked
 * against one another and against sweepd's own paths.
 */

/* Reads the zone group s into z. */
void config_zone_load(struct cfgread *ld, const config_setting_t *s, struct zone_config *z);
/*
 * Cross-checks: unique names, no overlapping zones, no zone on /, and
 * nothing of sweepd's own inside a zone, nor a zone inside the archive.
 */
void config_zones_check(struct cfgread *ld, const config_t *cf, struct config *cfg);

#endif
