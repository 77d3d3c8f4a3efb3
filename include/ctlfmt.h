#ifndef SWEEPD_CTLFMT_H
#define SWEEPD_CTLFMT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>

/*
 * sweepctl's human output for the daemon's replies. status and top fit
 * width columns (0: no limit, every column whole).
 */
void ctlfmt_status(json_object *reply, FILE *out, int width);
void ctlfmt_top(json_object *reply, FILE *out, int width);
void ctlfmt_archive(json_object *reply, FILE *out);
/* sweep, purge: the actions taken (or that a dry run would take). */
void ctlfmt_actions(json_object *reply, FILE *out);
void ctlfmt_reserve(json_object *reply, FILE *out);
/* One line each: "purged 3 files, 1.2G", "restored PATH", "paused: ...". */
void ctlfmt_purge(json_object *reply, FILE *out);
void ctlfmt_restore(json_object *reply, FILE *out);
/* explain: zone and rule, state and why, when due, who writes it, a log's rotation (ctlfmt_explain.c). */
void ctlfmt_explain(json_object *reply, FILE *out);
void ctlfmt_paused(bool paused, FILE *out);
void ctlfmt_reload(json_object *reply, FILE *out);
/* Any other reply: its fields, one per line. */
void ctlfmt_generic(json_object *reply, FILE *out);
/*
 * A path from a reply (or a sentence holding paths), printable: decoded, then
 * escaped as pathenc_escape says (\\, and \xHH for control and undecodable bytes).
 */
void ctlfmt_path(const char *encoded, FILE *out);

#endif
