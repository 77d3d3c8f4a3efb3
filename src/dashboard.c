#include "dashboard.h"

#include <json-c/json.h>
#include <stdio.h>

#include "dashboard_priv.h"
#include "units.h"

/*
 * The page: alarms first, since they are why anyone opens it; then the
 * zones and disks, their charts, the archive, the jobs and the latest
 * actions. Everything it needs is inline, and everything but the admin
 * buttons works without script.
 */

#define REFRESH_S 10
#define STR_(x) #x
#define STR(x) STR_(x)

/* Small screens first: one column, tables that scroll sideways in their box. */
static const char css[] =
	":root{color-scheme:light dark;--ok:#1a7f37;--bad:#c62828;--line:#2f6fde;--mute:#888}"
	"*{box-sizing:border-box}"
	"body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:75rem;"
	"padding:.5rem 1rem 2rem}"
	"header{display:flex;flex-wrap:wrap;gap:.3rem 1rem;align-items:baseline;"
	"justify-content:space-between}"
	"h1{font-size:1.3rem;margin:.4rem 0}h2{font-size:1.1rem;margin:1.4rem 0 .4rem}"
	"h3{font-size:1rem;margin:1rem 0 .3rem}"
	".scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}"
	"table{border-collapse:collapse;width:100%}"
	"th,td{text-align:left;vertical-align:top;padding:.35rem .5rem;"
	"border-bottom:1px solid rgba(128,128,128,.3)}"
	"th{font-weight:600;white-space:nowrap}td{min-width:6rem}"
	".path{overflow-wrap:anywhere;min-width:10rem}.state{min-width:12rem}"
	"small,.utc{color:var(--mute)}.ok{color:var(--ok)}.bad{color:var(--bad)}"
	".badge{border:1px solid currentColor;border-radius:.3rem;padding:0 .3rem;margin-left:.4rem}"
	".alarms{border:2px solid var(--bad);border-radius:.4rem;padding:.4rem 1rem;"
	"background:rgba(198,40,40,.08)}"
	".alarms h2{margin:.2rem 0;color:var(--bad)}.alarms ul{margin:0;padding-left:1.2rem}"
	".alarms li{margin:.3rem 0}.quiet{border-color:var(--ok);background:none}"
	"svg.bar{display:block;width:100%;min-width:5rem;height:.6rem;margin-top:.25rem}"
	".bar .track{fill:rgba(128,128,128,.25)}.bar .fill{fill:var(--line)}"
	".bar .over{fill:var(--bad)}.bar .mark{stroke:currentColor;stroke-width:2}"
	".charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,22rem),1fr));"
	"gap:1rem}"
	"figure{margin:0}figcaption{margin-bottom:.2rem}"
	"svg.chart{display:block;width:100%;height:auto}"
	".chart text{font-size:9px;fill:currentColor}.chart .title{font-weight:600}"
	".chart .plot{fill:none;stroke:rgba(128,128,128,.45)}"
	".chart .line{fill:none;stroke:var(--line);stroke-width:1.5}.chart .dot{fill:var(--line)}"
	".chart .none{fill:var(--mute)}"
	"dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}"
	"dt{color:var(--mute)}dd{margin:0;overflow-wrap:anywhere}.note{color:var(--mute)}"
	"button{font:inherit;padding:.5rem 1rem;margin:.2rem .5rem .2rem 0;min-height:2.6rem}";

/*
 * The admin buttons' one script: confirm, POST the command with the
 * browser's credentials, say the error when there is one, reload. With it,
 * the refresh is its timer (stopped while a command is asked and sent)
 * rather than the meta tag, which would reload the page under a confirm()
 * or before the answer is shown.
 */
static const char script[] =
	"<script>\n"
	"function later() { return setTimeout(function () { location.reload(); }, "
	STR(REFRESH_S) "000); }\n"
	"var refresh = later();\n"
	"document.querySelectorAll('button[data-cmd]').forEach(function (b) {\n"
	"  b.addEventListener('click', function () {\n"
	"    clearTimeout(refresh);\n"
	"    if (!confirm(b.getAttribute('data-ask'))) { refresh = later(); return; }\n"
	"    b.disabled = true;\n"
	"    fetch('/api/v1/' + b.getAttribute('data-cmd'), { method: 'POST',\n"
	"        credentials: 'same-origin', headers: { 'Content-Type': 'application/json' },\n"
	"        body: '{}' })\n"
	"      .then(function (r) { return r.json(); })\n"
	"      .then(function (j) { if (!j.ok) alert(b.textContent + ': ' + j.error); })\n"
	"      .catch(function (e) { alert(b.textContent + ': ' + e); })\n"
	"      .then(function () { location.reload(); });\n"
	"  });\n"
	"});\n"
	"</script>\n";

