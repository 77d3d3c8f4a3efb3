#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lrimport.h"

/* Parses text as one file (includes answered by the texts in incs: "path", "text", ...). */
static const char *const *incs;

static int include(void *arg, struct lrimport_conf *c, const char *path, const char *from,
		   int line)
{
	for (const char *const *p = incs; p && *p; p += 2)
		if (!strcmp(*p, path))
			return lrimport_parse(c, path, p[1], strlen(p[1]), include, arg);
	lrimport_error(c, from, line, "%s: no such file", path);
	return -ENOENT;
}

static void parse(struct lrimport_conf *c, const char *text)
{
	memset(c, 0, sizeof(*c));
	assert_int_equal(lrimport_parse(c, "t.conf", text, strlen(text), include, NULL), 0);
}

static char *translate(const char *text)
{
	struct lrimport_conf c;
	char *out;

	parse(&c, text);
	out = lrimport_translate(&c);
	assert_non_null(out);
	lrimport_free(&c);
	return out;
}

static const struct lrimport_directive *dir(const struct lrimport_block *b, const char *name)
{
	const struct lrimport_directive *d = NULL;

	for (size_t i = 0; i < b->n_dirs; i++)
		if (!strcmp(b->dirs[i].name, name))
			d = &b->dirs[i];
	return d;
}

#define HAS(out, s)                                                                          \
	do {                                                                                 \
		if (!strstr(out, s))                                                         \
			fail_msg("no \"%s\" in:\n%s", s, out);                               \
	} while (0)
#define HASNT(out, s)                                                                        \
	do {                                                                                 \
		if (strstr(out, s))                                                          \
			fail_msg("\"%s\" in:\n%s", s, out);                                  \
	} while (0)

static void blocks_globs_and_brace_on_its_own_line(void **state)
{
	struct lrimport_conf c;

	parse(&c, "# comment\n/var/log/syslog\n\"/var/log/with space.log\"\n'/var/log/q.log'\n{\n"
		  "  rotate 4\n}\n/var/log/a.log /var/log/b.log{ daily }\n");
	assert_int_equal(c.n_errors, 0);
	assert_int_equal(c.n_blocks, 2);
	assert_int_equal(c.blocks[0].n_globs, 3);
	assert_string_equal(c.blocks[0].globs[1], "/var/log/with space.log");
	assert_string_equal(c.blocks[0].globs[2], "/var/log/q.log");
	assert_string_equal(dir(&c.blocks[0], "rotate")->args, "4");
	assert_int_equal(c.blocks[1].n_globs, 2);
	assert_non_null(dir(&c.blocks[1], "daily"));
	lrimport_free(&c);
}

static void globals_apply_to_later_blocks_only(void **state)
{
	struct lrimport_conf c;

	parse(&c, "/a/x.log {\n}\nweekly\nrotate 4\n/a/y.log {\n rotate 2\n}\n");
	assert_int_equal(c.n_blocks, 2);
	assert_null(dir(&c.blocks[0], "weekly"));
	assert_non_null(dir(&c.blocks[1], "weekly"));
	assert_string_equal(dir(&c.blocks[1], "rotate")->args, "2"); /* its own, last */
	lrimport_free(&c);
}

static void scripts_keep_braces_until_endscript(void **state)
{
	struct lrimport_conf c;

	parse(&c, "/a/x.log {\n postrotate\n  if true; then { echo }; fi\n  }\n endscript\n"
		  " prerotate\n  echo pre\n endscript }\n");
	assert_int_equal(c.n_errors, 0);
	assert_int_equal(c.n_blocks, 1);
	assert_string_equal(dir(&c.blocks[0], "postrotate")->script,
			    "  if true; then { echo }; fi\n  }\n");
	assert_string_equal(dir(&c.blocks[0], "prerotate")->script, "  echo pre\n");
	lrimport_free(&c);
}

