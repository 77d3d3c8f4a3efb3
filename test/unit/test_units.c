#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "units.h"

static void sizes(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(units_parse_size("123", &v), 0);
	assert_int_equal(v, 123);
	assert_int_equal(units_parse_size("512K", &v), 0);
	assert_int_equal(v, 512 * 1024);
	assert_int_equal(units_parse_size("300M", &v), 0);
	assert_int_equal(v, 300ULL << 20);
	assert_int_equal(units_parse_size("50G", &v), 0);
	assert_int_equal(v, 50ULL << 30);
	assert_int_equal(units_parse_size("1.5T", &v), 0);
	assert_int_equal(v, 3ULL << 39);
	assert_int_equal(units_parse_size("2MiB", &v), 0);
	assert_int_equal(v, 2ULL << 20);
	assert_int_equal(units_parse_size("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(units_parse_size("100B", &v), 0); /* as sweepctl prints bytes */
	assert_int_equal(v, 100);
	const char *bad[] = {"", "-1", "1.5", "12X", "M", "1 M", "0x10", "inf", "nan", "1e3",
			     "99999999999P", " 5", "5MM", "1.5B", "B", "5BB"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(units_parse_size(bad[i], &v), -22);
}

static void durations(void **state)
{
	int64_t v;

	(void)state;
	assert_int_equal(units_parse_duration("90s", &v), 0);
	assert_int_equal(v, 90);
	assert_int_equal(units_parse_duration("15m", &v), 0);
	assert_int_equal(v, 900);
	assert_int_equal(units_parse_duration("1h", &v), 0);
	assert_int_equal(v, 3600);
	assert_int_equal(units_parse_duration("7d", &v), 0);
	assert_int_equal(v, 7 * 86400);
	assert_int_equal(units_parse_duration("2w", &v), 0);
	assert_int_equal(v, 14 * 86400);
	assert_int_equal(units_parse_duration("1.5h", &v), 0);
	assert_int_equal(v, 5400);
	assert_int_equal(units_parse_duration("42", &v), 0);
	assert_int_equal(v, 42);
	const char *bad[] = {"", "-5m", "5y", "5mm", "h", "1.5", "5 m"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(units_parse_duration(bad[i], &v), -22);
}

static void percents(void **state)
{
	double v;

	(void)state;
	assert_int_equal(units_parse_percent("85%", &v), 0);
	assert_true(v == 85);
	assert_int_equal(units_parse_percent("85.5%", &v), 0);
	assert_true(v == 85.5);
	assert_int_equal(units_parse_percent("100%", &v), 0);
	assert_int_equal(units_parse_percent("101%", &v), -22);
	assert_int_equal(units_parse_percent("85", &v), -22);
	assert_int_equal(units_parse_percent("-5%", &v), -22);
	assert_int_equal(units_parse_percent("%", &v), -22);
}

static void formats(void **state)
{
	char buf[32];

	(void)state;
	assert_string_equal(units_format_size(0, buf, sizeof(buf)), "0B");
	assert_string_equal(units_format_size(1023, buf, sizeof(buf)), "1023B");
	assert_string_equal(units_format_size(1536, buf, sizeof(buf)), "1.5K");
	assert_string_equal(units_format_size(300ULL << 20, buf, sizeof(buf)), "300M");
	assert_string_equal(units_format_age(59, buf, sizeof(buf)), "59s");
	assert_string_equal(units_format_age(6 * 86400 + 23 * 3600 + 5, buf, sizeof(buf)),
			    "6d 23h");
	assert_string_equal(units_format_age(3 * 3600 + 120, buf, sizeof(buf)), "3h 2m");
	assert_string_equal(units_format_age(-5, buf, sizeof(buf)), "0s");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sizes),
		cmocka_unit_test(durations),
		cmocka_unit_test(percents),
		cmocka_unit_test(formats),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
