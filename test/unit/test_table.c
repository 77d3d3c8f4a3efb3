#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"

static struct table_stat st(uint64_t size, uint64_t blocks, uint64_t ino, uint64_t nlink,
			    int64_t mtime)
{
	struct table_stat s = {.size = size, .blocks = blocks, .ino = ino, .nlink = nlink,
			       .mtime = mtime, .atime = mtime};
	return s;
}

static void put_update_remove(void **state)
{
	struct table *t = table_create(2);
	struct table_dir *root = table_dir_add(t, NULL, 0, "", 1, 2);
	struct table_stat s = st(100, 8, 10, 1, 1000);
	struct table_zone *z = table_zone(t, 0);
	struct table_file *f;

	(void)state;
	f = table_file_put(t, root, "a.mp4", &s);
	assert_non_null(f);
	assert_int_equal(z->files, 1);
	assert_int_equal(z->bytes, 100);
	assert_int_equal(z->disk_bytes, 8 * 512);
	s = st(300, 16, 10, 1, 1200);
	assert_ptr_equal(table_file_put(t, root, "a.mp4", &s), f);
	assert_int_equal(z->files, 1);
	assert_int_equal(z->bytes, 300);
	assert_int_equal(z->disk_bytes, 16 * 512);
	assert_ptr_equal(table_file_get(t, root, "a.mp4"), f);
	assert_null(table_file_get(t, root, "b.mp4"));
	table_file_set_writing(t, f, true);
	table_file_set_writing(t, f, true);
	assert_int_equal(z->open_files, 1);
	table_file_remove(t, f);
	assert_int_equal(z->files, 0);
	assert_int_equal(z->bytes, 0);
	assert_int_equal(z->disk_bytes, 0);
	assert_int_equal(z->open_files, 0);
	assert_int_equal(table_zone(t, 1)->files, 0);
	table_destroy(t);
}

static void hard_links_counted_once(void **state)
{
	struct table *t = table_create(1);
	struct table_dir *root = table_dir_add(t, NULL, 0, "", 1, 2);
	struct table_dir *sub = table_dir_add(t, root, 0, "sub", 1, 3);
	struct table_zone *z = table_zone(t, 0);
	struct table_stat s = st(4096, 8, 77, 1, 5);
	struct table_file *a, *b;

	(void)state;
	a = table_file_put(t, root, "a", &s);
	s.nlink = 2;
	a = table_file_put(t, root, "a", &s); /* ln a sub/b: a's nlink goes up */
	b = table_file_put(t, sub, "b", &s);
	assert_int_equal(z->files, 2);
	assert_int_equal(z->bytes, 8192);
	assert_int_equal(z->disk_bytes, 4096);
	/* The inode grows through one name: both names say so after their events. */
	s = st(8192, 16, 77, 2, 6);
	table_file_put(t, sub, "b", &s);
	assert_int_equal(z->disk_bytes, 8192);
	table_file_put(t, root, "a", &s);
	assert_int_equal(z->disk_bytes, 8192);
	assert_int_equal(z->bytes, 16384);
	table_file_remove(t, b);
	assert_int_equal(z->disk_bytes, 8192);
	s.nlink = 1;
	table_file_put(t, root, "a", &s);
	assert_int_equal(z->disk_bytes, 8192);
	table_file_remove(t, a);
	assert_int_equal(z->disk_bytes, 0);
	table_destroy(t);
}

/* ln a b sends no event for a: the batch's end counts a with b, then removals stay exact. */
static void links_settled_at_batch_end(void **state)
{
	struct table *t = table_create(1);
	struct table_dir *root = table_dir_add(t, NULL, 0, "", 1, 2);
	struct table_zone *z = table_zone(t, 0);
	struct table_stat s = st(4096, 8, 77, 1, 5);
	struct table_file *a, *b;

	(void)state;
	a = table_file_put(t, root, "a", &s);
	table_links_settle(t);
	s.nlink = 2;
	b = table_file_put(t, root, "b", &s); /* a still thinks it is alone */
	assert_int_equal(z->disk_bytes, 8192);
	table_links_settle(t);
	assert_int_equal(z->disk_bytes, 4096);
	assert_int_equal(z->files, 2);
	table_links_settle(t); /* nothing new: nothing changes */
	assert_int_equal(z->disk_bytes, 4096);
	table_file_remove(t, b);
	assert_int_equal(z->disk_bytes, 4096);
	table_file_remove(t, a);
	assert_int_equal(z->disk_bytes, 0);
	table_destroy(t);
}

