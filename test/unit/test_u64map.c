#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "u64map.h"

static bool odd(uint64_t key, void *val, void *ud)
{
	(void)val;
	(void)ud;
	return key & 1;
}

static void count(uint64_t key, void *val, void *ud)
{
	(void)val;
	assert_true(key & 1);
	(*(int *)ud)++;
}

/* Entries dropped by a predicate, each told of once; the rest all still found. */
static void drop_if_keeps_the_rest(void **state)
{
	static int vals[5000];
	struct u64map *m = u64map_create();
	int gone = 0;

	(void)state;
	for (uint64_t k = 0; k < 5000; k++)
		assert_int_equal(u64map_put(m, k * 7919, &vals[k]), 0);
	assert_int_equal(u64map_drop_if(m, odd, count, &gone), 0);
	assert_int_equal(gone, 2500);
	assert_int_equal(u64map_len(m), 2500);
	for (uint64_t k = 0; k < 5000; k++) {
		if ((k * 7919) & 1)
			assert_null(u64map_get(m, k * 7919));
		else
			assert_ptr_equal(u64map_get(m, k * 7919), &vals[k]);
	}
	assert_int_equal(u64map_drop_if(m, odd, NULL, NULL), 0);
	assert_int_equal(u64map_len(m), 2500);
	u64map_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(drop_if_keeps_the_rest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
