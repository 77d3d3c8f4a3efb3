#ifndef SWEEPD_CONFIG_HTTP_H
#define SWEEPD_CONFIG_HTTP_H

#include <libconfig.h>

struct cfgread;
struct config;
struct http_config;

/*
 * The group http read and checked, its certificate and key read; NULL when
 * it is not a group (an error said). Errors go to ld, reading goes on.
 */
struct http_config *config_http_load(struct cfgread *ld, const config_setting_t *s);
/* alert_command and alert_repeat of the top level, into cfg. */
void config_alert_load(struct cfgread *ld, const config_setting_t *root, struct config *cfg);

#endif