static void oldest_is_heap_top(void **state)
{
	struct table *t = table_create(1);
	struct table_dir *root = table_dir_add(t, NULL, 0, "", 1, 2);
	struct table_file *files[500];
	char name[32];

	(void)state;
	assert_null(table_zone_oldest(t, 0));
	srand(7);
	for (int i = 0; i < 500; i++) {
		struct table_stat s = st(1, 1, (uint64_t)i + 1, 1, 1000 + rand() % 100000);
		snprintf(name, sizeof(name), "f%d", i);
		files[i] = table_file_put(t, root, name, &s);
	}
	/* Touch some, remove some, and check the top against a linear scan each time. */
	for (int round = 0; round < 400; round++) {
		int i = rand() % 500;
		int64_t min = INT64_MAX;
		if (files[i] && round % 3 == 0) {
			table_file_remove(t, files[i]);
			files[i] = NULL;
		} else if (files[i]) {
			struct table_stat s = st(1, 1, (uint64_t)i + 1, 1, rand() % 200000);
			snprintf(name, sizeof(name), "f%d", i);
			table_file_put(t, root, name, &s);
		}
		for (int k = 0; k < 500; k++)
			if (files[k] && files[k]->mtime < min)
				min = files[k]->mtime;
		assert_int_equal(table_zone_oldest(t, 0)->mtime, min);
	}
	table_destroy(t);
}

