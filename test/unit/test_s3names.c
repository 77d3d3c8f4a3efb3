#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "awscred.h"
#include "s3names.h"

/* Keys as SigV4's canonical URI spells them: '/' kept, every other reserved byte %XX. */
static void keys_encoded(void **state)
{
	char out[256];

	(void)state;
	assert_int_equal(s3_key_encode("gpu-07/outputs/a_b.~1~.mp4", out, sizeof(out)), 0);
	assert_string_equal(out, "gpu-07/outputs/a_b.~1~.mp4");
	assert_int_equal(s3_key_encode("a b+c=d&e?f#g%h", out, sizeof(out)), 0);
	assert_string_equal(out, "a%20b%2Bc%3Dd%26e%3Ff%23g%25h");
	/* Not text: UTF-8, a newline, a byte that is no UTF-8 at all. */
	assert_int_equal(s3_key_encode("vid\xc3\xa9o\n\xff", out, sizeof(out)), 0);
	assert_string_equal(out, "vid%C3%A9o%0A%FF");
	/* Exactly fits, one short. */
	assert_int_equal(s3_key_encode("a b", out, 6), 0);
	assert_string_equal(out, "a%20b");
	assert_int_equal(s3_key_encode("a b", out, 5), -ENAMETOOLONG);
	assert_int_equal(s3_key_encode("", out, 1), 0);
	assert_string_equal(out, "");
}

/* Queries sorted, encoded ('/' too), with '=' always: "uploads=". */
static void queries_canonical(void **state)
{
	char out[256];
	struct s3_param multipart[] = { { "uploadId", "2~x/y" }, { "partNumber", "10" } };
	struct s3_param flag[] = { { "uploads", "" } };
	struct s3_param list[] = {
		{ "prefix", "gpu-07/a b" }, { "list-type", "2" }, { "continuation-token", "a=b+c" }
	};

	(void)state;
	assert_int_equal(s3_query(multipart, 2, out, sizeof(out)), 0);
	assert_string_equal(out, "partNumber=10&uploadId=2~x%2Fy");
	assert_int_equal(s3_query(flag, 1, out, sizeof(out)), 0);
	assert_string_equal(out, "uploads=");
	assert_int_equal(s3_query(list, 3, out, sizeof(out)), 0);
	assert_string_equal(out, "continuation-token=a%3Db%2Bc&list-type=2&prefix=gpu-07%2Fa%20b");
	assert_int_equal(s3_query(NULL, 0, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(s3_query(list, 3, out, 20), -ENAMETOOLONG);
	assert_string_equal(out, "");
}

static void profiles_read(void **state)
{
	const char *text = "# made by aws configure\n"
			   "[default]\n"
			   "aws_access_key_id = AKDEFAULT\n"
			   "aws_secret_access_key=sekret-default\n"
			   "\n"
			   "[ archive ]\n"
			   "  aws_access_key_id =AKARCHIVE  \n"
			   "; a comment\n"
			   "aws_secret_access_key = s/e+c=r\n"
			   "aws_session_token = tok\n"
			   "region = eu-central-1\n"
			   "[broken]\n"
			   "aws_access_key_id = AKONLY\n";
	struct awscred c;
	char err[200];

	(void)state;
	assert_int_equal(awscred_parse(text, "default", &c, err, sizeof(err)), 0);
	assert_string_equal(c.access_key, "AKDEFAULT");
	assert_string_equal(c.secret_key, "sekret-default");
	assert_string_equal(c.session_token, "");
	assert_int_equal(awscred_parse(text, "archive", &c, err, sizeof(err)), 0);
	assert_string_equal(c.access_key, "AKARCHIVE");
	assert_string_equal(c.secret_key, "s/e+c=r");
	assert_string_equal(c.session_token, "tok");
	assert_int_equal(awscred_parse(text, "nope", &c, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "[nope]"));
	assert_int_equal(awscred_parse(text, "broken", &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "aws_secret_access_key"));
	assert_string_equal(c.access_key, ""); /* wiped on failure */
	awscred_clear(&c);
}

/* A file others may read is refused by its path; the secret never in an error. */
static void files_others_may_read_refused(void **state)
{
	char path[] = "/tmp/sweepd-awscred-XXXXXX", err[400];
	const char *text = "[default]\naws_access_key_id = AK\naws_secret_access_key = TOPSECRET\n";
	struct awscred c;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (int)strlen(text));
	close(fd);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(awscred_load(path, "default", &c, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "chmod 0600"));
	assert_null(strstr(err, "TOPSECRET"));
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(awscred_load(path, "default", &c, err, sizeof(err)), 0);
	assert_string_equal(c.secret_key, "TOPSECRET");
	assert_int_equal(awscred_load(path, "other", &c, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, path));
	assert_null(strstr(err, "TOPSECRET"));
	unlink(path);
	assert_int_equal(awscred_load(path, "default", &c, err, sizeof(err)), -ENOENT);
	awscred_clear(&c);
}

static void from_the_environment(void **state)
{
	struct awscred c;

	(void)state;
	unsetenv("AWS_ACCESS_KEY_ID");
	setenv("AWS_SECRET_ACCESS_KEY", "k", 1);
	assert_int_equal(awscred_from_env(&c), -ENOENT);
	setenv("AWS_ACCESS_KEY_ID", "AKENV", 1);
	assert_int_equal(awscred_from_env(&c), 0);
	assert_string_equal(c.access_key, "AKENV");
	assert_string_equal(c.secret_key, "k");
	awscred_clear(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(keys_encoded),
		cmocka_unit_test(queries_canonical),
		cmocka_unit_test(profiles_read),
		cmocka_unit_test(files_others_may_read_refused),
		cmocka_unit_test(from_the_environment),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
