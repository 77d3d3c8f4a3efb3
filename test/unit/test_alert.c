#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alarms.h"
#include "alert.h"

/* What a round asked for, one "status name since ends repeat;" each. */
static void collect(const struct alert_event *ev, void *ud)
{
	char *buf = ud, line[256];

	snprintf(line, sizeof(line), "%s %s %lld %lld%s;",
		 ev->status == ALERT_FIRING ? "firing" : "resolved", ev->alarm->name,
		 (long long)ev->alarm->since, (long long)ev->ends_at, ev->repeat ? " again" : "");
	strcat(buf, line);
}

/* One round of the alarms list: names held, each with since 0 (first held: now). */
static void round_of(struct alarms *a, int64_t now, const char *const *names)
{
	const char *const disk[] = { "mount", "/srv", NULL };

	alarms_begin(a);
	for (size_t i = 0; names[i]; i++)
		alarms_hold(a, names[i], strcmp(names[i], "disk_high") ? NULL : disk, "why", 0,
			    now);
	alarms_end(a, NULL, NULL);
}

/* Started: fires once; held: nothing; gone: resolved with endsAt, once. */
static void start_hold_end(void **state)
{
	struct alarms *a = alarms_create();
	struct alert_track *t = alert_track_create();
	char got[1024] = "";

	(void)state;
	round_of(a, 100, (const char *const[]){ "disk_high", "watch_limit", NULL });
	assert_int_equal(alert_track_sync(t, a, 100, 0, true, collect, got), 0);
	assert_string_equal(got, "firing disk_high 100 0;firing watch_limit 100 0;");
	got[0] = '\0';
	round_of(a, 150, (const char *const[]){ "disk_high", "watch_limit", NULL });
	alert_track_sync(t, a, 150, 0, true, collect, got);
	assert_string_equal(got, "");
	assert_int_equal(alert_track_next(t, 0), 0);
	round_of(a, 200, (const char *const[]){ "watch_limit", NULL });
	alert_track_sync(t, a, 200, 0, true, collect, got);
	assert_string_equal(got, "resolved disk_high 100 200;");
	assert_int_equal(alert_track_count(t), 1);
	got[0] = '\0';
	round_of(a, 210, (const char *const[]){ NULL });
	alert_track_sync(t, a, 210, 0, true, collect, got);
	alert_track_sync(t, a, 220, 0, true, collect, got);
	assert_string_equal(got, "resolved watch_limit 100 210;");
	assert_int_equal(alert_track_count(t), 0);
	alert_track_destroy(t);
	alarms_destroy(a);
}

/* With repeat: fires again each repeat while it lasts, between rounds too. */
static void repeats(void **state)
{
	struct alarms *a = alarms_create();
	struct alert_track *t = alert_track_create();
	char got[1024] = "";

	(void)state;
	round_of(a, 100, (const char *const[]){ "archive_full", NULL });
	alert_track_sync(t, a, 100, 60, true, collect, got);
	assert_int_equal(alert_track_next(t, 60), 160);
	alert_track_sync(t, a, 159, 60, true, collect, got);
	alert_track_due(t, 159, 60, true, collect, got);
	assert_string_equal(got, "firing archive_full 100 0;");
	got[0] = '\0';
	alert_track_due(t, 161, 60, true, collect, got);
	assert_string_equal(got, "firing archive_full 100 0 again;");
	assert_int_equal(alert_track_next(t, 60), 221);
	got[0] = '\0';
	round_of(a, 230, (const char *const[]){ "archive_full", NULL });
	alert_track_sync(t, a, 230, 60, true, collect, got);
	assert_string_equal(got, "firing archive_full 100 0 again;");
	/* A new repeat (a reload) counts from the last run. */
	assert_int_equal(alert_track_next(t, 3600), 230 + 3600);
	alert_track_destroy(t);
	alarms_destroy(a);
}

/* No command: nothing is sent or marked sent; once there is one, what holds fires. */
static void without_a_command(void **state)
{
	struct alarms *a = alarms_create();
	struct alert_track *t = alert_track_create();
	char got[1024] = "";

	(void)state;
	round_of(a, 100, (const char *const[]){ "disk_high", "archive_full", NULL });
	alert_track_sync(t, a, 100, 10, false, collect, got);
	alert_track_due(t, 200, 10, false, collect, got);
	assert_string_equal(got, "");
	assert_int_equal(alert_track_next(t, 10), 0);
	/* Never sent, ended: no resolved. */
	round_of(a, 110, (const char *const[]){ "disk_high", NULL });
	alert_track_sync(t, a, 110, 0, true, collect, got);
	assert_string_equal(got, "firing disk_high 100 0;");
	/* The command gone again: the end of one sent goes unsaid, and it is forgotten. */
	got[0] = '\0';
	round_of(a, 120, (const char *const[]){ NULL });
	alert_track_sync(t, a, 120, 0, false, collect, got);
	assert_string_equal(got, "");
	assert_int_equal(alert_track_count(t), 0);
	alert_track_destroy(t);
	alarms_destroy(a);
}

