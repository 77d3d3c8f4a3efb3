#ifndef SWEEPD_CONFIG_REMOTE_H
#define SWEEPD_CONFIG_REMOTE_H

#include <libconfig.h>
#include <stdint.h>

struct cfgread;
struct remote_config;

/*
 * The group archive.remote read and checked, its credentials loaded (a file
 * that others may read is refused); NULL when it is not a group (an error
 * said). Errors go to ld, reading goes on.
 */
struct remote_config *config_remote_load(struct cfgread *ld, const config_setting_t *s,
					 int64_t archive_keep);

#endif
