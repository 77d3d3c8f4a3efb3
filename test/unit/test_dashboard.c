#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "dashboard.h"
#include "html.h"

#define NOW 1796208280

/* A status as the daemon answers it, with names any local user could have made. */
static const char status_json[] =
	"{\"ok\":true,\"version\":\"0.1.0\",\"uptime_s\":3700,\"paused\":false,"
	"\"dry_run\":false,"
	"\"zones\":["
	"{\"name\":\"outputs\",\"path\":\"/srv/outputs\",\"present\":true,\"files\":1234,"
	"\"bytes\":5368709120,\"oldest_mtime\":1796200000,"
	"\"limits\":{\"max_age\":604800,\"max_idle\":null,\"max_size\":10737418240,"
	"\"max_files\":5000},"
	"\"blocked\":null,\"trend\":{\"growth_per_day\":1048576,\"last_24h\":[null,5]}},"
	"{\"name\":\"<script>alert(1)</script>\",\"path\":\"/tmp/x\\\"'&<i>\",\"present\":false,"
	"\"files\":77,\"bytes\":99,\"oldest_mtime\":null,"
	"\"limits\":{\"max_size\":null,\"max_files\":null},"
	"\"blocked\":{\"why\":\"files younger than <min_age>\",\"bytes\":44760},\"trend\":null}"
	"],"
	"\"filesystems\":[{\"id\":\"254:0\",\"mount\":\"/\",\"size\":270553174016,"
	"\"used\":18344112128,\"free\":84401168384,\"used_pct\":17.85,\"high_pct\":90.0,"
	"\"low_pct\":80.0,\"pressure\":false,\"blocked\":null,\"high_mark_at\":null}],"
	"\"archive\":{\"path\":\"/srv/archive\",\"files\":3,\"bytes\":4096,\"oldest\":1796100000,"
	"\"full\":null,\"remote\":{\"endpoint\":\"https://s3.example.com\",\"bucket\":\"ai-archive\","
	"\"prefix\":\"gpu-07/\",\"files\":9,\"bytes\":123456,\"failing\":false}},"
	"\"alarms\":["
	"{\"name\":\"quota_unmet\",\"labels\":{\"zone\":\"outputs\"},"
	"\"summary\":\"zone <script>alert(1)</script> is over its limits\",\"since\":1796208000},"
	"{\"name\":\"disk_high\",\"labels\":{},\"summary\":\"\\\" onmouseover=\\\"alert(2)\","
	"\"since\":1796100000}"
	"],"
	"\"jobs\":[{\"action\":\"archive\",\"path\":\"/tmp/<script>alert(1)</script>.mp4\","
	"\"bytes\":1000000,\"done\":250000,\"running\":true}],"
	"\"mover\":{\"queued\":0}}";

static const char series_json[] =
	"{\"zone:outputs\":{\"day\":[[1796207000,100],[1796207600,200],[1796208200,300]],"
	"\"month\":[[1793616280,50]]},"
	"\"fs:/\":{\"day\":[[1796208000,18344112128]],\"month\":[]}}";

static const char actions_json[] =
	"[{\"time\":1796208200,\"action\":\"archive\",\"zone\":\"outputs\","
	"\"path\":\"/tmp/<script>alert(1)</script>.mp4\",\"bytes\":5000,\"reason\":\"max_size\","
	"\"dry_run\":false},"
	"{\"time\":1796208100,\"action\":\"delete\",\"zone\":null,\"path\":\"/a//b\","
	"\"bytes\":1,\"reason\":\"manual\",\"dry_run\":true}]";

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

struct fixture {
	json_object *status, *series, *actions;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->status = json_tokener_parse(status_json);
	f->series = json_tokener_parse(series_json);
	f->actions = json_tokener_parse(actions_json);
	assert_non_null(f->status);
	assert_non_null(f->series);
	assert_non_null(f->actions);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	json_object_put(f->status);
	json_object_put(f->series);
	json_object_put(f->actions);
	free(f);
	return 0;
}

static char *render(struct fixture *f, const char *user, bool can_login)
{
	struct dashboard_view v = { f->status, f->series, f->actions, user, can_login, NOW };
	char *page = dashboard_render(&v);

	assert_non_null(page);
	return page;
}

/* Nothing the page names lies elsewhere: no scheme, no scheme-relative reference. */
static void assert_self_contained(const char *page)
{
	assert_null(strstr(page, "http://"));
	assert_null(strstr(page, "https://"));
	assert_null(strstr(page, "//"));
	assert_null(strstr(page, "src=\""));
	assert_null(strstr(page, "<link"));
	assert_null(strstr(page, "@import"));
	assert_null(strstr(page, "url("));
}