static void include_is_read_in_place(void **state)
{
	static const char *const files[] = {"/etc/lr.d", "/b/y.log { daily }\n", NULL};
	struct lrimport_conf c;

	incs = files;
	parse(&c, "include /etc/lr.d\nweekly\n/a/x.log { }\ninclude /missing\n");
	incs = NULL;
	assert_int_equal(c.n_blocks, 2);
	assert_string_equal(c.blocks[0].globs[0], "/b/y.log");
	assert_null(dir(&c.blocks[0], "weekly")); /* given after the include */
	assert_non_null(dir(&c.blocks[1], "weekly"));
	assert_int_equal(c.n_errors, 1);
	assert_string_equal(c.errors[0], "t.conf:4: /missing: no such file");
	lrimport_free(&c);
}

static void include_loops_are_bounded(void **state)
{
	static const char *const files[] = {"/loop", "include /loop\n", NULL};
	struct lrimport_conf c;

	incs = files;
	parse(&c, "include /loop\n");
	incs = NULL;
	assert_true(c.n_errors >= 1);
	assert_non_null(strstr(c.errors[0], "nested more than"));
	lrimport_free(&c);
}

static void taboo_names(void **state)
{
	assert_true(lrimport_taboo("nginx.dpkg-old"));
	assert_true(lrimport_taboo("nginx.dpkg-dist"));
	assert_true(lrimport_taboo("nginx.dpkg-new"));
	assert_true(lrimport_taboo("nginx~"));
	assert_true(lrimport_taboo("nginx.rpmsave"));
	assert_true(lrimport_taboo(".nginx.swp"));
	assert_true(lrimport_taboo("x.rhn-cfg-tmp-12"));
	assert_false(lrimport_taboo("nginx"));
	assert_false(lrimport_taboo("rsyslog.conf"));
}

static void triggers(void **state)
{
	char *o = translate("/a/d.log { daily }\n/b/w.log { weekly\n maxsize 50M }\n"
			    "/c/m.log { monthly }\n/d/y.log { yearly }\n/e/h.log { hourly }\n"
			    "/f/s.log { daily\n size 100k }\n/g/n.log { }\n/h/z.log { weekly 1\n minsize 1M }\n");
	HAS(o, "every = \"1d\";   # daily");
	HAS(o, "every = \"7d\";   # weekly");
	HAS(o, "size = \"50M\";   # maxsize 50M");
	HAS(o, "every = \"30d\"");
	HAS(o, "every = \"365d\"");
	HAS(o, "every = \"1h\"");
	HAS(o, "size = \"100K\";   # size 100K"); /* size after daily: by size alone */
	HAS(o, "size = \"1M\";   # no period and no size: logrotate's default");
	HAS(o, "# minsize 1M: not carried over");
	HAS(o, "# weekly 1: sweepd rotates 7 days after");
	free(o);
}

static void keep_age_compress(void **state)
{
	char *o = translate("/a/x.log { daily\n rotate 14\n maxage 30\n compress\n delaycompress }\n"
			    "/b/x.log { daily\n compress\n nocompress }\n"
			    "/c/x.log { daily\n rotate -1 }\n");
	HAS(o, "keep = 14;");
	HAS(o, "max_age = \"30d\";");
	HAS(o, "compress = \"zstd\";   # compress: zstd, not gzip");
	HAS(o, "# delaycompress: not needed");
	HAS(o, "compress = \"off\";   # nocompress");
	HAS(o, "keep = 0;   # no 'rotate'");
	HAS(o, "# rotate -1 (keep every copy)");
	free(o);
}

static void methods_create_and_scripts(void **state)
{
	char *o = translate("/a/x.log { daily\n copytruncate\n postrotate\n  kill -HUP 1\n endscript }\n"
			    "/b/x.log { daily\n create 640 www-data adm\n sharedscripts\n"
			    " postrotate\n  echo \"$1\" \\\\ done\n endscript\n"
			    " prerotate\n  true\n endscript }\n"
			    "/c/x.log { daily\n create }\n");
	HAS(o, "method = \"copytruncate\";");
	HAS(o, "# postrotate: sweepd runs it only after method \"rename\"");
	HAS(o, "      #   \"kill -HUP 1\";");
	HAS(o, "method = \"rename\";");
	HAS(o, "      create = { mode = \"0640\"; owner = \"www-data\"; group = \"adm\"; };");
	HAS(o, "postrotate =\n        \"echo \\\"$1\\\" \\\\\\\\ done\";");
	HAS(o, "      prerotate =\n        \"true\";");
	HAS(o, "# sharedscripts: not carried over");
	HAS(o, "method = \"auto\";");
	HAS(o, "# create: not needed: the log is cut in place");
	free(o);
}