static void head(struct html *h, const struct dashboard_view *v)
{
	html_raw(h, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
	/* Without script the meta tag refreshes; with the buttons' script, its timer. */
	html_printf(h, "%s<meta http-equiv=\"refresh\" content=\"%d\">%s", v->user ? "<noscript>" : "",
		    REFRESH_S, v->user ? "</noscript>" : "");
	html_raw(h, "<meta name=\"referrer\" content=\"no-referrer\"><title>sweepd</title><style>");
	html_raw(h, css);
	html_raw(h, "</style></head><body>");
}

static void banner(struct html *h, const struct dashboard_view *v)
{
	int64_t up;
	char age[32];

	html_raw(h, "<header><h1>sweepd");
	if (dash_str(v->status, "version")) {
		html_raw(h, " <small>");
		html_text(h, dash_str(v->status, "version"));
		html_raw(h, "</small>");
	}
	if (dash_flag(v->status, "paused"))
		html_raw(h, "<span class=\"badge bad\">paused</span>");
	if (dash_flag(v->status, "dry_run"))
		html_raw(h, "<span class=\"badge\">dry run</span>");
	html_raw(h, "</h1><div>");
	if (dash_int(v->status, "uptime_s", &up))
		html_printf(h, "up %s &middot; ", units_format_age(up, age, sizeof(age)));
	if (v->user) {
		html_raw(h, "logged in as <b>");
		html_text(h, v->user);
		html_raw(h, "</b>");
	} else if (v->can_login) {
		html_raw(h, "<a href=\"/login\">log in</a>");
	} else {
		html_raw(h, "read only");
	}
	html_raw(h, "</div></header>");
}

static void alarms(struct html *h, json_object *status, int64_t now)
{
	json_object *list = dash_arr(status, "alarms");
	size_t n = list ? json_object_array_length(list) : 0;

	if (!n) {
		html_raw(h, "<section id=\"alarms\" class=\"alarms quiet\"><p class=\"ok\">"
			    "no alarms</p></section>");
		return;
	}
	html_printf(h, "<section id=\"alarms\" class=\"alarms\" role=\"alert\"><h2>%zu alarm%s</h2>"
		       "<ul>",
		    n, n == 1 ? "" : "s");
	for (size_t i = 0; i < n; i++) {
		json_object *a = json_object_array_get_idx(list, i);
		int64_t since;

		html_raw(h, "<li><b>");
		html_text(h, dash_str(a, "name"));
		html_raw(h, "</b>: ");
		html_text(h, dash_str(a, "summary"));
		html_raw(h, " <small>since ");
		dash_when(h, dash_int(a, "since", &since) ? since : 0, now);
		html_raw(h, "</small></li>");
	}
	html_raw(h, "</ul></section>");
}

static void button(struct html *h, const char *cmd, const char *label, const char *ask)
{
	html_printf(h, "<button type=\"button\" data-cmd=\"%s\" data-ask=\"%s\">%s</button>", cmd,
		    ask, label);
}

/* Only for a logged-in user: the server refuses the commands to anyone else anyway. */
static void admin(struct html *h, const struct dashboard_view *v)
{
	bool paused = dash_flag(v->status, "paused");

	if (!v->user)
		return;
	html_raw(h, "<section id=\"admin\"><h2>Admin</h2><div>");
	button(h, "sweep", "sweep now", "Sweep every zone now, as its rules say?");
	button(h, "rotate", "rotate logs", "Rotate every zone's logs that are due now?");
	if (paused)
		button(h, "resume", "resume", "Resume: act on the zones again?");
	else
		button(h, "pause", "pause", "Pause: keep counting but touch no file?");
	html_raw(h, "</div></section>");
}

char *dashboard_render(const struct dashboard_view *v)
{
	struct html h = { 0 };
	const char *err = dash_str(v->status, "error");

	head(&h, v);
	banner(&h, v);
	if (!v->status || err) {
		html_raw(&h, "<section id=\"alarms\" class=\"alarms\" role=\"alert\"><p class=\"bad\">"
			     "status unavailable");
		if (err) {
			html_raw(&h, ": ");
			html_text(&h, err);
		}
		html_raw(&h, "</p></section>");
	} else {
		alarms(&h, v->status, v->now);
	}
	admin(&h, v);
	dash_zones(&h, v->status, v->now);
	dash_filesystems(&h, v->status);
	dash_charts(&h, v->status, v->series, v->now);
	dash_archive(&h, v->status, v->now);
	dash_jobs(&h, v->status);
	dash_actions(&h, v->actions, v->now);
	{
		char utc[48];

		html_printf(&h, "<footer><p><small>%s &middot; refreshes every %d s</small></p>"
				"</footer>",
			    dash_utc(v->now, utc, sizeof(utc)), REFRESH_S);
	}
	if (v->user)
		html_raw(&h, script);
	html_raw(&h, "</body></html>\n");
	return html_finish(&h);
}
