#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rotplan.h"
#include "units.h"

static void names_round_trip_and_sort_by_time(void **state)
{
	char a[128], b[128], c[128];
	int64_t when;
	bool zst;

	(void)state;
	/* 2026-11-22 10:15:03 UTC */
	assert_int_equal(rotplan_name(a, sizeof(a), "app.log", 1795342503, 42, true), 0);
	assert_string_equal(a, "app.log-20261122T101503.000042Z.zst");
	assert_true(rotplan_parse(a, "app.log", &when, &zst));
	assert_int_equal(when, 1795342503);
	assert_true(zst);
	assert_int_equal(rotplan_name(b, sizeof(b), "app.log", 1795342503, 43, false), 0);
	assert_true(rotplan_parse(b, "app.log", &when, &zst));
	assert_false(zst);
	/* A later second, a later microsecond: a later name, compressed or not. */
	assert_int_equal(rotplan_name(c, sizeof(c), "app.log", 1795342504, 0, true), 0);
	assert_true(strcmp(a, c) < 0);
	assert_true(strcmp(b, c) < 0);
	/* Too small a buffer is said, not cut. */
	assert_int_equal(rotplan_name(a, 20, "app.log", 0, 0, false), -ENAMETOOLONG);
}

static void parse_rejects_what_is_not_a_copy(void **state)
{
	(void)state;
	assert_false(rotplan_parse("app.log", "app.log", NULL, NULL));
	assert_false(rotplan_parse("app.log-20261122T101503.000042Z.gz", "app.log", NULL, NULL));
	assert_false(rotplan_parse("app.log-20261122T101503Z", "app.log", NULL, NULL));
	assert_false(rotplan_parse("app.log-2026112xT101503.000042Z", "app.log", NULL, NULL));
	assert_false(rotplan_parse("other.log-20261122T101503.000042Z", "app.log", NULL, NULL));
	/* The copy of "app" is not a copy of "app.log", nor the reverse. */
	assert_false(rotplan_parse("app.log-20261122T101503.000042Z", "app", NULL, NULL));
	assert_true(rotplan_is_copy("app.log-20261122T101503.000042Z"));
	assert_true(rotplan_is_copy("x-20261122T101503.000042Z.zst"));
	assert_false(rotplan_is_copy("app.log"));
	assert_false(rotplan_is_copy("-20261122T101503.000042Z"));
}

static void expire_by_keep_and_age(void **state)
{
	char *names[] = { "a-20261101T000000.000000Z.zst", "a-20261120T000000.000000Z.zst",
			  "a-20261121T000000.000000Z", "a-20261122T000000.000000Z.zst",
			  "a-20261122T000000.000001Z.zst" };
	struct rotplan_copy v[5];
	int64_t now = 1795305600 + 3600; /* 2026-11-22 01:00 UTC */

	(void)state;
	for (int i = 0; i < 5; i++) {
		v[4 - i] = (struct rotplan_copy){ .name = names[i] };
		assert_true(rotplan_parse(names[i], "a", &v[4 - i].when, &v[4 - i].zst));
	}
	/* keep 3: the two oldest go; newest first after the call. */
	assert_int_equal(rotplan_expire(v, 5, 3, -1, now), 2);
	assert_string_equal(v[0].name, names[4]);
	assert_string_equal(v[4].name, names[0]);
	assert_false(v[2].drop);
	assert_true(v[3].drop && v[4].drop && !v[3].by_age);
	/* max_age 7 days: only the copy of Nov 1 is older. */
	assert_int_equal(rotplan_expire(v, 5, -1, 7 * 86400, now), 1);
	assert_true(v[4].drop && v[4].by_age);
	/* keep 0: every copy goes; no limit: none. */
	assert_int_equal(rotplan_expire(v, 5, 0, -1, now), 5);
	assert_int_equal(rotplan_expire(v, 5, -1, -1, now), 0);
	assert_int_equal(rotplan_expire(NULL, 0, 1, 1, now), 0);
}

