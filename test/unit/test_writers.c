#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "writers.h"

static void flags_from_fdinfo(void **state)
{
	(void)state;
	/* As the kernel writes them: Python's open(p, "w") and open(p, "a"). */
	assert_int_equal(writers_parse_flags("pos:\t0\nflags:\t02100001\nmnt_id:\t29\nino:\t12\n"),
			 02100001);
	assert_int_equal(writers_parse_flags("pos:\t3\nflags:\t02102001\nmnt_id:\t29\n"), 02102001);
	assert_true(writers_parse_flags("flags:\t02102001\n") & O_APPEND);
	assert_false(writers_parse_flags("flags:\t02100001\n") & O_APPEND);
	assert_int_equal(writers_parse_flags("flags:\t0"), 0);
	/* Missing, empty, not octal, trailing rubbish: refused. */
	assert_int_equal(writers_parse_flags(""), -EINVAL);
	assert_int_equal(writers_parse_flags("pos:\t0\nmnt_id:\t29\n"), -EINVAL);
	assert_int_equal(writers_parse_flags("flags:\t\n"), -EINVAL);
	assert_int_equal(writers_parse_flags("flags:\t0900\n"), -EINVAL);
	assert_int_equal(writers_parse_flags("flags:\t012x\n"), -EINVAL);
	assert_int_equal(writers_parse_flags("flags:\t077777777777777\n"), -EINVAL);
	/* Only a line that starts with it. */
	assert_int_equal(writers_parse_flags("xflags:\t01\n"), -EINVAL);
}

static void unsafe_is_any_without_append(void **state)
{
	struct writers_fd v[3] = {
		{ .pid = 10, .fd = 1, .flags = O_WRONLY | O_APPEND },
		{ .pid = 11, .fd = 4, .flags = O_WRONLY | O_APPEND },
		{ .pid = 12, .fd = 5, .flags = -EACCES },
	};

	(void)state;
	assert_null(writers_unsafe(v, 0));
	assert_null(writers_unsafe(v, 2));
	assert_ptr_equal(writers_unsafe(v, 3), &v[2]); /* flags unknown: unsafe */
	v[1].flags = O_WRONLY;
	assert_ptr_equal(writers_unsafe(v, 3), &v[1]);
}

/* A real child holding a file open, one way then the other: found with its flags. */
static void of_a_real_writer(void **state)
{
	char path[] = "/tmp/sweepd-writers-XXXXXX";
	int fd = mkstemp(path), ready[2];
	struct writers_fd *v;
	size_t n, hidden;
	struct stat st;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	close(fd);
	for (int append = 0; append < 2; append++) {
		char c;
		pid_t pid;

		assert_int_equal(pipe(ready), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			int w = open(path, O_WRONLY | (append ? O_APPEND : O_TRUNC));
			if (write(ready[1], "x", 1) != 1 || w < 0)
				_exit(1);
			pause();
			_exit(0);
		}
		assert_int_equal(read(ready[0], &c, 1), 1);
		assert_int_equal(writers_of(st.st_dev, st.st_ino, &v, &n, &hidden), 0);
		assert_int_equal(n, 1);
		assert_int_equal(v[0].pid, pid);
		assert_true(v[0].flags >= 0);
		assert_int_equal(!!(v[0].flags & O_APPEND), append);
		assert_true(v[0].comm[0] != '\0');
		assert_true((writers_unsafe(v, n) == NULL) == append);
		free(v);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		close(ready[0]);
		close(ready[1]);
	}
	/* Nobody now. */
	assert_int_equal(writers_of(st.st_dev, st.st_ino, &v, &n, &hidden), 0);
	assert_int_equal(n, 0);
	free(v);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(flags_from_fdinfo),
		cmocka_unit_test(unsafe_is_any_without_append),
		cmocka_unit_test(of_a_real_writer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
