#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http_route.h"

static void targets(void **state)
{
	const char *cmd;

	(void)state;
	assert_int_equal(http_route_target("/", &cmd), HTTP_PAGE);
	assert_int_equal(http_route_target("/login", &cmd), HTTP_LOGIN);
	assert_int_equal(http_route_target("/metrics", &cmd), HTTP_METRICS);
	assert_int_equal(http_route_target("/api/v1/status", &cmd), HTTP_API);
	assert_string_equal(cmd, "status");
	assert_int_equal(http_route_target("/api/v1/", &cmd), HTTP_UNKNOWN);
	assert_int_equal(http_route_target("/api/v2/status", &cmd), HTTP_UNKNOWN);
	assert_int_equal(http_route_target("/metrics/", &cmd), HTTP_UNKNOWN);
	assert_int_equal(http_route_target("//", &cmd), HTTP_UNKNOWN);
}

static void query_lines(void **state)
{
	const char *keys[] = { "zone", "n", "by", "dry_run", "older_than", "path" };
	const char *values[] = { "2024", "5", "age", "true", "7d", "/srv/12" };
	char err[256], *line;

	(void)state;
	assert_int_equal(http_route_from_query("top", keys, values, 6, &line, err, sizeof(err)), 0);
	assert_string_equal(line, "{\"zone\":\"2024\",\"n\":5,\"by\":\"age\",\"dry_run\":true,"
				  "\"older_than\":\"7d\",\"path\":\"\\/srv\\/12\",\"cmd\":\"top\"}");
	free(line);
	/* The path's command wins over nothing: a different cmd is an error, a repeated key too. */
	keys[0] = "cmd";
	values[0] = "sweep";
	assert_int_equal(http_route_from_query("top", keys, values, 1, &line, err, sizeof(err)),
			 -22);
	assert_non_null(strstr(err, "\"sweep\""));
	keys[0] = keys[1] = "n";
	assert_int_equal(http_route_from_query("top", keys, values, 2, &line, err, sizeof(err)),
			 -22);
	assert_non_null(strstr(err, "twice"));
	/* Numbers as JSON writes them: a space or a plus sign leaves a string. */
	keys[0] = "n";
	values[0] = " 5";
	keys[1] = "id";
	values[1] = "+7";
	assert_int_equal(http_route_from_query("top", keys, values, 2, &line, err, sizeof(err)), 0);
	assert_string_equal(line, "{\"n\":\" 5\",\"id\":\"+7\",\"cmd\":\"top\"}");
	free(line);
	/* A key without a value is true. */
	keys[0] = "dry_run";
	values[0] = NULL;
	assert_int_equal(http_route_from_query("sweep", keys, values, 1, &line, err, sizeof(err)), 0);
	assert_string_equal(line, "{\"dry_run\":true,\"cmd\":\"sweep\"}");
	free(line);
}

static void body_lines(void **state)
{
	char err[256], *line, *big;

	(void)state;
	assert_int_equal(http_route_from_body("pause", "", 0, &line, err, sizeof(err)), 0);
	assert_string_equal(line, "{\"cmd\":\"pause\"}");
	free(line);
	{
		const char *b = " {\"zone\":\"a\",\"cmd\":\"sweep\"}\n";
		assert_int_equal(http_route_from_body("sweep", b, strlen(b), &line, err, sizeof(err)),
				 0);
	}
	assert_string_equal(line, "{\"zone\":\"a\",\"cmd\":\"sweep\"}");
	free(line);
	assert_int_equal(http_route_from_body("sweep", "{\"cmd\":\"purge\"}", 15, &line, err,
					      sizeof(err)),
			 -22);
	assert_int_equal(http_route_from_body("sweep", "[1]", 3, &line, err, sizeof(err)), -22);
	assert_int_equal(http_route_from_body("sweep", "{\"a\":", 5, &line, err, sizeof(err)), -22);
	assert_int_equal(http_route_from_body("sweep", "{} {}", 5, &line, err, sizeof(err)), -22);
	assert_int_equal(http_route_from_body("sweep", "{\"cmd\":1}", 9, &line, err, sizeof(err)),
			 -22);
	big = calloc(1, 70000);
	memset(big, ' ', 69999);
	big[0] = '{';
	big[69998] = '}';
	assert_int_equal(http_route_from_body("sweep", big, 69999, &line, err, sizeof(err)), -22);
	free(big);
}

static void status_codes(void **state)
{
	(void)state;
	assert_int_equal(http_route_status("{\"ok\":true}\n"), 200);
	assert_int_equal(http_route_status("{ \"ok\": true, \"x\": 1 }"), 200);
	assert_int_equal(http_route_status("{\"ok\":false,\"error\":\"x\"}"), 400);
	assert_int_equal(http_route_status("{\"error\":\"x\",\"ok\":true}"), 400);
	assert_int_equal(http_route_status(""), 400);
	assert_int_equal(http_route_status("{\"ok\""), 400);
}

static void origins(void **state)
{
	(void)state;
	assert_true(http_route_origin_ok(NULL, "127.0.0.1:9477", false));
	assert_true(http_route_origin_ok("http://127.0.0.1:9477", "127.0.0.1:9477", false));
	assert_true(http_route_origin_ok("https://h.example:9477", "h.example:9477", true));
	assert_false(http_route_origin_ok("https://h.example:9477", "h.example:9477", false));
	assert_false(http_route_origin_ok("http://h.example:9477", "h.example:9477", true));
	assert_false(http_route_origin_ok("x://127.0.0.1:9477", "127.0.0.1:9477", false));
	assert_false(http_route_origin_ok("http://evil.example", "127.0.0.1:9477", false));
	assert_false(http_route_origin_ok("http://127.0.0.1:9477.evil", "127.0.0.1:9477", false));
	assert_false(http_route_origin_ok("null", "127.0.0.1:9477", false));
	assert_false(http_route_origin_ok("http://127.0.0.1:9477", NULL, false));
}

static void hosts(void **state)
{
	(void)state;
	assert_true(http_route_host_ok(NULL));
	assert_true(http_route_host_ok("127.0.0.1:9477"));
	assert_true(http_route_host_ok("127.0.0.1"));
	assert_true(http_route_host_ok("localhost:9477"));
	assert_true(http_route_host_ok("LocalHost"));
	assert_true(http_route_host_ok("[::1]:9477"));
	assert_true(http_route_host_ok("10.0.0.5:9477"));
	assert_false(http_route_host_ok("evil.example:9477"));
	assert_false(http_route_host_ok("localhost.evil.example"));
	assert_false(http_route_host_ok("[::1"));
	assert_false(http_route_host_ok("[::1]x"));
	assert_false(http_route_host_ok(""));
	assert_false(http_route_host_ok(":9477"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(targets),	cmocka_unit_test(query_lines),
		cmocka_unit_test(body_lines),	cmocka_unit_test(status_codes),
		cmocka_unit_test(origins),	cmocka_unit_test(hosts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
