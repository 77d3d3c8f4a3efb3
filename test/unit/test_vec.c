#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "vec.h"

static void grows_and_keeps(void **state)
{
	size_t cap = 0;
	int *v = NULL;

	(void)state;
	for (int i = 0; i < 1000; i++) {
		int *g = vec_grow(v, &cap, (size_t)i + 1, sizeof(*v));
		assert_non_null(g);
		v = g;
		assert_true(cap >= (size_t)i + 1);
		v[i] = i;
	}
	for (int i = 0; i < 1000; i++)
		assert_int_equal(v[i], i);
	/* Enough room: the same buffer back, capacity unchanged. */
	size_t before = cap;
	assert_ptr_equal(vec_grow(v, &cap, 10, sizeof(*v)), v);
	assert_int_equal(cap, before);
	/* A large jump gets at least what it asks for. */
	v = vec_grow(v, &cap, 100000, sizeof(*v));
	assert_non_null(v);
	assert_true(cap >= 100000);
	free(v);
}

static void overflow_refused(void **state)
{
	size_t cap = 4;
	char *v = malloc(4);

	(void)state;
	assert_null(vec_grow(v, &cap, SIZE_MAX / 2, 8));
	assert_int_equal(cap, 4);
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(grows_and_keeps),
		cmocka_unit_test(overflow_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
