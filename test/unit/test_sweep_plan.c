#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "sweep_plan.h"
#include "table.h"

/* The sweeper's choices, from a table and a clock: no files. */

#define NOW 1000000

struct world {
	struct config cfg;
	struct zone_config zones[4];
	struct table *t;
	struct table_dir *root[4];
	const struct table_file *held, *failing, *busy;
};

static struct zone_config zone(const char *name)
{
	return (struct zone_config){ .name = (char *)name, .max_age = CONFIG_UNSET,
				     .max_idle = CONFIG_UNSET, .min_age = 60,
				     .max_size = CONFIG_UNSET, .max_files = CONFIG_UNSET };
}

/* n zones, zone i's root on filesystem devs[i]. */
static struct world *world(size_t n, const uint64_t *devs)
{
	static const char *const names[] = { "a", "b", "c", "d" };
	struct world *w = calloc(1, sizeof(*w));

	assert_non_null(w);
	w->t = table_create(n);
	for (size_t i = 0; i < n; i++) {
		w->zones[i] = zone(names[i]);
		w->root[i] = table_dir_add(w->t, NULL, (uint32_t)i, "", devs[i], 2 + i);
		assert_non_null(w->root[i]);
	}
	w->cfg.zones = w->zones;
	w->cfg.n_zones = n;
	return w;
}

static void world_free(struct world *w)
{
	table_destroy(w->t);
	free(w);
}

static struct table_file *file(struct world *w, size_t zone, const char *name, uint64_t size,
			       int64_t mtime)
{
	static uint64_t ino = 100;
	struct table_stat st = { .size = size, .blocks = (size + 511) / 512, .ino = ino++,
				 .nlink = 1, .mtime = mtime, .atime = mtime };
	struct table_file *f = table_file_put(w->t, w->root[zone], name, &st);

	assert_non_null(f);
	return f;
}

static bool is(void *ud, const struct table_file *f, const struct table_file *which)
{
	(void)ud;
	return f == which;
}

static bool held(void *ud, const struct table_file *f, int64_t now)
{
	(void)now;
	return is(ud, f, ((struct world *)ud)->held);
}

static enum policy_block failing(void *ud, const struct table_file *f, int64_t now)
{
	(void)now;
	return is(ud, f, ((struct world *)ud)->failing) ? POLICY_FAILING : POLICY_FREE;
}

static bool busy(void *ud, const struct table_file *f)
{
	return is(ud, f, ((struct world *)ud)->busy);
}

static struct sweep_view view(struct world *w)
{
	return (struct sweep_view){ .table = w->t, .cfg = &w->cfg, .now = NOW, .skip = TF_PICKED,
				    .held = held, .failing = failing, .busy = busy, .ud = w,
				    .next = POLICY_NEVER };
}

static const char *name_at(const struct sweep_plan *p, size_t i)
{
	return i < p->n ? p->v[i].f->name : "(none)";
}

/* max_size: oldest first; writing, recently written, held, failing files are passed over,
 * each tallied by its cause; one chosen already covers its share. */
static void quota_oldest_first_and_what_blocks(void **state)
{
	uint64_t devs[] = { 1 };
	struct world *w = world(1, devs);
	struct sweep_plan p = { 0 };
	struct sweep_tally t = { 0 };
	struct sweep_view v;
	struct table_file *a, *b, *c, *d, *e, *g;
	uint64_t covered;

	(void)state;
	w->zones[0].max_size = 300;
	e = file(w, 0, "e", 100, 6000);
	a = file(w, 0, "a", 100, 1000);
	b = file(w, 0, "b", 100, 2000);
	c = file(w, 0, "c", 100, 3000);
	d = file(w, 0, "d", 100, 4000);
	g = file(w, 0, "g", 100, 5000);
	file(w, 0, "h", 100, NOW - 5); /* younger than min_age */
	table_file_set_writing(w->t, b, true);
	table_file_note_write(w->t, c, NOW - 10); /* written within min_age: young */
	w->held = d;
	w->failing = g;
	v = view(w);
	covered = sweep_plan_quota(&v, 0, policy_zone_excess(&w->zones[0], 700, 7), &p, &t);
	/* 400 over: a, e, and h is young too; only 200 can go. */
	assert_int_equal(p.n, 2);
	assert_string_equal(name_at(&p, 0), "a");
	assert_string_equal(name_at(&p, 1), "e");
	assert_int_equal(p.v[0].why, REASON_MAX_SIZE);
	assert_int_equal(covered, 200);
	assert_int_equal(t.writing, 100);
	assert_int_equal(t.young, 200);
	assert_int_equal(t.held, 100);
	assert_int_equal(t.failed, 100);
	/* The earliest a young one may go: c, written at NOW - 10, with min_age 60. */
	assert_true(v.next > NOW - 10 && v.next <= NOW + 60);
	assert_true((a->flags & TF_PICKED) && (e->flags & TF_PICKED));

	/* Chosen already (by this pass or on its way): covers without being planned again. */
	p.n = 0;
	memset(&t, 0, sizeof(t));
	v = view(w);
	covered = sweep_plan_quota(&v, 0, policy_zone_excess(&w->zones[0], 500, 5), &p, &t);
	assert_int_equal(p.n, 0);
	assert_int_equal(covered, 200);
	a->flags &= ~TF_PICKED;
	w->busy = a;
	p.n = 0;
	v = view(w);
	covered = sweep_plan_quota(&v, 0, policy_zone_excess(&w->zones[0], 500, 5), &p, &t);
	assert_int_equal(covered, 200);
	assert_int_equal(p.n, 0); /* e is still picked from above */
	sweep_plan_free(&p);
	world_free(w);
}

