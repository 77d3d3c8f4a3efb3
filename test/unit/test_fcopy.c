#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "fcopy.h"

#define MIB (1ull << 20)
#define GIB (1ull << 30)
/* Apparent size of the test file: a copy of every zero would write for minutes. */
#define BIG (64 * GIB)

/* The data regions of the sparse source: (offset, length), block-aligned. */
static const struct {
	uint64_t off, len;
} regions[] = {
	{ 0, 64 << 10 },
	{ 5 * GIB, 3 * MIB },
	{ 40 * GIB + 4096 * 7, 1 * MIB },
};
#define N_REGIONS (sizeof(regions) / sizeof(*regions))

/* The byte the source holds at off: its own pattern in a region, 0 elsewhere. */
static unsigned char want_at(uint64_t off)
{
	for (size_t i = 0; i < N_REGIONS; i++)
		if (off >= regions[i].off && off < regions[i].off + regions[i].len)
			return (unsigned char)(off * 2654435761u >> 13) | 1;
	return 0;
}

static uint64_t data_bytes(void)
{
	uint64_t n = 0;

	for (size_t i = 0; i < N_REGIONS; i++)
		n += regions[i].len;
	return n;
}

/* An unnamed file in dir, or -1. */
static int tmp_in(const char *dir)
{
	return open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
}

static int make_source(const char *dir, uint64_t size)
{
	unsigned char *buf = malloc(4 * MIB);
	int fd = tmp_in(dir);

	assert_non_null(buf);
	assert_true(fd >= 0);
	for (size_t i = 0; i < N_REGIONS; i++) {
		for (uint64_t k = 0; k < regions[i].len; k++)
			buf[k] = want_at(regions[i].off + k);
		assert_int_equal(pwrite(fd, buf, regions[i].len, (off_t)regions[i].off),
				 (ssize_t)regions[i].len);
	}
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	free(buf);
	return fd;
}

/*
 * Every byte of out as the source holds it: its data extents read (each
 * compared), and what lies outside them a hole, read as zeros by definition,
 * where the source has zeros too. Reads only the data, never the holes.
 */
static void assert_same_content(int out, uint64_t size)
{
	static unsigned char buf[1 << 16];
	uint64_t seen = 0;
	off_t pos = 0;
	struct stat st;

	assert_int_equal(fstat(out, &st), 0);
	assert_int_equal((uint64_t)st.st_size, size);
	for (;;) {
		off_t data = lseek(out, pos, SEEK_DATA), hole;

		if (data < 0) {
			assert_int_equal(errno, ENXIO);
			break;
		}
		hole = lseek(out, data, SEEK_HOLE);
		assert_true(hole > data);
		/* The hole before it: zeros in the source too. */
		for (size_t i = 0; i < N_REGIONS; i++)
			assert_false(regions[i].off < (uint64_t)data &&
				     regions[i].off + regions[i].len > (uint64_t)pos);
		for (off_t at = data; at < hole;) {
			off_t left = hole - at;
			size_t want = left < (off_t)sizeof(buf) ? (size_t)left : sizeof(buf);
			ssize_t n = pread(out, buf, want, at);

			assert_true(n > 0);
			for (ssize_t k = 0; k < n; k++) {
				uint64_t o = (uint64_t)(at + k);

				if (buf[k] != want_at(o))
					fail_msg("byte %llu: %u, want %u", (unsigned long long)o,
						 buf[k], want_at(o));
			}
			at += n;
			seen += (uint64_t)n;
		}
		pos = hole;
	}
	for (size_t i = 0; i < N_REGIONS; i++)
		assert_false(regions[i].off + regions[i].len > (uint64_t)pos);
	/* The data was there to read, not a file of holes. */
	assert_true(seen >= data_bytes());
}

struct watch {
	int out;
	uint64_t last, calls, max_alloc;
	bool stop_at_once;
};

/*
 * Between chunks: done only ever grows, never past the data; and the copy never
 * holds much more than the source's data (a copy of the holes would be
 * stopped here, at once, rather than write gigabytes of zeros).
 */
static bool keep_going(void *ud, uint64_t done)
{
	struct watch *w = ud;
	struct stat st;

	w->calls++;
	assert_true(done >= w->last);
	assert_true(done <= data_bytes());
	w->last = done;
	assert_int_equal(fstat(w->out, &st), 0);
	if ((uint64_t)st.st_blocks * 512 > w->max_alloc)
		return false;
	return !w->stop_at_once;
}