static void collapse_takes_whole_blocks_before_the_end(void **state)
{
	(void)state;
	assert_int_equal(rotplan_collapse_len(0, 4096), 0);
	assert_int_equal(rotplan_collapse_len(4096, 4096), 0);
	assert_int_equal(rotplan_collapse_len(8191, 4096), 4096);
	/* Ending exactly at the end is refused by the kernel: one block less. */
	assert_int_equal(rotplan_collapse_len(8192, 4096), 4096);
	assert_int_equal(rotplan_collapse_len(2097152 + 17, 4096), 2097152);
	assert_int_equal(rotplan_collapse_len(100, 0), 0);
}

static void tail_start_counts_lines_backwards(void **state)
{
	const char *text = "one\ntwo\nthree\nfour"; /* the caller dropped a final newline */
	int64_t need;

	(void)state;
	need = 2;
	assert_int_equal(rotplan_tail_start(text, strlen(text), &need), 8); /* "three\nfour" */
	need = 4;
	assert_int_equal(rotplan_tail_start(text, strlen(text), &need), -1);
	assert_int_equal(need, 1); /* three newlines found: one more line to look for */
	need = 1;
	assert_int_equal(rotplan_tail_start(text, strlen(text), &need), 14);
	/* Across buffers: the second call goes on where the first stopped. */
	need = 3;
	assert_int_equal(rotplan_tail_start(text + 9, strlen(text) - 9, &need), -1);
	assert_int_equal(need, 2);
	assert_int_equal(rotplan_tail_start(text, 9, &need), 4);
}

static void size_due_and_the_floor(void **state)
{
	(void)state;
	assert_false(rotplan_size_due(100, -1, 0)); /* no size limit */
	assert_false(rotplan_size_due(99, 100, 0));
	assert_true(rotplan_size_due(100, 100, 0));
	/* keep_tail_lines left 150 of a 100-byte limit: wait for a quarter more. */
	assert_false(rotplan_size_due(170, 100, 150));
	assert_true(rotplan_size_due(175, 100, 150));
	/* A floor under the limit changes nothing. */
	assert_true(rotplan_size_due(100, 100, 90));
}

static void data_bytes_count_what_is_on_disk(void **state)
{
	(void)state;
	/* A log without a hole: its size, even when its last block is not full. */
	assert_int_equal(units_data_bytes(1000, 8), 1000);
	assert_int_equal(units_data_bytes(1 << 20, 2048), 1 << 20);
	/* Preallocated past its end (xfs): still its size. */
	assert_int_equal(units_data_bytes(4096, 64), 4096);
	/* A hole: 8 MiB apparent, 104 KiB on disk. */
	assert_int_equal(units_data_bytes(8 << 20, 208), 208 * 512);
	assert_false(rotplan_size_due(units_data_bytes(8 << 20, 208), 1 << 20, 0));
	/* No overflow on absurd block counts. */
	assert_int_equal(units_data_bytes(10, UINT64_MAX), 10);
}

static void glob_examples(void **state)
{
	char buf[64];

	(void)state;
	assert_true(rotplan_glob_example("*.log", buf, sizeof(buf)));
	assert_string_equal(buf, "x.log");
	assert_true(rotplan_glob_example("app-?.[lL]og", buf, sizeof(buf)));
	assert_string_equal(buf, "app-x.log");
	assert_true(rotplan_glob_example("sub/*.txt", buf, sizeof(buf)));
	assert_string_equal(buf, "sub/x.txt");
	assert_false(rotplan_glob_example("[!a]*", buf, sizeof(buf)));
	assert_false(rotplan_glob_example("*.log", buf, 3));
	/* A '[' at the very end: no class, and nothing read past the pattern's end (fuzz_config). */
	{
		char *cut = strdup("a.log[");
		assert_false(rotplan_glob_example(cut, buf, sizeof(buf)));
		free(cut);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names_round_trip_and_sort_by_time),
		cmocka_unit_test(parse_rejects_what_is_not_a_copy),
		cmocka_unit_test(expire_by_keep_and_age),
		cmocka_unit_test(collapse_takes_whole_blocks_before_the_end),
		cmocka_unit_test(tail_start_counts_lines_backwards),
		cmocka_unit_test(size_due_and_the_floor),
		cmocka_unit_test(data_bytes_count_what_is_on_disk),
		cmocka_unit_test(glob_examples),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
