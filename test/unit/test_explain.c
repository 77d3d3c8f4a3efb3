#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <string.h>

#include "config.h"
#include "explain.h"

#define NOW 1800000000
#define DAY 86400

static struct rotate_config groups[2];

static struct zone_config zone(void)
{
	struct zone_config z = { .name = "outputs", .path = "/srv/outputs", .recursive = true,
				 .max_age = 7 * DAY, .max_idle = CONFIG_UNSET,
				 .min_age = CONFIG_UNSET, .max_size = CONFIG_UNSET,
				 .max_files = CONFIG_UNSET, .action = ACTION_ARCHIVE };
	memset(groups, 0, sizeof(groups));
	for (size_t i = 0; i < 2; i++)
		groups[i].size = groups[i].every = groups[i].keep = groups[i].max_age = CONFIG_UNSET;
	return z;
}

static json_object *verdict(const struct explain_facts *f)
{
	json_object *o = json_object_new_object();

	explain_verdict(f, o);
	return o;
}

static const char *get(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

static void states(void **state)
{
	struct zone_config z = zone();
	struct explain_writer w = { 4242, "ffmpeg" };
	struct explain_facts f = { .path = "/srv/outputs/a.mp4", .z = &z, .matched = true,
				   .tracked = true, .size = 100, .mtime = NOW - DAY,
				   .last_write = NOW - DAY, .last_use = NOW - DAY, .now = NOW };
	json_object *o;

	(void)state;
	o = verdict(&f);
	assert_string_equal(get(o, "state"), "kept");
	assert_string_equal(get(o, "zone"), "outputs");
	assert_int_equal(json_object_get_int64(json_object_object_get(o, "due_at")),
			 policy_age_due(&z, NOW - DAY));
	assert_non_null(strstr(get(o, "rule"), "max_age 7d"));
	json_object_put(o);

	f.mtime = f.last_write = f.last_use = NOW - 8 * DAY;
	o = verdict(&f);
	assert_string_equal(get(o, "state"), "due");
	assert_non_null(strstr(get(o, "why"), "older than max_age"));
	json_object_put(o);

	f.paused = true;
	o = verdict(&f);
	assert_non_null(strstr(get(o, "why"), "paused"));
	json_object_put(o);
	f.paused = false;

	f.writing = true;
	f.writers = &w;
	f.n_writers = 1;
	o = verdict(&f);
	assert_string_equal(get(o, "state"), "blocked");
	assert_non_null(strstr(get(o, "why"), "pid 4242 (ffmpeg)"));
	assert_int_equal(json_object_array_length(json_object_object_get(o, "writers")), 1);
	json_object_put(o);
	f.writing = false;
	f.n_writers = 0;

	/* Young, but among the oldest files an over-full zone gives up. */
	f.mtime = f.last_write = f.last_use = NOW - DAY;
	f.excess.bytes = 50;
	f.picked_by_size = true;
	o = verdict(&f);
	assert_string_equal(get(o, "state"), "due");
	assert_non_null(strstr(get(o, "why"), "over max_size"));
	json_object_put(o);
	/* The oldest, but being written: it would go first, and may not. */
	f.writing = true;
	o = verdict(&f);
	assert_string_equal(get(o, "state"), "blocked");
	assert_non_null(strstr(get(o, "why"), "over max_size"));
	json_object_put(o);
	f.writing = false;
	f.picked_by_size = false;
	f.excess.bytes = 0;

	f.matched = false;
	o = verdict(&f);
	assert_string_equal(get(o, "state"), "kept");
	assert_non_null(strstr(get(o, "why"), "leaves it out"));
	json_object_put(o);

	f.z = NULL;
	o = verdict(&f);
	assert_string_equal(get(o, "state"), "outside");
	assert_null(get(o, "zone"));
	json_object_put(o);
}

static void logs(void **state)
{
	struct zone_config z = zone();
	struct explain_facts f = { .path = "/srv/logs/app.log", .z = &z, .matched = true,
				   .tracked = true, .is_log = true, .size = 10,
				   .last_rotation = NOW - 3600, .now = NOW, .group = &groups[0] };
	char *access[] = { "access.log" };
	json_object *o;

	(void)state;
	z.rotates = groups;
	z.n_rotates = 1;
	groups[0].size = 1 << 20;
	groups[0].every = DAY;
	o = verdict(&f);
	assert_string_equal(get(o, "state"), "kept");
	assert_int_equal(json_object_get_int64(json_object_object_get(o, "group")), 1);
	assert_null(json_object_object_get(o, "group_include"));
	assert_int_equal(json_object_get_int64(json_object_object_get(o, "next_rotation_at")),
			 NOW - 3600 + DAY);
	assert_int_equal(json_object_get_int64(json_object_object_get(o, "size_trigger")), 1 << 20);
	json_object_put(o);

	f.size = 2 << 20;
	o = verdict(&f);
	assert_string_equal(get(o, "state"), "due");
	json_object_put(o);

	f.rotate_blocked = "its writer lacks O_APPEND";
	o = verdict(&f);
	assert_string_equal(get(o, "state"), "blocked");
	assert_non_null(strstr(get(o, "why"), "O_APPEND"));
	json_object_put(o);

	f.rotate_blocked = NULL;
	f.size = 0;
	o = verdict(&f);
	assert_string_equal(get(o, "state"), "kept");
	assert_non_null(strstr(get(o, "why"), "empty"));
	json_object_put(o);

	/* The second of two groups: said by number and include, with its own triggers. */
	z.n_rotates = 2;
	groups[0].include = (struct globs){ access, 1 };
	groups[1].every = 7 * DAY;
	f.group = &groups[1];
	f.group_index = 1;
	f.size = 10;
	o = verdict(&f);
	assert_int_equal(json_object_get_int64(json_object_object_get(o, "group")), 2);
	assert_non_null(strstr(get(o, "rule"), "rotate group 2 of 2 (every log): rotate every 7d"));
	assert_null(json_object_object_get(o, "size_trigger"));
	json_object_put(o);
	f.group = &groups[0];
	f.group_index = 0;
	o = verdict(&f);
	assert_non_null(strstr(get(o, "rule"), "rotate group 1 of 2 (include access.log): rotate"));
	assert_string_equal(
		json_object_get_string(json_object_array_get_idx(json_object_object_get(o, "group_include"), 0)),
		"access.log");
	json_object_put(o);

	f.is_log = false;
	f.is_copy = true;
	groups[0].keep = 5;
	o = verdict(&f);
	assert_non_null(strstr(get(o, "why"), "once 5 newer copies exist"));
	json_object_put(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(states),
		cmocka_unit_test(logs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