/* max_files alone: the reason is max_files; it stops once enough files are planned. */
static void quota_by_count(void **state)
{
	uint64_t devs[] = { 1 };
	struct world *w = world(1, devs);
	struct sweep_plan p = { 0 };
	struct sweep_tally t = { 0 };
	struct sweep_view v;

	(void)state;
	w->zones[0].max_files = 2;
	file(w, 0, "new", 1, 3000);
	file(w, 0, "old", 1, 1000);
	file(w, 0, "mid", 1, 2000);
	v = view(w);
	sweep_plan_quota(&v, 0, policy_zone_excess(&w->zones[0], 3, 3), &p, &t);
	assert_int_equal(p.n, 1);
	assert_string_equal(name_at(&p, 0), "old");
	assert_int_equal(p.v[0].why, REASON_MAX_FILES);
	sweep_plan_free(&p);
	world_free(w);
}

/* max_age: the due ones oldest first; the first not due yet sets the next deadline. */
static void due_by_age_and_the_next_deadline(void **state)
{
	uint64_t devs[] = { 1 };
	struct world *w = world(1, devs);
	struct sweep_plan p = { 0 };
	struct sweep_view v;

	(void)state;
	w->zones[0].max_age = 3600;
	file(w, 0, "x2", 10, NOW - 7200);
	file(w, 0, "x1", 10, NOW - 9000);
	file(w, 0, "fresh", 10, NOW - 600);
	v = view(w);
	sweep_plan_due(&v, 0, &p);
	assert_int_equal(p.n, 2);
	assert_string_equal(name_at(&p, 0), "x1");
	assert_string_equal(name_at(&p, 1), "x2");
	assert_int_equal(p.v[0].why, REASON_MAX_AGE);
	assert_int_equal(v.next, policy_age_due(&w->zones[0], NOW - 600));
	assert_true(v.next > NOW);
	sweep_plan_free(&p);
	world_free(w);
}

/* The disk pass: lowest priority first; within a priority, oldest first across the zones;
 * zones on another filesystem never; a hard-linked file frees nothing and is passed over;
 * one on its way in the mover is neither planned nor counted (the caller counts it). */
static void disk_priority_then_age_across_zones(void **state)
{
	uint64_t devs[] = { 1, 1, 1, 2 };
	struct world *w = world(4, devs);
	struct sweep_plan p = { 0 };
	struct sweep_tally t = { 0 };
	struct sweep_view v;
	struct table_stat linked = { .size = 4096, .blocks = 8, .ino = 9999, .nlink = 2,
				     .mtime = 10, .atime = 10 };
	uint64_t planned = 0;
	const char *want[] = { "b-old", "a-old", "b-new", "a-new", "c-old" };

	(void)state;
	w->zones[0].priority = 0;
	w->zones[1].priority = 0;
	w->zones[2].priority = 5;
	w->zones[3].priority = -10; /* lowest, but on another filesystem */
	file(w, 0, "a-old", 4096, 2000);
	file(w, 0, "a-new", 4096, 4000);
	file(w, 1, "b-old", 4096, 1000);
	file(w, 1, "b-new", 4096, 3000);
	w->busy = file(w, 1, "b-moving", 4096, 500);
	assert_non_null(table_file_put(w->t, w->root[0], "a-linked", &linked));
	file(w, 2, "c-old", 4096, 100);
	file(w, 2, "c-new", 4096, 200);
	file(w, 3, "d-other-fs", 4096, 1);
	v = view(w);
	sweep_plan_disk(&v, 1, 5 * 4096, &p, &planned, &t);
	assert_int_equal(p.n, 5);
	for (size_t i = 0; i < 5; i++) {
		assert_string_equal(name_at(&p, i), want[i]);
		assert_int_equal(p.v[i].why, REASON_DISK_HIGH);
	}
	assert_int_equal(planned, 5 * 4096);
	assert_int_equal(p.v[4].zone, 2);
	sweep_plan_free(&p);
	world_free(w);
}

