#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>

#include "dashboard_priv.h"

/*
 * The dashboard's tables: zones, filesystems, the archive, jobs and the
 * latest actions. Each wide table scrolls in its own box, so that a phone
 * scrolls it sideways and not the whole page.
 */

static void table_open(struct html *h, const char *id, const char *title, const char *head)
{
	html_printf(h, "<section id=\"%s\"><h2>%s</h2><div class=\"scroll\"><table><thead><tr>%s"
		       "</tr></thead><tbody>",
		    id, title, head);
}

static void table_close(struct html *h)
{
	html_raw(h, "</tbody></table></div></section>");
}

/* A count or a size against a limit: "53.7K of 10K" and a bar, or "no limit". */
static void against(struct html *h, uint64_t v, json_object *limits, const char *key, bool bytes)
{
	int64_t lim;
	char label[64];

	bytes ? dash_size(h, v) : html_printf(h, "%llu", (unsigned long long)v);
	if (!dash_int(limits, key, &lim) || lim <= 0) {
		html_raw(h, " <small>no limit</small>");
		return;
	}
	html_raw(h, " of ");
	bytes ? dash_size(h, (uint64_t)lim) : html_printf(h, "%lld", (long long)lim);
	snprintf(label, sizeof(label), "%.0f%% of %s", 100.0 * (double)v / (double)lim, key);
	dash_bar(h, (double)v / (double)lim, -1, -1, label);
}

/* Why a target is out of reach ({why, bytes}), or nothing when it is not. */
static void blocked(struct html *h, json_object *ep)
{
	if (!ep)
		return;
	html_raw(h, "<div class=\"bad\">blocked: ");
	html_text(h, dash_str(ep, "why"));
	if (dash_u64(ep, "bytes")) {
		html_raw(h, " (");
		dash_size(h, dash_u64(ep, "bytes"));
		html_raw(h, " short)");
	}
	html_raw(h, "</div>");
}

static void growth(struct html *h, json_object *trend)
{
	int64_t g;

	if (!dash_int(trend, "growth_per_day", &g)) {
		html_raw(h, "&ndash;");
		return;
	}
	html_raw(h, g < 0 ? "&minus;" : "+");
	/* Negated as unsigned: -INT64_MIN is no int64_t. */
	dash_size(h, g < 0 ? 0 - (uint64_t)g : (uint64_t)g);
	html_raw(h, "/day");
}

void dash_zones(struct html *h, json_object *status, int64_t now)
{
	json_object *zones = dash_arr(status, "zones");
	size_t n = zones ? json_object_array_length(zones) : 0;
	int64_t t;

	table_open(h, "zones", "Zones",
		   "<th>zone</th><th>state</th><th>files</th><th>bytes</th><th>oldest file</th>"
		   "<th>growth</th>");
	for (size_t i = 0; i < n; i++) {
		json_object *z = json_object_array_get_idx(zones, i), *lim = dash_obj(z, "limits");

		html_raw(h, "<tr><td><b>");
		html_text(h, dash_str(z, "name"));
		html_raw(h, "</b><br><small class=\"path\">");
		html_text(h, dash_str(z, "path"));
		html_raw(h, "</small></td><td class=\"state\">");
		html_raw(h, dash_flag(z, "present") ? "<span class=\"ok\">present</span>"
						    : "<span class=\"bad\">missing</span>");
		blocked(h, dash_obj(z, "blocked"));
		html_raw(h, "</td><td>");
		against(h, dash_u64(z, "files"), lim, "max_files", false);
		html_raw(h, "</td><td>");
		against(h, dash_u64(z, "bytes"), lim, "max_size", true);
		html_raw(h, "</td><td>");
		dash_when(h, dash_int(z, "oldest_mtime", &t) ? t : 0, now);
		html_raw(h, "</td><td>");
		growth(h, dash_obj(z, "trend"));
		html_raw(h, "</td></tr>");
	}
	if (!n)
		html_raw(h, "<tr><td colspan=\"6\">no zones</td></tr>");
	table_close(h);
}

void dash_filesystems(struct html *h, json_object *status)
{
	json_object *fss = dash_arr(status, "filesystems");
	size_t n = fss ? json_object_array_length(fss) : 0;

	table_open(h, "filesystems", "Filesystems",
		   "<th>mount</th><th>used</th><th>free</th><th>marks</th><th>state</th>");
	for (size_t i = 0; i < n; i++) {
		json_object *f = json_object_array_get_idx(fss, i);
		double pct = 0, lo = -1, hi = -1;
		int64_t at;
		char label[96];

		dash_num(f, "used_pct", &pct);
		dash_num(f, "low_pct", &lo);
		dash_num(f, "high_pct", &hi);
		html_raw(h, "<tr><td><b>");
		html_text(h, dash_str(f, "mount"));
		html_raw(h, "</b></td><td>");
		dash_size(h, dash_u64(f, "used"));
		html_raw(h, " of ");
		dash_size(h, dash_u64(f, "size"));
		snprintf(label, sizeof(label), "%.1f%% used; low mark %.0f%%, high mark %.0f%%", pct,
			 lo, hi);
		html_printf(h, " (%.1f%%)", pct);
		dash_bar(h, pct / 100, lo >= 0 ? lo / 100 : -1, hi >= 0 ? hi / 100 : -1, label);
		html_raw(h, "</td><td>");
		dash_size(h, dash_u64(f, "free"));
		html_raw(h, "</td><td>");
		if (lo >= 0 && hi >= 0)
			html_printf(h, "low %.0f%% &middot; high %.0f%%", lo, hi);
		html_raw(h, "</td><td class=\"state\">");
		html_raw(h, dash_flag(f, "pressure") ? "<span class=\"bad\">over the high mark</span>"
						     : "<span class=\"ok\">fine</span>");
		blocked(h, dash_obj(f, "blocked"));
		if (dash_int(f, "high_mark_at", &at) && at > 0) {
			char utc[48];

			html_printf(h, "<div>high mark by %s</div>", dash_utc(at, utc, sizeof(utc)));
		}
		html_raw(h, "</td></tr>");
	}
	if (!n)
		html_raw(h, "<tr><td colspan=\"5\">none known (no zone is present)</td></tr>");
	table_close(h);
}

/* One figure for what a name's series holds: "zone:NAME" or "fs:MOUNT". */
static void figure(struct html *h, const char *kind, const char *name, json_object *series,
		   int64_t now)
{
	char *key = NULL;

	if (!name || asprintf(&key, "%s:%s", kind, name) < 0) {
		h->failed = h->failed || name;
		return;
	}
	html_printf(h, "<figure><figcaption>%s <b>", kind);
	html_text(h, name);
	html_raw(h, "</b></figcaption>");
	dash_chart(h, key, dash_obj(series, key), now);
	html_raw(h, "</figure>");
	free(key);
}

void dash_charts(struct html *h, json_object *status, json_object *series, int64_t now)
{
	json_object *zones = dash_arr(status, "zones"), *fss = dash_arr(status, "filesystems");
	size_t nz = zones ? json_object_array_length(zones) : 0;
	size_t nf = fss ? json_object_array_length(fss) : 0;

	html_raw(h, "<section id=\"growth\"><h2>Growth</h2><div class=\"charts\">");
	for (size_t i = 0; i < nz; i++)
		figure(h, "zone", dash_str(json_object_array_get_idx(zones, i), "name"), series, now);
	for (size_t i = 0; i < nf; i++)
		figure(h, "fs", dash_str(json_object_array_get_idx(fss, i), "mount"), series, now);
	html_raw(h, "</div></section>");
}