static void copies_by_data_into(const char *dir_in, const char *dir_out)
{
	int in = make_source(dir_in, BIG), out = tmp_in(dir_out);
	struct watch w = { .out = out, .max_alloc = data_bytes() + 8 * MIB };
	struct stat si, so;

	if (out < 0) {
		close(in);
		skip();
	}
	assert_int_equal(fstat(in, &si), 0);
	assert_true(fcopy_mostly_holes(&si));
	assert_int_equal(fcopy_data(in, out, keep_going, &w), 0);
	assert_true(w.calls >= 2);
	assert_int_equal(w.last, data_bytes());
	assert_same_content(out, BIG);
	/* No more on disk than the source, to the block. */
	assert_int_equal(fstat(out, &so), 0);
	assert_true(so.st_blocks <= si.st_blocks + 8);
	close(in);
	close(out);
}

/* Within a filesystem: copy_file_range at the data's offsets. */
static void sparse_within_a_filesystem(void **state)
{
	(void)state;
	copies_by_data_into("/tmp", "/tmp");
}

/* Across filesystems (ext4 to tmpfs): read and write, at the data's offsets. */
static void sparse_across_filesystems(void **state)
{
	struct statfs a, b;

	(void)state;
	if (statfs("/tmp", &a) < 0 || statfs("/dev/shm", &b) < 0 || a.f_type == b.f_type)
		skip();
	copies_by_data_into("/tmp", "/dev/shm");
	copies_by_data_into("/dev/shm", "/tmp");
}

/* A hole at the end (no extent says where the file ends): the size is set. */
static void trailing_hole_and_a_file_with_none(void **state)
{
	unsigned char buf[8192];
	int in = tmp_in("/tmp"), out = tmp_in("/tmp");
	struct stat st;

	(void)state;
	memset(buf, 'a', sizeof(buf));
	assert_int_equal(pwrite(in, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	assert_int_equal(ftruncate(in, 3 * MIB + 5), 0);
	assert_int_equal(fcopy_data(in, out, NULL, NULL), 0);
	assert_int_equal(fstat(out, &st), 0);
	assert_int_equal(st.st_size, 3 * MIB + 5);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(pread(out, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	assert_int_equal(buf[0], 'a');
	assert_int_equal(buf[sizeof(buf) - 1], 'a');
	assert_int_equal(pread(out, buf, 10, 3 * MIB - 5), 10);
	for (int k = 0; k < 10; k++)
		assert_int_equal(buf[k], 0);
	close(out);
	/* A file of plain data, and an empty one: copied whole, as before. */
	assert_int_equal(ftruncate(in, 0), 0);
	for (int k = 0; k < 100; k++)
		assert_int_equal(pwrite(in, buf, sizeof(buf), k * (off_t)sizeof(buf)),
				 (ssize_t)sizeof(buf));
	out = tmp_in("/tmp");
	assert_int_equal(fcopy_data(in, out, NULL, NULL), 0);
	assert_int_equal(fstat(out, &st), 0);
	assert_int_equal(st.st_size, 100 * (off_t)sizeof(buf));
	close(out);
	assert_int_equal(ftruncate(in, 0), 0);
	out = tmp_in("/tmp");
	assert_int_equal(fcopy_data(in, out, NULL, NULL), 0);
	assert_int_equal(fstat(out, &st), 0);
	assert_int_equal(st.st_size, 0);
	close(out);
	close(in);
}

static void stops_between_chunks(void **state)
{
	int in = make_source("/tmp", BIG), out = tmp_in("/tmp");
	struct watch w = { .out = out, .max_alloc = UINT64_MAX, .stop_at_once = true };

	(void)state;
	assert_int_equal(fcopy_data(in, out, keep_going, &w), -ECANCELED);
	assert_int_equal(w.calls, 1);
	close(in);
	close(out);
}

static void mostly_holes(void **state)
{
	struct stat st = { 0 };

	(void)state;
	st.st_size = 15ll << 40; /* truncate -s 15T */
	st.st_blocks = 8;
	assert_true(fcopy_mostly_holes(&st));
	assert_int_equal(fcopy_disk_bytes(&st), 4096);
	/* A small file, or one half on disk, is not. */
	st.st_size = 512 << 10;
	st.st_blocks = 0;
	assert_false(fcopy_mostly_holes(&st));
	st.st_size = 64 * MIB;
	st.st_blocks = 32 * MIB / 512;
	assert_false(fcopy_mostly_holes(&st));
	st.st_blocks = 32 * MIB / 512 - 1;
	assert_true(fcopy_mostly_holes(&st));
	/* Blocks past the size (the last one's rest): the size. */
	st.st_size = 100;
	st.st_blocks = 8;
	assert_int_equal(fcopy_disk_bytes(&st), 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(mostly_holes),
		cmocka_unit_test(sparse_within_a_filesystem),
		cmocka_unit_test(sparse_across_filesystems),
		cmocka_unit_test(trailing_hole_and_a_file_with_none),
		cmocka_unit_test(stops_between_chunks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
