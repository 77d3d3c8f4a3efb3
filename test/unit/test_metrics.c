#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

static const char status[] =
	"{\"ok\":true,\"version\":\"1.2\",\"paused\":false,\"dry_run\":false,\"started\":1000,"
	"\"last_sweep\":null,"
	"\"zones\":[{\"name\":\"out\",\"files\":3,\"bytes\":300,\"disk_bytes\":4096,"
	"\"open_files\":1,\"oldest_mtime\":900,\"present\":true,"
	"\"limits\":{\"max_age\":604800,\"max_idle\":null,\"max_size\":1000,\"max_files\":null},"
	"\"blocked\":{\"why\":\"files open for writing\",\"bytes\":50},"
	"\"trend\":{\"growth_per_day\":null,\"last_24h\":[]}},"
	"{\"name\":\"we\\\"ird\\\\z\",\"files\":0,\"bytes\":0,\"disk_bytes\":0,\"open_files\":0,"
	"\"oldest_mtime\":null,\"present\":false,\"limits\":{},\"blocked\":null,"
	"\"trend\":{\"growth_per_day\":1234,\"last_24h\":[]}}],"
	"\"filesystems\":[{\"mount\":\"/srv\",\"size\":1000,\"used\":500,\"free\":500,"
	"\"used_pct\":50.0,\"high_pct\":90,\"low_pct\":80,\"pressure\":false,\"blocked\":null,"
	"\"trend\":{\"growth_per_day\":100},\"high_mark_at\":5000}],"
	"\"archive\":{\"files\":2,\"bytes\":10,\"oldest\":null,\"full\":null},"
	"\"counters\":{\"events\":7,\"bytes_freed\":99,\"errors\":0}}";

static char *render(void)
{
	json_object *o = json_tokener_parse(status);
	char *text;

	assert_non_null(o);
	text = metrics_render(o, 2000);
	json_object_put(o);
	assert_non_null(text);
	return text;
}

static void samples(void **state)
{
	char *t = render();

	(void)state;
	assert_non_null(strstr(t, "sweepd_info{version=\"1.2\"} 1\n"));
	assert_non_null(strstr(t, "sweepd_zone_files{zone=\"out\"} 3\n"));
	assert_non_null(strstr(t, "sweepd_zone_oldest_age_seconds{zone=\"out\"} 1100\n"));
	assert_non_null(strstr(t, "sweepd_zone_limit_max_size_bytes{zone=\"out\"} 1000\n"));
	assert_null(strstr(t, "sweepd_zone_limit_max_idle_seconds{zone=\"out\"}"));
	assert_non_null(strstr(t, "sweepd_zone_blocked{zone=\"out\"} 1\n"));
	assert_non_null(strstr(t, "sweepd_zone_blocked_bytes{zone=\"out\"} 50\n"));
	/* Label values escaped as the format says. */
	assert_non_null(strstr(t, "sweepd_zone_blocked{zone=\"we\\\"ird\\\\z\"} 0\n"));
	assert_non_null(strstr(t, "sweepd_zone_growth_bytes_per_day{zone=\"we\\\"ird\\\\z\"} 1234\n"));
	assert_non_null(strstr(t, "sweepd_filesystem_high_mark_ratio{mount=\"/srv\"} 0.9\n"));
	assert_non_null(strstr(t, "sweepd_filesystem_used_bytes{mount=\"/srv\"} 500\n"));
	assert_non_null(strstr(t, "sweepd_filesystem_high_mark_eta_seconds{mount=\"/srv\"} 3000\n"));
	assert_non_null(strstr(t, "sweepd_events_total 7\n"));
	assert_non_null(strstr(t, "sweepd_freed_bytes_total 99\n"));
	assert_non_null(strstr(t, "sweepd_archive_full 0\n"));
	assert_non_null(strstr(t, "sweepd_alarms 1\n"));
	assert_null(strstr(t, "sweepd_last_sweep_timestamp_seconds "));
	free(t);
}

/* Every family: HELP, then TYPE, then its samples, each name once. */
static void families_well_formed(void **state)
{
	char *t = render(), *save = NULL, *line, last[128] = "";
	int helps = 0;

	(void)state;
	for (line = strtok_r(t, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[128];

		if (!strncmp(line, "# HELP ", 7)) {
			sscanf(line + 7, "%127s", name);
			assert_int_equal(strncmp(name, "sweepd_", 7), 0);
			assert_string_not_equal(name, last);
			strcpy(last, name);
			helps++;
			line = strtok_r(NULL, "\n", &save);
			assert_non_null(line);
			assert_int_equal(strncmp(line, "# TYPE ", 7), 0);
			assert_int_equal(strncmp(line + 7, name, strlen(name)), 0);
			continue;
		}
		assert_int_equal(strncmp(line, last, strlen(last)), 0);
		assert_true(line[strlen(last)] == '{' || line[strlen(last)] == ' ');
	}
	assert_true(helps > 30);
	free(t);
}

/* sweepd_alarms reads status.alarms, the one list, when the status carries it. */
static void alarms_from_the_list(void **state)
{
	json_object *o = json_tokener_parse(status), *list = json_object_new_array();
	char *t;

	(void)state;
	assert_non_null(o);
	json_object_array_add(list, json_tokener_parse("{\"name\":\"quota_unmet\"}"));
	json_object_array_add(list, json_tokener_parse("{\"name\":\"rotate_blocked\"}"));
	json_object_array_add(list, json_tokener_parse("{\"name\":\"rotate_blocked\"}"));
	json_object_array_add(list, json_tokener_parse("{\"name\":\"new_kind\"}"));
	json_object_array_add(list, json_tokener_parse("{\"name\":\"new_kind\"}"));
	json_object_object_add(o, "alarms", list);
	t = metrics_render(o, 2000);
	json_object_put(o);
	assert_non_null(t);
	assert_non_null(strstr(t, "sweepd_alarms 5\n"));
	/* By name: each known one (0 when off), and one the list brings, once. */
	assert_non_null(strstr(t, "sweepd_alarm_active{name=\"rotate_blocked\"} 2\n"));
	assert_non_null(strstr(t, "sweepd_alarm_active{name=\"quota_unmet\"} 1\n"));
	assert_non_null(strstr(t, "sweepd_alarm_active{name=\"prerotate_failed\"} 0\n"));
	assert_non_null(strstr(t, "sweepd_alarm_active{name=\"new_kind\"} 2\n"));
	assert_null(strstr(strstr(t, "{name=\"new_kind\"}") + 1, "{name=\"new_kind\"}"));
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(samples),
		cmocka_unit_test(families_well_formed),
		cmocka_unit_test(alarms_from_the_list),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
