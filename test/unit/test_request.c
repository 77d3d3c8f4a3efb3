#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "request.h"

static int parse(const char *line, struct request *req, char *err)
{
	return request_parse(line, strlen(line), req, err, 256);
}

static void good_requests(void **state)
{
	struct request r;
	char err[256];

	(void)state;
	assert_int_equal(parse("{\"cmd\":\"status\"}", &r, err), 0);
	assert_int_equal(r.cmd, REQ_STATUS);
	request_clear(&r);
	assert_int_equal(parse("{\"cmd\":\"top\",\"zone\":\"outputs\",\"n\":20,\"by\":\"age\"}", &r, err), 0);
	assert_int_equal(r.cmd, REQ_TOP);
	assert_string_equal(r.zone, "outputs");
	assert_int_equal(r.n, 20);
	assert_int_equal(r.by, REQ_BY_AGE);
	request_clear(&r);
	assert_int_equal(parse(" {\"cmd\":\"sweep\",\"dry_run\":true} ", &r, err), 0);
	assert_int_equal(r.dry_run, 1);
	assert_true(request_is_admin(r.cmd));
	request_clear(&r);
	assert_int_equal(parse("{\"cmd\":\"restore\",\"path\":\"/a/\xee\xbf\xbf\"}", &r, err), 0);
	assert_string_equal(r.path, "/a/\xff");
	request_clear(&r);
	assert_int_equal(parse("{\"cmd\":\"top\",\"zone\":\"z\"}", &r, err), 0);
	assert_int_equal(r.n, 10);
	assert_int_equal(r.by, REQ_BY_SIZE);
	request_clear(&r);
}

static void expect_error(const char *line, const char *fragment)
{
	struct request r;
	char err[256] = "";

	assert_int_equal(request_parse(line, strlen(line), &r, err, sizeof(err)), -22);
	if (!strstr(err, fragment))
		fail_msg("for %s: error \"%s\" lacks \"%s\"", line, err, fragment);
}

static void bad_requests(void **state)
{
	(void)state;
	expect_error("", "not valid JSON");
	expect_error("status", "not valid JSON");
	expect_error("{\"cmd\":\"status\"", "ends inside");
	expect_error("[1,2]", "must be a JSON object");
	expect_error("{\"cmd\":5}", "no \"cmd\"");
	expect_error("{}", "no \"cmd\"");
	expect_error("{\"cmd\":\"explode\"}", "unknown command");
	expect_error("{\"cmd\":\"top\"}", "needs a \"zone\"");
	expect_error("{\"cmd\":\"top\",\"zone\":\"z\",\"n\":0}", "from 1 to 1000");
	expect_error("{\"cmd\":\"top\",\"zone\":\"z\",\"n\":-3}", "non-negative");
	expect_error("{\"cmd\":\"top\",\"zone\":\"z\",\"n\":\"5\"}", "non-negative");
	expect_error("{\"cmd\":\"top\",\"zone\":\"z\",\"by\":\"name\"}", "\"size\" or \"age\"");
	expect_error("{\"cmd\":\"pause\\u0000junk\"}", "\"cmd\" holds a NUL");
	expect_error("{\"cmd\":\"top\",\"zone\":\"z\",\"by\":\"size\\u0000x\"}", "\"size\" or \"age\"");
	expect_error("{\"cmd\":\"status\",\"zone\":\"z\"}", "unknown field");
	expect_error("{\"cmd\":\"status\"} {\"cmd\":\"status\"}", "not valid JSON");
	expect_error("{\"cmd\":\"restore\"}", "either an \"id\" or a \"path\"");
	expect_error("{\"cmd\":\"sweep\",\"dry_run\":1}", "true or false");
	expect_error("\xff\xfe\x01", "not valid JSON");
	expect_error("{\"cmd\":\"status\",\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
		     "not valid JSON");
}

/* json-c keeps the last of two equal keys: a request naming one twice is refused. */
static void duplicate_keys(void **state)
{
	struct request r;
	char err[256];

	(void)state;
	expect_error("{\"cmd\":\"status\",\"cmd\":\"sweep\"}", "\"cmd\" twice");
	/* The same key spelt with an escape is the same key. */
	expect_error("{\"cmd\":\"status\",\"\\u0063md\":\"sweep\"}", "\"cmd\" twice");
	expect_error("{\"cmd\":\"top\",\"zone\":\"a\",\"n\":1,\"zone\":\"b\"}", "\"zone\" twice");
	expect_error(" { \"cmd\" : \"sweep\" , \"dry_run\" : true , \"dry_run\" : false } ",
		     "\"dry_run\" twice");
	/* Quotes, braces, commas and escapes inside strings are not structure. */
	assert_int_equal(parse("{\"cmd\":\"top\",\"zone\":\"a\\\",\\\"zone\\\":{[,\\\\\"}", &r, err), 0);
	assert_string_equal(r.zone, "a\",\"zone\":{[,\\");
	request_clear(&r);
	/* Equal keys in different objects are not duplicates (a nested value is refused
	 * for its type, not as a duplicate). */
	expect_error("{\"cmd\":\"top\",\"zone\":{\"zone\":1,\"x\":[\"zone\"]}}", "must be a string");
	expect_error("{\"cmd\":\"status\",\"zonE\":1,\"zone\":2}", "unknown field");
}

static bool needs_admin(const char *line)
{
	struct request r;
	char err[256];
	bool admin;

	assert_int_equal(parse(line, &r, err), 0);
	admin = request_needs_admin(&r);
	request_clear(&r);
	return admin;
}

/* A dry-run sweep changes nothing: it needs no admin; every other sweep does. */
static void dry_run_sweep_is_for_anyone(void **state)
{
	(void)state;
	assert_false(needs_admin("{\"cmd\":\"sweep\",\"dry_run\":true}"));
	assert_true(needs_admin("{\"cmd\":\"sweep\",\"dry_run\":false}"));
	assert_true(needs_admin("{\"cmd\":\"sweep\"}"));
	assert_false(needs_admin("{\"cmd\":\"status\"}"));
	assert_true(needs_admin("{\"cmd\":\"purge\"}"));
}

static void nul_byte(void **state)
{
	struct request r;
	char err[256];
	const char line[] = "{\"cmd\":\"status\"}\0junk";

	(void)state;
	assert_int_equal(request_parse(line, sizeof(line) - 1, &r, err, sizeof(err)), -22);
	assert_non_null(strstr(err, "NUL"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(good_requests),
		cmocka_unit_test(bad_requests),
		cmocka_unit_test(nul_byte),
		cmocka_unit_test(duplicate_keys),
		cmocka_unit_test(dry_run_sweep_is_for_anyone),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
