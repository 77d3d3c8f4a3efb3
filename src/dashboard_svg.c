#include <json-c/json.h>
#include <math.h>
#include <stdio.h>

#include "dashboard_priv.h"
#include "units.h"

/*
 * Bars and charts as inline SVG: drawn by the browser with no script and
 * nothing fetched, and held in attributes, not style="": a page that a
 * Content-Security-Policy without 'unsafe-inline' styles still draws.
 */

static double clamp01(double f)
{
	return !isfinite(f) || f < 0 ? 0 : f > 1 ? 1 : f;
}

void dash_bar(struct html *h, double frac, double mark1, double mark2, const char *label)
{
	double top = mark1 > mark2 ? mark1 : mark2;
	/* Past its highest mark, or past the whole when it has none (a zone's limit). */
	bool over = top >= 0 ? frac >= top : frac >= 1;

	html_raw(h, "<svg class=\"bar\" viewBox=\"0 0 100 10\" preserveAspectRatio=\"none\" "
		    "role=\"img\" aria-label=\"");
	html_text(h, label);
	html_printf(h, "\"><rect class=\"track\" width=\"100\" height=\"10\"/>"
		       "<rect class=\"fill%s\" width=\"%.1f\" height=\"10\"/>",
		    over ? " over" : "", 100 * clamp01(frac));
	for (int i = 0; i < 2; i++) {
		double m = i ? mark2 : mark1;

		if (m >= 0)
			html_printf(h, "<line class=\"mark\" x1=\"%.1f\" x2=\"%.1f\" "
				       "y1=\"0\" y2=\"10\" vector-effect=\"non-scaling-stroke\"/>",
				    100 * clamp01(m), 100 * clamp01(m));
	}
	html_raw(h, "</svg>");
}

/* The chart's geometry, in viewBox units: two panels, the day's over the month's. */
#define CHART_W 320
#define PANEL_H 125
#define PLOT_L 48
#define PLOT_R 312
#define PLOT_T 18 /* below the panel's title */
#define PLOT_B 100

struct panel {
	const char *title;
	int64_t span;		/* seconds shown, ending now */
	const char *ticks[3];	/* under the x axis: left, middle, right */
};

static const struct panel panels[] = {
	{ "last day", 86400, { "24h ago", "12h ago", "now" } },
	{ "last month", 30 * 86400, { "30d ago", "15d ago", "now" } },
};

/* A sample [t, v] inside the panel's window, or false. */
static bool sample(json_object *pts, size_t i, int64_t from, int64_t now, int64_t *t, double *v)
{
	json_object *p = json_object_array_get_idx(pts, i), *a, *b;

	if (!json_object_is_type(p, json_type_array) || json_object_array_length(p) < 2)
		return false;
	a = json_object_array_get_idx(p, 0);
	b = json_object_array_get_idx(p, 1);
	if (!json_object_is_type(a, json_type_int) ||
	    !(json_object_is_type(b, json_type_int) || json_object_is_type(b, json_type_double)))
		return false;
	*t = json_object_get_int64(a);
	*v = json_object_get_double(b);
	/* A value no uint64_t holds is no size: it would not survive the casts below. */
	return *t >= from && *t <= now && *v >= 0 && *v < 18446744073709551616.0;
}

/*
 * An axis label precise enough to tell the lines apart: a disk's 17.12G and
 * 17.14G both read "17G" in units_format_size's two digits, so the decimals
 * follow the span of the axis, in the unit of its top.
 */
static void axis_size(struct html *h, double v, double top, double range)
{
	static const char units[] = "BKMGTPE";
	double scale = 1;
	int u = 0, dec;

	while (top >= 1024 * scale && u < 6) {
		scale *= 1024;
		u++;
	}
	dec = range > 0 ? (int)ceil(-log10(range / scale / 4)) : 0;
	dec = u == 0 || dec < 0 ? 0 : dec > 3 ? 3 : dec;
	html_printf(h, "%.*f%c", dec, v / scale, units[u]);
}