static void dirs_and_paths(void **state)
{
	struct table *t = table_create(1);
	struct table_dir *root = table_dir_add(t, NULL, 0, "", 1, 2);
	struct table_dir *a = table_dir_add(t, root, 0, "a", 1, 3);
	struct table_dir *b = table_dir_add(t, a, 0, "b c", 1, 4);
	struct table_stat s = st(10, 1, 9, 1, 1);
	struct table_file *f = table_file_put(t, b, "x.mp4", &s);
	char buf[256], tiny[6];

	(void)state;
	assert_ptr_equal(table_dir_add(t, root, 0, "a", 1, 3), a);
	assert_ptr_equal(table_dir_child(root, "a"), a);
	assert_int_equal(table_file_relpath(f, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "a/b c/x.mp4");
	assert_int_equal(table_dir_relpath(root, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	assert_int_equal(table_file_relpath(f, tiny, sizeof(tiny)), -36);
	assert_int_equal(table_dir_set_wd(t, b, 5), 0);
	assert_ptr_equal(table_dir_by_wd(t, 5), b);
	assert_int_equal(table_dir_move(t, b, root, "moved"), 0);
	assert_int_equal(table_file_relpath(f, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "moved/x.mp4");
	table_destroy(t);
}

/* Paths past PATH_MAX: the heap forms build them whole, the fixed ones refuse them. */
static void relpath_of_any_length(void **state)
{
	struct table *t = table_create(1);
	struct table_dir *d = table_dir_add(t, NULL, 0, "", 1, 2), *root = d;
	char name[251], want[20 * 251 + 16] = "", buf[4096], *got;
	struct table_stat s = st(10, 1, 9, 1, 1);
	struct table_file *f;

	(void)state;
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "%02d%0248d", i, 0);
		d = table_dir_add(t, d, 0, name, 1, 3 + (uint64_t)i);
		strcat(want, name);
		strcat(want, "/");
	}
	f = table_file_put(t, d, "bottom.bin", &s);
	assert_int_equal(table_file_relpath(f, buf, sizeof(buf)), -36);
	got = table_file_relpath_dup(f);
	strcat(want, "bottom.bin");
	assert_string_equal(got, want);
	free(got);
	got = table_dir_relpath_dup(d);
	want[strlen(want) - strlen("/bottom.bin")] = '\0';
	assert_string_equal(got, want);
	free(got);
	got = table_dir_relpath_dup(root);
	assert_string_equal(got, "");
	free(got);
	table_destroy(t);
}

static int dropped;
static void count_dropped(struct table_dir *d, void *ud)
{
	(void)d;
	(void)ud;
	dropped++;
}

static void remove_subtree(void **state)
{
	struct table *t = table_create(1);
	struct table_dir *root = table_dir_add(t, NULL, 0, "", 1, 2);
	struct table_dir *a = table_dir_add(t, root, 0, "a", 1, 3);
	struct table_dir *b = table_dir_add(t, a, 0, "b", 1, 4);
	struct table_zone *z = table_zone(t, 0);
	char name[16];

	(void)state;
	for (int i = 0; i < 100; i++) {
		struct table_stat s = st(1, 1, (uint64_t)i + 10, 1, i);
		snprintf(name, sizeof(name), "%d", i);
		table_file_put(t, i % 3 == 0 ? root : i % 3 == 1 ? a : b, name, &s);
	}
	table_dir_set_wd(t, b, 9);
	assert_int_equal(z->files, 100);
	dropped = 0;
	table_dir_remove(t, a, count_dropped, NULL);
	assert_int_equal(dropped, 2);
	assert_int_equal(z->files, 34);
	assert_int_equal(table_files(t), 34);
	assert_null(table_dir_by_wd(t, 9));
	assert_null(table_dir_child(root, "a"));
	assert_int_equal(table_zone_oldest(t, 0)->mtime, 0);
	table_destroy(t);
}

static void rescan_sweeps_unseen(void **state)
{
	struct table *t = table_create(1);
	struct table_dir *root = table_dir_add(t, NULL, 0, "", 1, 2);
	struct table_dir *a = table_dir_add(t, root, 0, "a", 1, 3);
	struct table_dir *gone = table_dir_add(t, root, 0, "gone", 1, 4);
	struct table_stat s = st(5, 1, 1, 1, 1);
	struct table_zone *z = table_zone(t, 0);

	(void)state;
	table_file_put(t, root, "keep", &s);
	table_file_put(t, root, "lost", &s);
	table_file_put(t, a, "keep2", &s);
	table_file_put(t, gone, "x", &s);
	table_rescan_begin(t, root);
	/* The scanner finds keep, a/keep2, a/new and directory a. */
	table_file_get(t, root, "keep")->flags |= TF_SEEN;
	table_file_get(t, a, "keep2")->flags |= TF_SEEN;
	table_file_put(t, a, "new", &s)->flags |= TF_SEEN;
	a->flags |= TD_SEEN;
	root->flags |= TD_SEEN;
	dropped = 0;
	table_rescan_end(t, root, count_dropped, NULL);
	assert_int_equal(dropped, 1);
	assert_int_equal(z->files, 3);
	assert_null(table_file_get(t, root, "lost"));
	assert_null(table_dir_child(root, "gone"));
	assert_false(table_file_get(t, root, "keep")->flags & TF_SEEN);
	assert_false(a->flags & (TD_SEEN | TD_RESCAN));
	table_destroy(t);
}

static void top_by_size_and_age(void **state)
{
	struct table *t = table_create(1);
	struct table_dir *root = table_dir_add(t, NULL, 0, "", 1, 2);
	struct table_file *out[3];
	char name[16];

	(void)state;
	for (int i = 0; i < 50; i++) {
		struct table_stat s = st((uint64_t)(i * 7 % 50), 1, (uint64_t)i + 1, 1, 1000 - i);
		snprintf(name, sizeof(name), "%d", i);
		table_file_put(t, root, name, &s);
	}
	assert_int_equal(table_top(t, 0, TABLE_BY_SIZE, out, 3), 3);
	assert_int_equal(out[0]->size, 49);
	assert_int_equal(out[1]->size, 48);
	assert_int_equal(out[2]->size, 47);
	assert_int_equal(table_top(t, 0, TABLE_BY_AGE, out, 3), 3);
	assert_int_equal(out[0]->mtime, 951);
	assert_int_equal(out[2]->mtime, 953);
	table_destroy(t);
}

static void many_files_grow_and_shrink(void **state)
{
	struct table *t = table_create(1);
	struct table_dir *root = table_dir_add(t, NULL, 0, "", 1, 2);
	char name[32];

	(void)state;
	for (int i = 0; i < 20000; i++) {
		struct table_stat s = st(1, 0, (uint64_t)i + 1, 1, i);
		snprintf(name, sizeof(name), "file-%d", i);
		assert_non_null(table_file_put(t, root, name, &s));
	}
	for (int i = 0; i < 20000; i += 2) {
		snprintf(name, sizeof(name), "file-%d", i);
		table_file_remove(t, table_file_get(t, root, name));
	}
	for (int i = 0; i < 20000; i++) {
		snprintf(name, sizeof(name), "file-%d", i);
		if ((table_file_get(t, root, name) != NULL) != (i % 2 == 1))
			fail_msg("lookup of %s after deletions", name);
	}
	assert_int_equal(table_zone(t, 0)->files, 10000);
	table_destroy(t);
}

/* The iterator yields every file in mtime (or last use) order, without changing the heap. */
static void ordered_iteration(void **state)
{
	struct table *t = table_create(1);
	struct table_dir *root = table_dir_add(t, NULL, 0, "", 1, 2);
	struct table_iter it;
	struct table_file *f;
	int64_t last = INT64_MIN;
	size_t n = 0;
	char name[32];

	(void)state;
	srand(3);
	for (int i = 0; i < 5000; i++) {
		struct table_stat s = st(1, 1, (uint64_t)i + 1, 1, rand() % 100000);
		snprintf(name, sizeof(name), "f%d", i);
		assert_non_null(table_file_put(t, root, name, &s));
	}
	table_iter_init(&it, t, 0, false);
	while ((f = table_iter_next(&it))) {
		assert_true(f->mtime >= last);
		last = f->mtime;
		n++;
	}
	table_iter_done(&it);
	assert_int_equal(n, 5000);
	assert_ptr_equal(table_zone_oldest(t, 0)->mtime, table_zone_oldest(t, 0)->mtime);

	/* by last use: an access moves a file to the back */
	assert_int_equal(table_zone_track_use(t, 0), 0);
	f = table_zone_oldest(t, 0);
	table_file_set_access(t, f, 200000);
	table_iter_init(&it, t, 0, true);
	last = INT64_MIN;
	n = 0;
	for (struct table_file *g; (g = table_iter_next(&it)); n++) {
		assert_true(table_file_last_use(g) >= last);
		last = table_file_last_use(g);
		if (n == 4999)
			assert_ptr_equal(g, f);
	}
	table_iter_done(&it);
	assert_int_equal(n, 5000);
	table_destroy(t);
}

/* Seen writes and reads outlive an mtime or atime set back, until pruned. */
static void seen_writes_and_reads(void **state)
{
	struct table *t = table_create(1);
	struct table_dir *root = table_dir_add(t, NULL, 0, "", 1, 2);
	struct table_stat s = st(1, 1, 7, 1, 1000);
	struct table_file *f;

	(void)state;
	assert_int_equal(table_zone_track_use(t, 0), 0);
	f = table_file_put(t, root, "x", &s);
	table_file_note_write(t, f, 5000);
	table_file_set_access(t, f, 6000);
	s.mtime = s.atime = 10; /* touch -d: set back */
	f = table_file_put(t, root, "x", &s);
	assert_int_equal(f->mtime, 10);
	assert_int_equal(table_file_last_write(t, f), 5000);
	assert_int_equal(f->atime, 6000);
	table_prune_seen(t, 5001, 6001);
	assert_int_equal(table_file_last_write(t, f), 10);
	f = table_file_put(t, root, "x", &s);
	assert_int_equal(f->atime, 10);
	table_file_remove(t, f);
	table_destroy(t);
}

/* A reload: kept zones move with their files, dropped ones go, new ones start empty. */
static void remap_zones(void **state)
{
	struct table *t = table_create(3);
	struct table_stat s = st(100, 8, 10, 1, 1000);
	struct table_dir *r0 = table_dir_add(t, NULL, 0, "", 1, 2);
	struct table_dir *r1 = table_dir_add(t, NULL, 1, "", 1, 3);
	struct table_dir *r2 = table_dir_add(t, NULL, 2, "", 1, 4);
	struct table_dir *sub = table_dir_add(t, r2, 2, "sub", 1, 5);
	int map[] = {2, -1, 0};
	struct table_file *f;

	(void)state;
	table_file_put(t, r0, "a", &s);
	table_file_put(t, r1, "b", &s);
	s = st(300, 8, 11, 1, 900);
	table_file_put(t, sub, "c", &s);
	table_dir_set_wd(t, sub, 7);
	dropped = 0;
	assert_int_equal(table_remap(t, map, 3, count_dropped, NULL), 0);
	assert_int_equal(dropped, 1); /* old zone 1's root */
	assert_int_equal(table_files(t), 2);
	/* Old zone 2 is zone 0 now, directories renumbered, watches kept. */
	assert_ptr_equal(table_zone(t, 0)->root, r2);
	assert_int_equal(sub->zone, 0);
	assert_ptr_equal(table_dir_by_wd(t, 7), sub);
	assert_int_equal(table_zone(t, 0)->bytes, 300);
	f = table_zone_oldest(t, 0);
	assert_non_null(f);
	assert_string_equal(f->name, "c");
	/* New zone 1: empty, and usable. */
	assert_null(table_zone(t, 1)->root);
	assert_int_equal(table_zone(t, 1)->files, 0);
	assert_non_null(table_dir_add(t, NULL, 1, "", 1, 9));
	assert_ptr_equal(table_zone(t, 2)->root, r0);
	assert_int_equal(table_zone(t, 2)->files, 1);
	/* Fewer zones. */
	map[0] = 2;
	assert_int_equal(table_remap(t, map, 1, NULL, NULL), 0);
	assert_int_equal(table_files(t), 1);
	assert_string_equal(table_zone_oldest(t, 0)->name, "a");
	assert_null(table_zone(t, 1));
	table_destroy(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(put_update_remove),
		cmocka_unit_test(relpath_of_any_length),
		cmocka_unit_test(hard_links_counted_once),
		cmocka_unit_test(links_settled_at_batch_end),
		cmocka_unit_test(oldest_is_heap_top),
		cmocka_unit_test(dirs_and_paths),
		cmocka_unit_test(remove_subtree),
		cmocka_unit_test(rescan_sweeps_unseen),
		cmocka_unit_test(top_by_size_and_age),
		cmocka_unit_test(many_files_grow_and_shrink),
		cmocka_unit_test(ordered_iteration),
		cmocka_unit_test(remap_zones),
		cmocka_unit_test(seen_writes_and_reads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