/* Two blocks on one directory with different rules: one zone, a rotate group each. */
static void one_directory_two_groups(void **state)
{
	char *o = translate("/var/log/nginx/access.log { daily\n rotate 5 }\n"
			    "/var/log/nginx/error.log { weekly\n rotate 2\n create 4640\n"
			    " postrotate\n  true\n endscript }\n");
	HAS(o, "include = [ \"access.log\", \"error.log\" ];\n    rotate = (\n"
	       "      { include = [ \"access.log\" ];\n      every = \"1d\";");
	HAS(o, "      },\n      { include = [ \"error.log\" ];\n      every = \"7d\";");
	HAS(o, "# create 4640: sweepd never makes a setuid, setgid or sticky log: mode 0640");
	HAS(o, "      create = { mode = \"0640\"; };");
	HAS(o, "\n      } );\n  }\n);\n");
	free(o);
	/* Debian's nginx prerotate ends "fi \\" and a newline: kept, or sh finds a stray word. */
	o = translate("/var/log/nginx/*.log {\n\tdaily\n\tprerotate\n"
		      "\t\tif [ -d /x ]; then \\\n\t\t\trun-parts /x; \\\n\t\tfi \\\n\tendscript\n}\n");
	HAS(o, "\"fi \\\\\\n\";");
	free(o);
	/* Numeric ids, as logrotate takes them: the names they have here, or said. */
	o = translate("/a/x.log { daily\n create 0640 0 0\n postrotate\n  true\n endscript }\n"
		      "/b/x.log { daily\n create 0640 4242424 0\n postrotate\n  true\n endscript }\n"
		      "/c/x.log { daily\n copytruncate\n create 0640 root root }\n");
	HAS(o, "create = { mode = \"0640\"; owner = \"root\"; group = \"root\"; };");
	HAS(o, "# create: no user with id 4242424 here: the moved log's owner is kept");
	HAS(o, "create = { mode = \"0640\"; group = \"root\"; };");
	HAS(o, "# create: not needed: the log is cut in place");
	(void)state;
	free(o);
}

static void small_directives(void **state)
{
	char *o = translate("/a/x.log { daily\n missingok\n notifempty\n dateext\n dateformat -%Y\n"
			    " su root adm\n mail a@b\n shred\n frobnicate 3\n }\n"
			    "/b/x.log { daily\n dateext\n nodateext }\n");
	HAS(o, "# missingok: nothing needed");
	HAS(o, "# notifempty: nothing needed: sweepd never rotates an empty log");
	HAS(o, "# ifempty (logrotate's default): not carried over");
	HAS(o, "# dateext: not carried over");
	HAS(o, "# dateformat -%Y: not carried over");
	HAS(o, "# su root adm: not carried over");
	HAS(o, "# mail a@b: not carried over");
	HAS(o, "# shred: not carried over");
	HAS(o, "# frobnicate 3 (t.conf:9): not a logrotate directive");
	free(o);
	o = translate("/b/x.log { daily\n dateext\n nodateext }\n");
	HASNT(o, "dateext");
	free(o);
}

static void olddir(void **state)
{
	char *o = translate("/a/x.log { daily\n olddir old }\n/b/x.log { daily\n olddir /b/arch/y }\n"
			    "/c/x.log { daily\n olddir /elsewhere }\n/d/x.log { daily\n olddir ../up }\n");
	HAS(o, "olddir = \"old\";");
	HAS(o, "olddir = \"arch/y\";   # olddir /b/arch/y, made relative");
	HAS(o, "# olddir /elsewhere: not carried over");
	HAS(o, "# olddir ../up: not carried over");
	free(o);
}

