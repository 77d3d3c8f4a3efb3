#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "trend.h"

#define T0 1800000000 /* a minute boundary: 30000000 * 60 */

static void growth_from_minutes(void **state)
{
	struct trends t = {0};
	struct trend_series *s = trends_series(&t, "zone:outputs");
	double g;

	(void)state;
	assert_non_null(s);
	assert_ptr_equal(trends_series(&t, "zone:outputs"), s);
	assert_false(trend_growth(s, T0, &g));
	/* 1000 bytes a minute for 30 minutes: 1440000 a day. */
	for (int m = 0; m <= 30; m++)
		trend_add(s, T0 + m * 60, 5000 + 1000 * (uint64_t)m);
	assert_true(trend_growth(s, T0 + 30 * 60, &g));
	assert_true(fabs(g - 1440000.0) < 1.0);
	/* A sawtooth (a sweep every ten minutes) still has its mean slope. */
	for (int m = 31; m <= 90; m++)
		trend_add(s, T0 + m * 60, 5000 + 1000 * (uint64_t)(m % 10));
	assert_true(trend_growth(s, T0 + 90 * 60, &g));
	assert_true(fabs(g) < 1440000.0 / 4);
	trends_clear(&t);
}

static void too_little_history(void **state)
{
	struct trends t = {0};
	struct trend_series *s = trends_series(&t, "fs:/srv");
	double g;

	(void)state;
	/* Five minutes of samples: not enough to say. */
	for (int m = 0; m <= 5; m++)
		trend_add(s, T0 + m * 60, (uint64_t)m * 100);
	assert_false(trend_growth(s, T0 + 5 * 60, &g));
	/* Out of the day's reach: minute samples no longer count. */
	for (int m = 6; m <= 20; m++)
		trend_add(s, T0 + m * 60, (uint64_t)m * 100);
	assert_true(trend_growth(s, T0 + 20 * 60, &g));
	assert_false(trend_growth(s, T0 + 20 * 60 + 2 * 86400, &g));
	trends_clear(&t);
}

static void growth_from_hours(void **state)
{
	struct trends t = {0};
	struct trend_series *s = trends_series(&t, "fs:/srv");
	double g;

	(void)state;
	/* One sample an hour over three days (a daemon that ran an hour a day, say). */
	for (int h = 0; h < 72; h += 8)
		trend_add(s, T0 + h * 3600, 1000000 + 24000 * (uint64_t)h);
	assert_true(trend_growth(s, T0 + 71 * 3600, &g));
	assert_true(fabs(g - 24000.0 * 24) < 1.0);
	trends_clear(&t);
}

static void last_hours_and_reaching(void **state)
{
	struct trends t = {0};
	struct trend_series *s = trends_series(&t, "zone:z");
	int64_t v[TREND_SPARK];

	(void)state;
	trend_add(s, T0, 10);
	trend_add(s, T0 + 3600 * 5, 20);
	trend_add(s, T0 + 3600 * 5 + 60, 25); /* the hour keeps its last sample */
	trend_last_hours(s, T0 + 3600 * 5 + 120, v);
	assert_int_equal(v[TREND_SPARK - 1], 25);
	assert_int_equal(v[TREND_SPARK - 6], 10);
	assert_int_equal(v[TREND_SPARK - 2], -1);
	assert_int_equal(v[0], -1);
	assert_int_equal(trend_reaches(100, 1000, 900.0, T0), T0 + 86400);
	assert_int_equal(trend_reaches(100, 1000, 0.0, T0), -1);
	assert_int_equal(trend_reaches(100, 1000, -5.0, T0), -1);
	assert_int_equal(trend_reaches(1000, 900, 1.0, T0), T0);
	assert_int_equal(trend_reaches(0, UINT64_MAX / 2, 1.0, T0), -1);
	trends_clear(&t);
}

static void json_round_trip(void **state)
{
	struct trends t = {0}, back = {0};
	struct trend_series *s = trends_series(&t, "zone:a"), *r;
	json_object *o;
	double g1, g2;

	(void)state;
	for (int m = 0; m < 3000; m += 7)
		trend_add(s, T0 + m * 60, 1000 + (uint64_t)m * 3);
	trends_series(&t, "zone:empty");
	o = trends_to_json(&t, T0 + 3000 * 60);
	assert_int_equal(trends_from_json(&back, o, T0 + 3000 * 60), 0);
	json_object_put(o);
	r = trends_find(&back, "zone:a");
	assert_non_null(r);
	assert_null(trends_find(&back, "zone:empty")); /* nothing in reach: not kept */
	assert_true(trend_growth(s, T0 + 3000 * 60, &g1));
	assert_true(trend_growth(r, T0 + 3000 * 60, &g2));
	assert_true(fabs(g1 - g2) < 1e-6);
	assert_memory_equal(r->hours, s->hours, sizeof(s->hours));
	trends_clear(&t);
	trends_clear(&back);
}

static void bad_json_refused(void **state)
{
	static const char *const bad[] = {
		"[]",
		"{\"version\":2,\"series\":{}}",
		"{\"version\":1}",
		"{\"version\":1,\"series\":{\"a\":{\"m\":[[1,2,3]]}}}",
		"{\"version\":1,\"series\":{\"a\":{\"m\":[[\"x\",2]]}}}",
		"{\"version\":1,\"series\":{\"a\":{\"h\":[[5,-2]]}}}",
		"{\"version\":1,\"series\":{\"a\":7}}",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		struct trends t = {0};
		json_object *o = json_tokener_parse(bad[i]);
		assert_int_equal(trends_from_json(&t, o, T0), -EINVAL);
		json_object_put(o);
		trends_clear(&t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(growth_from_minutes),
		cmocka_unit_test(too_little_history),
		cmocka_unit_test(growth_from_hours),
		cmocka_unit_test(last_hours_and_reaching),
		cmocka_unit_test(json_round_trip),
		cmocka_unit_test(bad_json_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
