#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "archive_index.h"
#include "policy.h"

static struct zone_config zone(void)
{
	struct zone_config z;

	memset(&z, 0, sizeof(z));
	z.max_age = z.max_idle = z.max_size = z.max_files = CONFIG_UNSET;
	z.min_age = 60;
	return z;
}

static void deadlines(void **state)
{
	struct zone_config z = zone();

	(void)state;
	assert_true(policy_age_due(&z, 1000) == POLICY_NEVER);
	z.max_age = 7 * 86400;
	/* older than max_age: due one second after the age equals it */
	assert_int_equal(policy_age_due(&z, 1000), 1000 + 7 * 86400 + 1);
	z.max_idle = 3600;
	assert_int_equal(policy_idle_due(&z, 500), 500 + 3601);
	assert_int_equal(policy_touchable_at(&z, 100), 160);
	z.min_age = CONFIG_UNSET;
	assert_int_equal(policy_touchable_at(&z, 100), 100);
	z.max_age = INT64_MAX - 5;
	assert_true(policy_age_due(&z, 100) == POLICY_NEVER); /* saturates */
}

static void blocks(void **state)
{
	struct zone_config z = zone();

	(void)state;
	assert_int_equal(policy_block(&z, true, false, 0, 1000), POLICY_WRITING);
	assert_int_equal(policy_block(&z, false, false, 950, 1000), POLICY_TOO_YOUNG);
	assert_int_equal(policy_block(&z, false, false, 940, 1000), POLICY_FREE);
	assert_int_equal(policy_block(&z, false, true, 0, 1000), POLICY_HELD);
	assert_string_equal(policy_block_name(POLICY_WRITING), "open for writing");
}

static void excess_and_reasons(void **state)
{
	struct zone_config z = zone();
	struct policy_excess e;

	(void)state;
	e = policy_zone_excess(&z, 1 << 30, 1000000);
	assert_int_equal(e.bytes + e.files, 0);
	z.max_size = 100;
	z.max_files = 3;
	e = policy_zone_excess(&z, 150, 5);
	assert_int_equal(e.bytes, 50);
	assert_int_equal(e.files, 2);
	e = policy_zone_excess(&z, 100, 3);
	assert_int_equal(e.bytes + e.files, 0);
	for (int r = REASON_MAX_AGE; r <= REASON_REBUILT; r++)
		assert_int_equal(policy_reason_parse(policy_reason_name((enum policy_reason)r)), r);
	assert_int_equal(policy_reason_parse("nonsense"), REASON_NONE);
}

/* Starts above high, lasts down to low: no thrashing between the marks. */
static void disk_hysteresis(void **state)
{
	uint64_t need;

	(void)state;
	assert_false(policy_disk_pressure(90, 80, 1000, 850, false, &need));
	assert_true(policy_disk_pressure(90, 80, 1000, 910, false, &need));
	assert_int_equal(need, 110);
	assert_true(policy_disk_pressure(90, 80, 1000, 850, true, &need));
	assert_int_equal(need, 50);
	assert_false(policy_disk_pressure(90, 80, 1000, 800, true, &need));
	assert_int_equal(need, 0);
	assert_false(policy_disk_pressure(0, 0, 1000, 999, false, &need)); /* disabled */
	assert_int_equal(policy_mark_bytes(90, 1000), 900);
	/* Room for a reservation: under the high mark, not the low one. */
	assert_int_equal(policy_disk_room(90, 1000, 500, 300), 0);
	assert_int_equal(policy_disk_room(90, 1000, 500, 400), 0);
	assert_int_equal(policy_disk_room(90, 1000, 500, 450), 50);
	assert_int_equal(policy_disk_room(90, 1000, 950, 0), 50);
	assert_int_equal(policy_disk_room(0, 1000, 950, 10), 0);
	assert_int_equal(policy_archive_due(CONFIG_UNSET, 5), POLICY_NEVER);
	assert_int_equal(policy_archive_due(10, 5), 16);
}

