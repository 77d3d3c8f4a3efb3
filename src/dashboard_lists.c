#include <json-c/json.h>
#include <stdio.h>

#include "dashboard_priv.h"

/* The dashboard's lower half: the archive and its bucket, the jobs, the latest actions. */

/* <dt>key</dt><dd>text</dd>, the text escaped; nothing when text is NULL. */
static void item(struct html *h, const char *key, const char *text)
{
	if (!text)
		return;
	html_printf(h, "<dt>%s</dt><dd>", key);
	html_text(h, text);
	html_raw(h, "</dd>");
}

static void item_size(struct html *h, const char *key, json_object *o, const char *field)
{
	int64_t v;

	if (!dash_int(o, field, &v))
		return;
	html_printf(h, "<dt>%s</dt><dd>", key);
	dash_size(h, v > 0 ? (uint64_t)v : 0);
	html_raw(h, "</dd>");
}

static void item_count(struct html *h, const char *key, json_object *o, const char *field)
{
	int64_t v;

	if (dash_int(o, field, &v))
		html_printf(h, "<dt>%s</dt><dd>%lld</dd>", key, (long long)v);
}

static void remote(struct html *h, json_object *r)
{
	html_raw(h, "<h3>Bucket</h3><dl>");
	item(h, "bucket", dash_str(r, "bucket"));
	item(h, "prefix", dash_str(r, "prefix"));
	item(h, "endpoint", dash_str(r, "endpoint"));
	item_count(h, "files", r, "files");
	item_size(h, "bytes", r, "bytes");
	item_count(h, "waiting", r, "waiting");
	item_size(h, "waiting bytes", r, "waiting_bytes");
	if (dash_flag(r, "failing")) {
		html_raw(h, "<dt>state</dt><dd class=\"bad\">failing");
		if (dash_str(r, "last_error")) {
			html_raw(h, ": ");
			html_text(h, dash_str(r, "last_error"));
		}
		html_raw(h, "</dd>");
	}
	html_raw(h, "</dl>");
}

void dash_archive(struct html *h, json_object *status, int64_t now)
{
	json_object *ar = dash_obj(status, "archive"), *full;
	int64_t oldest;

	html_raw(h, "<section id=\"archive\"><h2>Archive</h2>");
	if (!ar || !dash_str(ar, "path")) {
		html_raw(h, "<p>no archive: every zone deletes</p></section>");
		return;
	}
	html_raw(h, "<dl>");
	item(h, "path", dash_str(ar, "path"));
	item_count(h, "files", ar, "files");
	item_size(h, "bytes", ar, "bytes");
	item_size(h, "max size", ar, "max_size");
	item_size(h, "free on its disk", ar, "free");
	html_raw(h, "<dt>oldest</dt><dd>");
	dash_when(h, dash_int(ar, "oldest", &oldest) ? oldest : 0, now);
	html_raw(h, "</dd>");
	if ((full = dash_obj(ar, "full"))) {
		html_raw(h, "<dt>state</dt><dd class=\"bad\">full: ");
		html_text(h, dash_str(full, "why"));
		html_raw(h, "</dd>");
	}
	html_raw(h, "</dl>");
	if (dash_str(ar, "note")) {
		html_raw(h, "<p class=\"note\">");
		html_text(h, dash_str(ar, "note"));
		html_raw(h, "</p>");
	}
	if (dash_obj(ar, "remote"))
		remote(h, dash_obj(ar, "remote"));
	html_raw(h, "</section>");
}

void dash_jobs(struct html *h, json_object *status)
{
	json_object *jobs = dash_arr(status, "jobs");
	size_t n = jobs ? json_object_array_length(jobs) : 0;
	int64_t queued = 0;

	html_raw(h, "<section id=\"jobs\"><h2>Jobs</h2>");
	if (!n) {
		html_raw(h, "<p>no file work under way</p></section>");
		return;
	}
	html_raw(h, "<div class=\"scroll\"><table><thead><tr><th>action</th><th>path</th>"
		    "<th>progress</th></tr></thead><tbody>");
	for (size_t i = 0; i < n; i++) {
		json_object *j = json_object_array_get_idx(jobs, i), *run;
		uint64_t bytes = dash_u64(j, "bytes"), done = dash_u64(j, "done");
		double f = bytes ? (double)done / (double)bytes : 0;
		char label[32];

		html_raw(h, "<tr><td>");
		html_text(h, dash_str(j, "action"));
		/* Older replies have no "running": every listed job ran then. */
		if (json_object_object_get_ex(j, "running", &run) && !json_object_get_boolean(run))
			html_raw(h, " <small>queued</small>");
		html_raw(h, "</td><td class=\"path\">");
		html_text(h, dash_str(j, "path"));
		html_raw(h, "</td><td>");
		dash_size(h, done);
		html_raw(h, " of ");
		dash_size(h, bytes);
		snprintf(label, sizeof(label), "%.0f%% done", 100 * (f > 1 ? 1 : f));
		html_printf(h, " (%s)", label);
		dash_bar(h, f, -1, -1, label);
		html_raw(h, "</td></tr>");
	}
	html_raw(h, "</tbody></table></div>");
	if (dash_int(dash_obj(status, "mover"), "queued", &queued) && queued > 0)
		html_printf(h, "<p>%lld queued in all</p>", (long long)queued);
	html_raw(h, "</section>");
}

void dash_actions(struct html *h, json_object *actions, int64_t now)
{
	size_t n = json_object_is_type(actions, json_type_array) ? json_object_array_length(actions)
								 : 0;

	html_raw(h, "<section id=\"actions\"><h2>Latest actions</h2>");
	if (!n) {
		html_raw(h, "<p>none since the daemon started</p></section>");
		return;
	}
	html_raw(h, "<div class=\"scroll\"><table><thead><tr><th>time</th><th>action</th>"
		    "<th>zone</th><th>path</th><th>bytes</th><th>reason</th></tr></thead><tbody>");
	for (size_t i = 0; i < n; i++) {
		json_object *a = json_object_array_get_idx(actions, i);
		int64_t t;

		html_raw(h, "<tr><td>");
		dash_when(h, dash_int(a, "time", &t) ? t : 0, now);
		html_raw(h, "</td><td>");
		html_text(h, dash_str(a, "action"));
		if (dash_flag(a, "dry_run"))
			html_raw(h, " <small>(dry run)</small>");
		html_raw(h, "</td><td>");
		html_text(h, dash_str(a, "zone") ? dash_str(a, "zone") : "-");
		html_raw(h, "</td><td class=\"path\">");
		html_text(h, dash_str(a, "path"));
		html_raw(h, "</td><td>");
		dash_size(h, dash_u64(a, "bytes"));
		html_raw(h, "</td><td>");
		html_text(h, dash_str(a, "reason"));
		html_raw(h, "</td></tr>");
	}
	html_raw(h, "</tbody></table></div></section>");
}
