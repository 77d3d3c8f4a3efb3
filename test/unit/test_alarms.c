#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "alarms.h"

static void collect(const struct alarm *al, void *ud)
{
	char *buf = ud;

	strcat(buf, al->name);
	strcat(buf, ";");
}

/* Held from round to round, an alarm keeps its start; not held, it ends, once. */
static void rounds_keep_since_and_end(void **state)
{
	struct alarms *a = alarms_create();
	const char *const disk[] = { "mount", "/srv", NULL };
	const char *const rb[] = { "zone", "logs", "path", "/l/app.log", "pid", "42", "comm", "app",
				   NULL };
	char ended[128] = "";

	(void)state;
	assert_non_null(a);
	alarms_begin(a);
	assert_int_equal(alarms_hold(a, "disk_high", disk, "full", 0, 100), 1);
	assert_int_equal(alarms_hold(a, "rotate_blocked", rb, "no O_APPEND", 90, 100), 1);
	assert_int_equal(alarms_end(a, collect, ended), 0);
	assert_int_equal(alarms_count(a), 2);
	assert_int_equal(alarms_at(a, 0)->since, 100);
	assert_int_equal(alarms_at(a, 1)->since, 90);
	assert_string_equal(alarms_label(alarms_at(a, 1), "comm"), "app");
	assert_null(alarms_label(alarms_at(a, 1), "mount"));

	/* Next round: the disk alarm again (its start kept, its summary new), no rotation one. */
	alarms_begin(a);
	assert_int_equal(alarms_hold(a, "disk_high", disk, "still full", 0, 200), 0);
	assert_int_equal(alarms_end(a, collect, ended), 1);
	assert_string_equal(ended, "rotate_blocked;");
	assert_int_equal(alarms_count(a), 1);
	assert_int_equal(alarms_at(a, 0)->since, 100);
	assert_string_equal(alarms_at(a, 0)->summary, "still full");

	/* Another label value is another alarm. */
	alarms_begin(a);
	assert_int_equal(alarms_hold(a, "disk_high", disk, "full", 0, 300), 0);
	assert_int_equal(alarms_hold(a, "disk_high", (const char *const[]){ "mount", "/var", NULL },
				     "full", 0, 300), 1);
	assert_int_equal(alarms_hold(a, "archive_full", NULL, "full", 0, 300), 1);
	assert_int_equal(alarms_end(a, NULL, NULL), 0);
	assert_int_equal(alarms_count(a), 3);

	/* An empty round ends them all. */
	ended[0] = '\0';
	alarms_begin(a);
	assert_int_equal(alarms_end(a, collect, ended), 3);
	assert_string_equal(ended, "disk_high;disk_high;archive_full;");
	assert_int_equal(alarms_count(a), 0);
	alarms_destroy(a);
}

static void too_many_labels(void **state)
{
	struct alarms *a = alarms_create();
	const char *const many[] = { "a", "1", "b", "2", "c", "3", "d", "4", "e", "5", NULL };

	(void)state;
	alarms_begin(a);
	assert_int_equal(alarms_hold(a, "x", many, "s", 0, 1), -EINVAL);
	assert_int_equal(alarms_count(a), 0);
	alarms_destroy(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rounds_keep_since_and_end),
		cmocka_unit_test(too_many_labels),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