static void zones_from_globs(void **state)
{
	char *o = translate("/var/log/nginx/*.log /var/log/nginx/extra {\n daily }\n"
			    "/srv/*/logs/app.log { daily }\n/var/tmp/* { daily }\n"
			    "relative.log { daily }\n/x.log { daily }\n/var/log/syslog { weekly }\n"
			    "/var/log/messages { weekly }\n");
	HAS(o, "name = \"var-log-nginx\"; path = \"/var/log/nginx\"; recursive = false;\n"
	       "    include = [ \"*.log\", \"extra\" ];");
	HAS(o, "name = \"srv\"; path = \"/srv\"; recursive = true;\n"
	       "    include = [ \"*/logs/app.log\" ];");
	HAS(o, "include = [ \"*\" ];\n    exclude = [ \"*-????????T??????.??????Z\"");
	HAS(o, "relative.log: left out: not an absolute path");
	HAS(o, "/x.log: left out: a zone on /");
	/* Same directory, same rules: one zone; but /var/log overlaps the deeper nginx one. */
	HAS(o, "# Not carried over: /var/log overlaps zone \"var-log-nginx\"");
	HAS(o, "#     include = [ \"syslog\", \"messages\" ];");
	free(o);
}

static void names_are_valid_and_unique(void **state)
{
	char *o = translate("\"/Var/Log/My App!/a.log\" { daily }\n/var/log/my-app/b.log { weekly }\n");
	HAS(o, "name = \"var-log-my-app\"; path = \"/Var/Log/My App!\"");
	HAS(o, "name = \"var-log-my-app-2\"; path = \"/var/log/my-app\"");
	free(o);
}

static void hostile_input(void **state)
{
	static const char *const bad[] = {
		"", "{", "}", "{{{{}}}}", "/a {", "/a { postrotate\n x\n", "\"/a", "/a\n", "endscript\n",
		"postrotate\nx\nendscript\n", "/a { { } }", "/a { include /b }", "rotate\n/a { rotate }\n",
		"/a/x { create 99999999999 a b c d }\n", "/a/x { size 99999999999999999999G }\n",
		"/a/x { olddir \"\" }\n", "/\"\n\x01\x7f{ \xff\xfe }\n", "/a/\0b { daily }\n",
	};
	char big[70000];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct lrimport_conf c = {0};
		char *o;

		assert_int_equal(lrimport_parse(&c, "bad", bad[i], i == 17 ? 16 : strlen(bad[i]),
						NULL, NULL), 0);
		o = lrimport_translate(&c);
		assert_non_null(o);
		assert_null(strchr(o, '\x01'));
		free(o);
		lrimport_free(&c);
	}
	/* Long lines, many words, a huge script, many globs: bounded, no crash. */
	memset(big, 'a', sizeof(big) - 1);
	big[0] = '/';
	big[sizeof(big) - 1] = '\0';
	for (size_t i = 1; i < sizeof(big) - 1; i += 7)
		big[i] = i % 3 ? ' ' : '\n';
	{
		struct lrimport_conf c = {0};
		char *o;

		assert_int_equal(lrimport_parse(&c, "big", big, strlen(big), NULL, NULL), 0);
		o = lrimport_translate(&c);
		assert_non_null(o);
		free(o);
		lrimport_free(&c);
	}
	{
		struct lrimport_conf c = {0};
		char *text = malloc(LRIMPORT_MAX_TEXT + 2);

		memset(text, '\n', LRIMPORT_MAX_TEXT + 1);
		assert_int_equal(lrimport_parse(&c, "huge", text, LRIMPORT_MAX_TEXT + 1, NULL, NULL), 0);
		assert_int_equal(c.n_errors, 1);
		free(text);
		lrimport_free(&c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(blocks_globs_and_brace_on_its_own_line),
		cmocka_unit_test(globals_apply_to_later_blocks_only),
		cmocka_unit_test(scripts_keep_braces_until_endscript),
		cmocka_unit_test(include_is_read_in_place),
		cmocka_unit_test(include_loops_are_bounded),
		cmocka_unit_test(taboo_names),
		cmocka_unit_test(triggers),
		cmocka_unit_test(keep_age_compress),
		cmocka_unit_test(methods_create_and_scripts),
		cmocka_unit_test(one_directory_two_groups),
		cmocka_unit_test(small_directives),
		cmocka_unit_test(olddir),
		cmocka_unit_test(zones_from_globs),
		cmocka_unit_test(names_are_valid_and_unique),
		cmocka_unit_test(hostile_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