/* What is on its way (planned starts above 0) and what this pass chose already. */
static void disk_counts_what_is_on_its_way(void **state)
{
	uint64_t devs[] = { 7 };
	struct world *w = world(1, devs);
	struct sweep_plan p = { 0 };
	struct sweep_tally t = { 0 };
	struct sweep_view v;
	struct table_file *first;
	uint64_t planned = 4096;

	(void)state;
	first = file(w, 0, "1", 4096, 1);
	file(w, 0, "2", 4096, 2);
	file(w, 0, "3", 4096, 3);
	table_file_set_writing(w->t, table_file_get(w->t, w->root[0], "2"), true);
	first->flags |= TF_PICKED;
	v = view(w);
	sweep_plan_disk(&v, 7, 3 * 4096, &p, &planned, &t);
	/* 1 is chosen already (counted), 2 is writing (tallied), 3 is planned. */
	assert_int_equal(p.n, 1);
	assert_string_equal(name_at(&p, 0), "3");
	assert_int_equal(planned, 3 * 4096);
	assert_int_equal(t.writing, 4096);
	sweep_plan_free(&p);
	world_free(w);
}

/* A batch ends at SWEEP_BATCH files: the pass says more, the rest waits for the next. */
static void batch_is_bounded(void **state)
{
	uint64_t devs[] = { 1 };
	struct world *w = world(1, devs);
	struct sweep_plan p = { 0 };
	struct sweep_view v;
	char name[32];

	(void)state;
	w->zones[0].max_age = 60;
	for (int i = 0; i < SWEEP_BATCH + 10; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		file(w, 0, name, 1, 1000 + i);
	}
	v = view(w);
	sweep_plan_due(&v, 0, &p);
	assert_int_equal(p.n, SWEEP_BATCH);
	assert_true(p.more);
	assert_string_equal(name_at(&p, 0), "f0");
	sweep_plan_free(&p);
	world_free(w);
}

/* A file failing again and again waits twice as long each time, up to 64 times; forgotten later. */
static void failures_in_a_row_back_off(void **state)
{
	int64_t now = 1000000, waits[] = { 30, 60, 120, 240, 480, 960, 1920, 3840, 3840 };
	uintptr_t v = 0;
	struct sweep_fail f;

	(void)state;
	for (size_t i = 0; i < sizeof(waits) / sizeof(*waits); i++) {
		v = sweep_fail_again(v, false, now, 30, 4 * 3600);
		f = sweep_fail_decode(v);
		assert_int_equal(f.tries, i + 1);
		assert_int_equal(f.until - now, waits[i]);
		assert_false(f.deep);
		now = f.until; /* tried again once its wait is over, and failed again */
	}
	/* Too deep is kept; a failure long after the last wait starts from one again. */
	v = sweep_fail_again(v, true, now, 30, 4 * 3600);
	assert_true(sweep_fail_decode(v).deep);
	now = sweep_fail_decode(v).until + 4 * 3600;
	f = sweep_fail_decode(sweep_fail_again(v, false, now, 30, 4 * 3600));
	assert_int_equal(f.tries, 1);
	assert_int_equal(f.until - now, 30);
	/* The count stops at its field's top, the wait at its longest. */
	for (int i = 0; i < 300; i++)
		v = sweep_fail_again(v, false, now, 30, 1 << 30);
	f = sweep_fail_decode(v);
	assert_int_equal(f.tries, 127);
	assert_int_equal(f.until - now, 3840);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(quota_oldest_first_and_what_blocks),
		cmocka_unit_test(quota_by_count),
		cmocka_unit_test(due_by_age_and_the_next_deadline),
		cmocka_unit_test(disk_priority_then_age_across_zones),
		cmocka_unit_test(disk_counts_what_is_on_its_way),
		cmocka_unit_test(batch_is_bounded),
		cmocka_unit_test(failures_in_a_row_back_off),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