/* An alarm whose start the list moves (remote_failing's failing_since) keeps its identity. */
static void since_follows_the_list(void **state)
{
	struct alarms *a = alarms_create();
	struct alert_track *t = alert_track_create();
	const char *const b[] = { "bucket", "bk", NULL };
	char got[1024] = "";

	(void)state;
	alarms_begin(a);
	alarms_hold(a, "remote_failing", b, "one", 50, 100);
	alarms_end(a, NULL, NULL);
	alert_track_sync(t, a, 100, 0, true, collect, got);
	alarms_begin(a);
	alarms_hold(a, "remote_failing", b, "two", 40, 110);
	alarms_end(a, NULL, NULL);
	alert_track_sync(t, a, 110, 0, true, collect, got);
	alarms_begin(a);
	alarms_end(a, NULL, NULL);
	alert_track_sync(t, a, 120, 0, true, collect, got);
	assert_string_equal(got, "firing remote_failing 50 0;resolved remote_failing 40 120;");
	alert_track_destroy(t);
	alarms_destroy(a);
}

static json_object *field(json_object *o, const char *key)
{
	json_object *v = NULL;

	assert_true(json_object_object_get_ex(o, key, &v));
	return v;
}

/* The JSON Alertmanager's POST /api/v2/alerts takes: a list of one, labels, times in UTC. */
static void alertmanager_shape(void **state)
{
	char *k0 = "mount", *v0 = "/srv/a\"b", *k1 = "zone", *v1 = "bad\xff";
	struct alert_alarm al = { .name = "disk_high", .keys = { k0, k1 },
				  .values = { v0, v1 }, .n_labels = 2,
				  .summary = "the disk is full\nreally", .since = 1796205600 };
	char *text, *name, buf[128];
	json_object *list, *o, *labels;

	(void)state;
	assert_string_equal(alert_rfc3339(1796205600, buf, sizeof(buf)), "2026-12-02T10:00:00Z");
	name = alert_name(&al);
	assert_string_equal(name, "disk_high{mount=\"/srv/a\"b\",zone=\"bad\xff\"}");
	free(name);
	text = alert_json(&al, ALERT_FIRING, 0, NULL);
	assert_non_null(text);
	assert_null(strstr(text, "\\/")); /* slashes as they are */
	list = json_tokener_parse(text);
	assert_non_null(list);
	assert_int_equal(json_object_array_length(list), 1);
	o = json_object_array_get_idx(list, 0);
	labels = field(o, "labels");
	assert_string_equal(json_object_get_string(field(labels, "alertname")), "disk_high");
	assert_string_equal(json_object_get_string(field(labels, "mount")), "/srv/a\"b");
	/* Not UTF-8: as pathenc.h says, U+EF00 + byte. */
	assert_string_equal(json_object_get_string(field(labels, "zone")), "bad\xee\xbf\xbf");
	assert_string_equal(json_object_get_string(field(field(o, "annotations"), "summary")),
			    "the disk is full\nreally");
	assert_string_equal(json_object_get_string(field(o, "startsAt")), "2026-12-02T10:00:00Z");
	assert_false(json_object_object_get_ex(o, "endsAt", NULL));
	assert_false(json_object_object_get_ex(o, "generatorURL", NULL));
	assert_int_equal(json_object_object_length(o), 3);
	json_object_put(list);
	free(text);

	al.n_labels = 0;
	text = alert_json(&al, ALERT_RESOLVED, 1796209200, "http://host:9900/");
	list = json_tokener_parse(text);
	o = json_object_array_get_idx(list, 0);
	assert_int_equal(json_object_object_length(field(o, "labels")), 1);
	assert_string_equal(json_object_get_string(field(o, "endsAt")), "2026-12-02T11:00:00Z");
	assert_string_equal(json_object_get_string(field(o, "generatorURL")), "http://host:9900/");
	name = alert_name(&al);
	assert_string_equal(name, "disk_high");
	free(name);
	json_object_put(list);
	free(text);
}

/* The name is the runner's identity of an alarm: whole, however long its labels. */
static void long_names_whole(void **state)
{
	char path[5000], *k = "path", *name;
	struct alert_alarm al = { .name = "rotate_blocked", .keys = { k }, .values = { path },
				  .n_labels = 1, .summary = "s" };

	(void)state;
	memset(path, 'a', sizeof(path) - 2);
	path[sizeof(path) - 2] = 'b';
	path[sizeof(path) - 1] = '\0';
	name = alert_name(&al);
	assert_int_equal(strlen(name), strlen("rotate_blocked{path=\"\"}") + sizeof(path) - 1);
	assert_non_null(strstr(name, "ab\"}"));
	free(name);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(start_hold_end),
		cmocka_unit_test(repeats),
		cmocka_unit_test(without_a_command),
		cmocka_unit_test(since_follows_the_list),
		cmocka_unit_test(alertmanager_shape),
		cmocka_unit_test(long_names_whole),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
