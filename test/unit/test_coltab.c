#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <locale.h>

#include "coltab.h"

static const struct coltab_col cols[] = {
	{ "NAME", 0, true, true, 0 },
	{ "SIZE", 90, false, false, 0 },
	{ "EXTRA", 10, false, false, 0 },
	{ "PATH", 0, true, true, 2 },
};

/* The table printed at width, into a string (malloc'd). */
static char *render(int width, const char *const rows[][4], size_t n)
{
	struct coltab *t = coltab_create(cols, 4);
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	assert_non_null(t);
	assert_non_null(m);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(coltab_add(t, rows[i]), 0);
	coltab_fit(t, width);
	coltab_print(t, m, "...");
	fclose(m);
	coltab_destroy(t);
	return buf;
}

static int widest_line(const char *s)
{
	int w = 0;

	while (*s) {
		const char *nl = strchr(s, '\n');
		char line[1024];
		size_t n = nl ? (size_t)(nl - s) : strlen(s);

		snprintf(line, sizeof(line), "%.*s", (int)n, s);
		w = coltab_width(line) > w ? coltab_width(line) : w;
		s += n + (nl != NULL);
	}
	return w;
}

static void width_counts_characters(void **state)
{
	(void)state;
	assert_int_equal(coltab_width(""), 0);
	assert_int_equal(coltab_width("abc"), 3);
	assert_int_equal(coltab_width("\xe2\x96\x81\xe2\x96\x82"), 2); /* two sparkline blocks */
	assert_int_equal(coltab_width("caf\xc3\xa9"), 4);
}

static void cut_keeps_both_ends(void **state)
{
	char buf[64];

	(void)state;
	coltab_cut("/srv/render/outputs/shot-0042.exr", 16, "...", buf, sizeof(buf));
	assert_string_equal(buf, "/srv/r...042.exr");
	assert_int_equal(coltab_width(buf), 16);
	coltab_cut("short", 16, "...", buf, sizeof(buf));
	assert_string_equal(buf, "short");
	/* An ellipsis of one character counts as one; a UTF-8 tail is never split. */
	coltab_cut("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 5, "\xe2\x80\xa6", buf,
		   sizeof(buf));
	assert_string_equal(buf, "\xc3\xa9\xc3\xa9\xe2\x80\xa6\xc3\xa9\xc3\xa9");
	/* No room for an ellipsis: the start only. */
	coltab_cut("abcdef", 2, "...", buf, sizeof(buf));
	assert_string_equal(buf, "ab");
}

static void everything_whole_at_width_zero(void **state)
{
	static const char *const rows[][4] = {
		{ "outputs", "5.0M", "x", "/srv/render/outputs" },
	};
	char *out = render(0, rows, 1);

	(void)state;
	assert_string_equal(out, "NAME    SIZE EXTRA  PATH\n"
				 "outputs 5.0M     x  /srv/render/outputs\n");
	free(out);
}

static void least_needed_goes_first_then_paths_are_cut(void **state)
{
	static const char *const rows[][4] = {
		{ "outputs", "5.0M", "x", "/srv/render/outputs/with/a/long/path/under/it" },
		{ "z", "0B", "y", "/z" },
	};
	char *out;

	(void)state;
	/* 7 + 1 + 4 + 1 + 5 + 2 + 46 = 66 whole; at 40, the path is cut, EXTRA stays. */
	out = render(40, rows, 2);
	assert_true(widest_line(out) <= 40);
	assert_non_null(strstr(out, "EXTRA"));
	assert_non_null(strstr(out, "/srv/ren.../under/it\n"));
	free(out);
	/* At 30, a path cut to 16 is not enough: EXTRA goes before it is cut further. */
	out = render(30, rows, 2);
	assert_true(widest_line(out) <= 30);
	assert_null(strstr(out, "EXTRA"));
	assert_non_null(strstr(out, "SIZE"));
	assert_non_null(strstr(out, "/srv/r...nder/it\n"));
	free(out);
	/* Very narrow: nothing droppable is left, names and paths go down to a few columns. */
	out = render(20, rows, 2);
	assert_true(widest_line(out) <= 20);
	free(out);
	/* No trailing spaces after the last column. */
	out = render(66, rows, 2);
	assert_null(strstr(out, " \n"));
	free(out);
}