static void shows_the_status(void **state)
{
	char *page = render(*state, NULL, false);

	assert_non_null(strstr(page, "<!DOCTYPE html>"));
	assert_non_null(strstr(page, "name=\"viewport\""));
	assert_non_null(strstr(page, "http-equiv=\"refresh\" content=\"10\""));
	assert_non_null(strstr(page, "<b>outputs</b>"));
	assert_non_null(strstr(page, "1234 of 5000"));
	assert_non_null(strstr(page, "5.0G of 10G"));
	assert_non_null(strstr(page, "+1.0M/day"));
	assert_non_null(strstr(page, "77 <small>no limit</small>"));
	assert_non_null(strstr(page, "missing"));
	assert_non_null(strstr(page, "blocked: files younger than &lt;min_age&gt;"));
	assert_non_null(strstr(page, "17.9%"));
	assert_non_null(strstr(page, "low 80% &middot; high 90%"));
	/* Two alarms, first, and the job's progress. */
	assert_non_null(strstr(page, "2 alarms"));
	assert_true(strstr(page, "quota_unmet") < strstr(page, "id=\"zones\""));
	assert_non_null(strstr(page, "disk_high"));
	assert_null(strstr(page, "no alarms"));
	assert_non_null(strstr(page, "244K of 977K (25% done)"));
	/* The archive and its bucket; the actions, newest first, the dry run said. */
	assert_non_null(strstr(page, "ai-archive"));
	assert_non_null(strstr(page, "(dry run)"));
	assert_true(strstr(page, "max_size") != NULL);
	assert_non_null(strstr(page, "<time datetime=\"2026-12-02T10:43:20Z\">1m 20s ago</time>"));
	assert_non_null(strstr(page, "2026-12-02 10:43 UTC"));
	assert_self_contained(page);
	free(page);
}

static void one_chart_a_series(void **state)
{
	char *page = render(*state, NULL, false);

	/* Two zones and one filesystem: three charts, each naming its series. */
	assert_int_equal(count(page, "<svg class=\"chart\""), 3);
	assert_int_equal(count(page, "<svg class=\"chart\" data-series=\""), 3);
	assert_non_null(strstr(page, "data-series=\"zone:outputs\""));
	assert_non_null(strstr(page, "data-series=\"fs:&#47;\""));
	assert_non_null(
		strstr(page, "data-series=\"zone:&lt;script&gt;alert(1)&lt;&#47;script&gt;\""));
	/* outputs' day: one line of three points; its month, one dot; the rest, empty. */
	assert_int_equal(count(page, "<polyline"), 3);
	assert_int_equal(count(page, "<circle"), 2);
	assert_int_equal(count(page, "no samples yet"), 3);
	assert_non_null(strstr(page, "last day: +200B"));
	assert_non_null(strstr(page, "24h ago"));
	assert_non_null(strstr(page, "30d ago"));
	free(page);
}

/* Every name is data: the hostile ones come out as text, never as markup. */
static void escapes_every_name(void **state)
{
	char *page = render(*state, NULL, false), *p;

	assert_null(strstr(page, "<script"));
	assert_null(strstr(page, "alert(1)</script>"));
	assert_null(strstr(page, "<i>"));
	assert_null(strstr(page, "\" onmouseover"));
	assert_non_null(strstr(page, "&lt;script&gt;alert(1)&lt;&#47;script&gt;"));
	assert_non_null(strstr(page, "&quot; onmouseover=&quot;alert(2)"));
	assert_non_null(strstr(page, "&#47;tmp&#47;x&quot;&#39;&amp;&lt;i&gt;"));
	/* Every "alert(" is inside escaped text. */
	for (p = page; (p = strstr(p, "alert(")); p++)
		assert_true(p - page >= 6 &&
			    (!strncmp(p - 4, "&gt;", 4) || !strncmp(p - 6, "&quot;", 6)));
	free(page);

	page = render(*state, "<img src=\"x\" onerror=alert(3)>", false);
	assert_null(strstr(page, "<img"));
	assert_non_null(strstr(
		page, "logged in as <b>&lt;img src=&quot;x&quot; onerror=alert(3)&gt;</b>"));
	/* One script, the page's own. */
	assert_int_equal(count(page, "<script"), 1);
	assert_non_null(strstr(page, "<script>\nfunction later()"));
	assert_self_contained(page);
	free(page);
}

static void buttons_only_for_a_user(void **state)
{
	struct fixture *f = *state;
	char *page = render(f, NULL, true);

	assert_null(strstr(page, "<button"));
	assert_null(strstr(page, "<script"));
	assert_null(strstr(page, "confirm("));
	assert_non_null(strstr(page, "<a href=\"/login\">log in</a>"));
	free(page);

	page = render(f, NULL, false);
	assert_null(strstr(page, "<button"));
	assert_null(strstr(page, "log in"));
	free(page);

	page = render(f, "admin", true);
	assert_null(strstr(page, "log in"));
	assert_non_null(strstr(page, "data-cmd=\"sweep\""));
	assert_non_null(strstr(page, "data-cmd=\"rotate\""));
	assert_non_null(strstr(page, "data-cmd=\"pause\""));
	assert_null(strstr(page, "data-cmd=\"resume\""));
	assert_int_equal(count(page, "<button"), 3);
	assert_non_null(strstr(page, "confirm("));
	assert_non_null(strstr(page, "fetch('/api/v1/'"));
	assert_non_null(strstr(page, "method: 'POST'"));
	assert_non_null(strstr(page, "'Content-Type': 'application/json'"));
	assert_non_null(strstr(page, "location.reload()"));
	/* The meta refresh would reload under confirm(): the script's timer does it. */
	assert_non_null(strstr(page, "<noscript><meta http-equiv=\"refresh\""));
	free(page);

	json_object_object_add(f->status, "paused", json_object_new_boolean(1));
	page = render(f, "admin", true);
	assert_non_null(strstr(page, "data-cmd=\"resume\""));
	assert_null(strstr(page, "data-cmd=\"pause\""));
	assert_non_null(strstr(page, ">paused</span>"));
	free(page);
}