static void index_order_lines_and_removal(void **state)
{
	struct archive_index *ix = archive_index_create(), *back = archive_index_create();
	struct archive_entry e = { .zone = "z", .path = "/z/a", .apath = "/ar/z/a", .bytes = 10,
				   .stored = 4, .reason = REASON_MAX_AGE };
	struct archive_entry *x;
	char *line;

	(void)state;
	for (int i = 0; i < 3000; i++) {
		e.archived_at = i == 2999 ? 5 : 100 + i; /* the last one: a clock set back */
		assert_non_null(archive_index_add(ix, &e));
	}
	assert_int_equal(ix->live, 3000);
	assert_int_equal(ix->stored, 12000);
	assert_int_equal(archive_index_oldest(ix)->archived_at, 5);
	assert_int_equal(archive_index_oldest(ix)->id, 3000);
	/* ids are unique */
	e.id = 5;
	assert_null(archive_index_add(ix, &e));
	e.id = 0;
	/* remove most: compaction keeps lookups right */
	for (uint64_t id = 1; id <= 2500; id++)
		archive_index_remove(ix, archive_index_get(ix, id));
	assert_int_equal(ix->live, 500);
	assert_non_null(x = archive_index_get(ix, 2600));
	assert_int_equal(x->archived_at, 100 + 2599);
	assert_null(archive_index_get(ix, 7));
	/* a line round-trips, non-UTF-8 bytes included */
	free(x->path);
	x->path = strdup("/z/caf\xe9\n\"q\"");
	x->marked = true;
	line = archive_index_line(x, true);
	assert_int_equal(archive_index_apply(back, line), 0);
	free(line);
	assert_string_equal(archive_index_get(back, 2600)->path, "/z/caf\xe9\n\"q\"");
	assert_true(archive_index_get(back, 2600)->marked);
	assert_non_null(archive_index_find_path(back, "/z/caf\xe9\n\"q\""));
	line = archive_index_line(x, false);
	assert_int_equal(archive_index_apply(back, line), 0);
	free(line);
	assert_int_equal(back->live, 0);
	/* an entry in the bucket: its location and digest round-trip; a forged digest does not */
	x->remote = true;
	free(x->apath);
	x->apath = strdup("s3://b/gpu-07/z/a.bin");
	x->sha256 = strdup("ea107e684b5869325c186490c6db6e3b4aa14d0ca03b43ea82bdfef6a79ba53b");
	line = archive_index_line(x, true);
	assert_non_null(strstr(line, "\"location\":\"remote\""));
	assert_int_equal(archive_index_apply(back, line), 0);
	free(line);
	assert_true(archive_index_get(back, 2600)->remote);
	assert_string_equal(archive_index_get(back, 2600)->sha256, x->sha256);
	archive_index_remove(back, archive_index_get(back, 2600));
	x->sha256[0] = 'Z';
	line = archive_index_line(x, true);
	assert_int_equal(archive_index_apply(back, line), -EINVAL);
	free(line);
	x->remote = false;
	line = archive_index_line(x, true);
	assert_non_null(strstr(line, "\"location\":\"local\""));
	free(line);
	assert_int_equal(archive_index_apply(back, "{\"op\":\"add\"}"), -EINVAL);
	assert_int_equal(archive_index_apply(back, "not json"), -EINVAL);
	archive_index_destroy(ix);
	archive_index_destroy(back);
}

/* The archive's mark round-trips, and nothing else passes for one. */
static void archive_mark(void **state)
{
	struct archive_entry e = { .archived_at = 1764547200, .reason = REASON_DISK_HIGH,
				   .bytes = 123456789012ULL, .compressed = true };
	struct archive_entry back = { 0 };
	char buf[ARCHIVE_MARK_MAX + 1];
	int n;

	(void)state;
	n = archive_index_mark(&e, buf, sizeof(buf));
	assert_true(n > 0);
	assert_string_equal(buf, "sweepd 1 1764547200 disk_high 123456789012 1");
	assert_int_equal(archive_index_mark_parse(buf, (size_t)n, &back), 0);
	assert_int_equal(back.archived_at, e.archived_at);
	assert_int_equal(back.reason, REASON_DISK_HIGH);
	assert_int_equal(back.bytes, e.bytes);
	assert_true(back.compressed);
	assert_int_equal(archive_index_mark_parse(buf, (size_t)n - 2, &back), -EINVAL); /* cut short */
	assert_int_equal(archive_index_mark_parse("sweepd 1 5 max_age 6 2", 22, &back), -EINVAL);
	assert_int_equal(archive_index_mark_parse("sweepd 1 -5 max_age 6 0", 23, &back), -EINVAL);
	assert_int_equal(archive_index_mark_parse("sweepd 1 5 max_age 6 0 x", 24, &back), -EINVAL);
	assert_int_equal(archive_index_mark_parse("sweepd archive root", 19, &back), -EINVAL);
	assert_int_equal(archive_index_mark_parse("", 0, &back), -EINVAL);
	assert_int_equal(archive_index_mark(&e, buf, 8), -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(deadlines),
		cmocka_unit_test(blocks),
		cmocka_unit_test(excess_and_reasons),
		cmocka_unit_test(disk_hysteresis),
		cmocka_unit_test(index_order_lines_and_removal),
		cmocka_unit_test(archive_mark),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