static void panel_draw(struct html *h, const struct panel *p, json_object *pts, double y0,
		       int64_t now)
{
	int64_t from = now - p->span, t, first_t = 0, last_t = -1;
	double lo = INFINITY, hi = -INFINITY, v, first = 0, last = 0;
	size_t n = json_object_is_type(pts, json_type_array) ? json_object_array_length(pts) : 0;
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (!sample(pts, i, from, now, &t, &v))
			continue;
		lo = v < lo ? v : lo;
		hi = v > hi ? v : hi;
		if (!k++)
			first = v, first_t = t;
		last = v, last_t = t;
	}
	html_printf(h, "<g class=\"panel\"><text class=\"title\" x=\"%d\" y=\"%.0f\">%s", PLOT_L,
		    y0 + 11, p->title);
	if (k > 1 && last_t > first_t) {
		html_raw(h, last >= first ? ": +" : ": &minus;");
		dash_size(h, (uint64_t)fabs(last - first));
	}
	html_raw(h, "</text>");
	html_printf(h, "<rect class=\"plot\" x=\"%d\" y=\"%.0f\" width=\"%d\" height=\"%d\"/>",
		    PLOT_L, y0 + PLOT_T, PLOT_R - PLOT_L, PLOT_B - PLOT_T);
	for (int i = 0; i < 3; i++)
		html_printf(h, "<text class=\"x\" x=\"%d\" y=\"%.0f\" text-anchor=\"%s\">%s</text>",
			    PLOT_L + i * (PLOT_R - PLOT_L) / 2, y0 + PLOT_B + 11,
			    i == 0 ? "start" : i == 1 ? "middle" : "end", p->ticks[i]);
	if (!k) {
		html_printf(h, "<text class=\"none\" x=\"%d\" y=\"%.0f\" text-anchor=\"middle\">"
			       "no samples yet</text></g>",
			    (PLOT_L + PLOT_R) / 2, y0 + (PLOT_T + PLOT_B) / 2.0 + 4);
		return;
	}
	/* A flat line sits in the middle, with a little room around it. */
	if (hi - lo < 1) {
		double pad = hi > 100 ? hi / 100 : 1;
		lo = lo > pad ? lo - pad : 0;
		hi += pad;
	}
	for (int i = 0; i < 3; i++) {
		double val = hi - i * (hi - lo) / 2;

		/* Half a byte has no label of its own. */
		if (i == 1 && hi - lo < 2)
			continue;
		html_printf(h, "<text class=\"y\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">",
			    PLOT_L - 3, y0 + PLOT_T + i * (PLOT_B - PLOT_T) / 2.0 + 3);
		axis_size(h, val, hi, hi - lo);
		html_raw(h, "</text>");
	}
	/* One line a run: a gap in the samples (the daemon was down) stays a gap. */
	{
		int64_t prev = 0, gap = p->span / 48;
		bool open = false;
		double px = 0, py = 0;
		size_t run = 0;

		for (size_t i = 0; i <= n; i++) {
			bool ok = i < n && sample(pts, i, from, now, &t, &v);

			if (i < n && !ok)
				continue;
			if (open && (!ok || t - prev > gap)) {
				html_raw(h, "\"/>");
				/* A lone sample draws no line: a dot, then. */
				if (run == 1)
					html_printf(h, "<circle class=\"dot\" cx=\"%.1f\" cy=\"%.1f\" "
						       "r=\"1.5\"/>",
						    px, py);
				open = false;
			}
			if (!ok)
				break;
			px = PLOT_L + (double)(t - from) / (double)p->span * (PLOT_R - PLOT_L);
			py = y0 + PLOT_B - (v - lo) / (hi - lo) * (PLOT_B - PLOT_T);
			if (!open) {
				html_raw(h, "<polyline class=\"line\" points=\"");
				open = true;
				run = 0;
			}
			html_printf(h, "%s%.1f,%.1f", run++ ? " " : "", px, py);
			prev = t;
		}
	}
	html_raw(h, "</g>");
}

void dash_chart(struct html *h, const char *name, json_object *series, int64_t now)
{
	html_raw(h, "<svg class=\"chart\" data-series=\"");
	html_text(h, name);
	html_printf(h, "\" viewBox=\"0 0 %d %d\" role=\"img\"><title>", CHART_W, 2 * PANEL_H);
	html_text(h, name);
	html_raw(h, ": use over the last day and the last month</title>");
	for (size_t i = 0; i < sizeof(panels) / sizeof(panels[0]); i++)
		panel_draw(h, &panels[i], dash_arr(series, i ? "month" : "day"), (double)i * PANEL_H,
			   now);
	html_raw(h, "</svg>");
}