/* A path longer than any buffer: whole at width 0, cut to the width otherwise. */
static void long_cells_are_never_truncated_by_a_buffer(void **state)
{
	char *path = malloc(6001), *out;

	(void)state;
	assert_non_null(path);
	memset(path, 'p', 6000);
	path[6000] = '\0';
	{
		const char *const rows[][4] = { { "z", "1B", "", path } };

		out = render(0, rows, 1);
		assert_non_null(strstr(out, path));
		free(out);
		out = render(80, rows, 1);
		assert_int_equal(widest_line(out), 80);
		free(out);
	}
	free(path);
}

static void wrap_breaks_at_spaces(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	(void)state;
	coltab_wrap(m, "one two three four five six", 12, 2);
	coltab_wrap(m, "short", 12, 2);
	coltab_wrap(m, "a /a/very/long/path/without/spaces b", 12, 2);
	coltab_wrap(m, "anything at all", 0, 2);
	fclose(m);
	assert_string_equal(buf, "one two\n"
				 "  three four\n"
				 "  five six\n"
				 "short\n"
				 "a\n"
				 "  /a/very/lo\n"
				 "  ng/path/wi\n"
				 "  thout/spac\n"
				 "  es b\n"
				 "anything at all\n");
	free(buf);
}

/* In a UTF-8 locale, a CJK character takes two columns and a combining mark none. */
static void wide_and_combining_characters(void **state)
{
	static const char *const rows[][4] = {
		{ "\xe6\xbc\xa2\xe5\xad\x97\xe6\xbc\xa2\xe5\xad\x97\xe6\xbc\xa2\xe5\xad\x97", "1.0K",
		  "x", "/srv/\xe6\xbc\xa2\xe5\xad\x97\xe6\xbc\xa2\xe5\xad\x97\xe6\xbc\xa2\xe5\xad\x97"
		       "\xe6\xbc\xa2\xe5\xad\x97\xe6\xbc\xa2\xe5\xad\x97.txt" },
	};
	const char *kanji = "\xe6\xbc\xa2\xe5\xad\x97"; /* two characters, four columns */
	const char *e_acute = "e\xcc\x81";                   /* e and a combining acute */
	char buf[128], word[64];
	size_t len = 0;
	char *out = NULL;
	FILE *m;

	(void)state;
	if (!setlocale(LC_CTYPE, "C.UTF-8"))
		skip();
	assert_int_equal(coltab_width(kanji), 4);
	assert_int_equal(coltab_width(e_acute), 1);
	/* Cut by columns, never inside a character, marks kept with their letter. */
	snprintf(word, sizeof(word), "%s%s%s%s%s.txt", kanji, kanji, kanji, kanji, kanji);
	coltab_cut(word, 11, "...", buf, sizeof(buf));
	assert_string_equal(buf, "\xe6\xbc\xa2\xe5\xad\x97....txt");
	assert_int_equal(coltab_width(buf), 11);
	coltab_cut(word, 10, "...", buf, sizeof(buf));
	assert_string_equal(buf, "\xe6\xbc\xa2....txt"); /* a wide one does not straddle */
	assert_true(coltab_width(buf) <= 10);
	snprintf(word, sizeof(word), "%s%s%s%s%s%s", e_acute, e_acute, e_acute, e_acute, e_acute,
		 e_acute);
	assert_int_equal(coltab_width(word), 6);
	coltab_cut(word, 5, "\xe2\x80\xa6", buf, sizeof(buf));
	assert_string_equal(buf, "e\xcc\x81" "e\xcc\x81" "\xe2\x80\xa6" "e\xcc\x81" "e\xcc\x81");
	/* A table of CJK names fits its width. */
	out = render(30, rows, 1);
	assert_true(widest_line(out) <= 30);
	assert_non_null(strstr(out, ".txt"));
	free(out);
	/* Wrapping: a wide character with one column left starts the next line. */
	m = open_memstream(&out, &len);
	assert_non_null(m);
	snprintf(word, sizeof(word), "%s%s%s", kanji, kanji, kanji);
	coltab_wrap(m, word, 5, 0);
	fclose(m);
	assert_string_equal(out, "\xe6\xbc\xa2\xe5\xad\x97\n\xe6\xbc\xa2\xe5\xad\x97\n"
				 "\xe6\xbc\xa2\xe5\xad\x97\n");
	free(out);
	setlocale(LC_CTYPE, "C");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(width_counts_characters),
		cmocka_unit_test(cut_keeps_both_ends),
		cmocka_unit_test(everything_whole_at_width_zero),
		cmocka_unit_test(least_needed_goes_first_then_paths_are_cut),
		cmocka_unit_test(long_cells_are_never_truncated_by_a_buffer),
		cmocka_unit_test(wrap_breaks_at_spaces),
		cmocka_unit_test(wide_and_combining_characters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
