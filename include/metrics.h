#ifndef SWEEPD_METRICS_H
#define SWEEPD_METRICS_H

#include <stdint.h>

struct json_object;

/*
 * The status reply in Prometheus's text exposition format (version 0.0.4):
 * every metric named sweepd_*, with # HELP and # TYPE, labelled by zone or
 * mount. Pure: drawn from the status object alone. Malloc'd, or NULL.
 */
char *metrics_render(struct json_object *status, int64_t now);

#endif