static void no_alarms(void **state)
{
	struct fixture *f = *state;
	char *page;

	json_object_object_add(f->status, "alarms", json_object_new_array());
	page = render(f, NULL, false);
	assert_non_null(strstr(page, "no alarms"));
	assert_null(strstr(page, "quota_unmet"));
	free(page);
}

/* Whatever the objects hold, or lack, the page renders (and ASan finds nothing). */
static void odd_fields(void **state)
{
	static const char *const odd[] = {
		"{}",
		"{\"zones\":[],\"filesystems\":[],\"alarms\":[],\"jobs\":[]}",
		"{\"zones\":[null,7,\"x\",{},{\"name\":null,\"limits\":7,\"trend\":null,"
		"\"files\":-5,\"bytes\":\"big\",\"blocked\":{}}],"
		"\"filesystems\":{},\"archive\":null,\"alarms\":[1,{}],\"jobs\":[{},null,"
		"{\"bytes\":0,\"done\":5}],\"mover\":[],\"uptime_s\":\"long\"}",
		"{\"zones\":[{\"name\":\"z\",\"limits\":{\"max_size\":0,\"max_files\":-1},"
		"\"trend\":{\"growth_per_day\":-9223372036854775808},"
		"\"oldest_mtime\":9999999999999}],"
		"\"filesystems\":[{\"mount\":\"/m\",\"used_pct\":\"x\",\"high_pct\":null}],"
		"\"archive\":{\"path\":\"/a\","
		"\"remote\":{\"failing\":true,\"last_error\":\"<x>\"}},"
		"\"high_mark_at\":5}",
		"{\"ok\":false,\"error\":\"<no> status\"}",
		"[]",
	};
	static const char *const odd_series[] = {
		"{\"zone:z\":{\"day\":[[1],[\"a\",2],[1796208000,-3],null,[1796208000,1.5e300],"
		"[1796208001,1e19],"
		"[1796208100,7],[1796208200,7]],\"month\":{}},\"fs:/m\":[]}",
		"[]",
		"{\"zone:z\":{\"day\":[[0,0],[1796208281,5]]}}",
	};
	struct dashboard_view v = { .now = NOW };
	char *page = dashboard_render(&v);

	(void)state;
	assert_non_null(page);
	assert_non_null(strstr(page, "status unavailable"));
	assert_non_null(strstr(page, "no zones"));
	free(page);
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++)
		for (size_t k = 0; k < sizeof(odd_series) / sizeof(odd_series[0]); k++) {
			v.status = json_tokener_parse(odd[i]);
			v.series = json_tokener_parse(odd_series[k]);
			v.actions = json_tokener_parse("[null,{},{\"time\":\"x\",\"path\":5}]");
			v.user = k ? "u" : NULL;
			assert_non_null(v.status);
			page = dashboard_render(&v);
			assert_non_null(page);
			assert_non_null(strstr(page, "</html>"));
			assert_null(strstr(page, "<x>"));
			assert_null(strstr(page, "<no>"));
			free(page);
			json_object_put(v.status);
			json_object_put(v.series);
			json_object_put(v.actions);
		}
}

static void html_escapes(void **state)
{
	struct html h = { 0 };
	char *s;

	(void)state;
	html_text(&h, "a&b<c>d\"e'f/g\xef\xbe\x80h");
	html_text(&h, NULL);
	html_printf(&h, "|%d", 42);
	s = html_finish(&h);
	assert_string_equal(s, "a&amp;b&lt;c&gt;d&quot;e&#39;f&#47;g\xef\xbe\x80h|42");
	free(s);
	s = html_finish(&h);
	assert_string_equal(s, "");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(shows_the_status, setup, teardown),
		cmocka_unit_test_setup_teardown(one_chart_a_series, setup, teardown),
		cmocka_unit_test_setup_teardown(escapes_every_name, setup, teardown),
		cmocka_unit_test_setup_teardown(buttons_only_for_a_user, setup, teardown),
		cmocka_unit_test_setup_teardown(no_alarms, setup, teardown),
		cmocka_unit_test(odd_fields),
		cmocka_unit_test(html_escapes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
