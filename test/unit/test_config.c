#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "glob.h"
#include "trusted.h"

static char dir[] = "/tmp/sweepd-test-config.XXXXXX";

static int setup(void **state)
{
	char p[256];

	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(p, sizeof(p), "%s/outputs", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/outputs/sub", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/uploads", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/afile", dir);
	fclose(fopen(p, "w"));
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

/* Writes text as the config file and loads it. */
static struct config *load(const char *text, struct config_errors *errs)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/sweepd.conf", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return config_load(path, errs);
}

static bool has_error(const struct config_errors *errs, int line, const char *fragment)
{
	char where[32];

	if (line)
		snprintf(where, sizeof(where), ".conf:%d: ", line);
	else
		snprintf(where, sizeof(where), ".conf: ");
	for (size_t i = 0; i < errs->n; i++)
		if (strstr(errs->msgs[i], where) && strstr(errs->msgs[i], fragment))
			return true;
	return false;
}

static void dump(const struct config_errors *errs)
{
	for (size_t i = 0; i < errs->n; i++)
		print_message("  %s\n", errs->msgs[i]);
}

static void full_example(void **state)
{
	struct config_errors errs = {0};
	struct config *cfg = load(
		"state_dir = \"state\";\n"
		"socket = { path = \"/run/sweepd/s.sock\"; mode = \"0640\"; admin_group = \"adm\"; };\n"
		"disk = { high = \"85%\"; low = \"70.5%\"; };\n"
		"archive = { path = \"archive\"; keep = \"2w\"; max_size = \"20G\"; compress = \"zstd\"; level = 5; };\n"
		"metrics_file = \"/var/lib/node_exporter/sweepd.prom\";\n"
		"zones = (\n"
		" { name = \"outputs\"; path = \"outputs\"; max_age = \"7d\"; max_size = \"50G\";\n"
		"   action = \"archive\"; priority = 10; exclude = [ \"*.part\", \"cache/*\" ]; },\n"
		" { name = \"up-loads_2\"; path = \"uploads\"; recursive = false; include = [ \"*.wav\" ];\n"
		"   max_idle = \"1h\"; max_files = 1000; min_age = 90; action = \"delete\"; prune_empty_dirs = false;\n"
		"   rotate = { size = 1048576; every = \"1d\"; keep = 10; method = \"rename\"; signal = \"SIGUSR1\";\n"
		"     pidfile = \"/run/x.pid\"; compress = \"off\"; }; }\n"
		");\n",
		&errs);

	(void)state;
	dump(&errs);
	assert_non_null(cfg);
	assert_int_equal(cfg->socket_mode, 0640);
	assert_string_equal(cfg->admin_group, "adm");
	assert_true(cfg->disk_high == 85 && cfg->disk_low == 70.5);
	assert_int_equal(cfg->archive_keep, 14 * 86400);
	assert_int_equal(cfg->archive_max_size, 20LL << 30);
	assert_int_equal(cfg->archive_compress, COMPRESS_ZSTD);
	assert_int_equal(cfg->archive_level, 5);
	assert_int_equal(cfg->n_zones, 2);
	assert_string_equal(cfg->zones[0].name, "outputs");
	assert_true(strstr(cfg->zones[0].path, "/outputs") != NULL && cfg->zones[0].path[0] == '/');
	assert_int_equal(cfg->zones[0].max_age, 7 * 86400);
	assert_int_equal(cfg->zones[0].min_age, 60);
	assert_int_equal(cfg->zones[0].max_idle, CONFIG_UNSET);
	assert_int_equal(cfg->zones[0].exclude.n, 2);
	assert_true(cfg->zones[0].recursive);
	assert_int_equal(cfg->zones[0].priority, 10);
	assert_false(cfg->zones[1].recursive);
	assert_int_equal(cfg->zones[1].max_files, 1000);
	assert_int_equal(cfg->zones[1].min_age, 90);
	assert_int_equal(cfg->zones[1].action, ACTION_DELETE);
	assert_false(cfg->zones[1].prune_empty_dirs);
	assert_true(cfg->zones[1].n_rotates == 1);
	assert_int_equal(cfg->zones[1].rotates[0].method, ROTATE_RENAME);
	assert_int_equal(cfg->zones[1].rotates[0].signal, 10);
	assert_int_equal(cfg->zones[1].rotates[0].compress, COMPRESS_OFF);
	assert_true(strstr(cfg->state_dir, "/state") != NULL && cfg->state_dir[0] == '/');
	config_free(cfg);
}

static void defaults(void **state)
{
	struct config_errors errs = {0};
	struct config *cfg = load("zones = ( { name = \"a\"; path = \"outputs\"; } );\n", &errs);

	(void)state;
	dump(&errs);
	assert_non_null(cfg);
	assert_string_equal(cfg->socket_path, CONFIG_DEFAULT_SOCKET);
	assert_string_equal(cfg->state_dir, CONFIG_DEFAULT_STATE_DIR);
	assert_int_equal(cfg->socket_mode, 0660);
	assert_int_equal(cfg->max_clients, 512);
	assert_int_equal(cfg->max_clients_per_user, 16);
	assert_int_equal(cfg->admin_reserve, 32);
	assert_true(cfg->disk_high == 90 && cfg->disk_low == 80);
	assert_int_equal(cfg->zones[0].action, ACTION_ARCHIVE);
	assert_true(cfg->zones[0].prune_empty_dirs);
	config_free(cfg);
}

/* Every error at once, each with its line. */
static void all_errors_with_lines(void **state)
{
	struct config_errors errs = {0};
	struct config *cfg = load(
		"state_dir = \"state\";\n"                                    /* 1 */
		"colour = \"blue\";\n"                                         /* 2 */
		"disk = { high = \"95\"; low = \"80%\"; };\n"                   /* 3 */
		"archive = { path = \"outputs/sub\"; keep = \"7 days\"; };\n"   /* 4 */
		"zones = (\n"                                                  /* 5 */
		" { name = \"Outputs!\"; path = \"outputs\"; max_size = \"50Q\"; },\n" /* 6 */
		" { name = \"b\"; path = \"missing\"; action = \"shred\"; },\n"  /* 7 */
		" { name = \"c\"; path = \"afile\"; max_age = 5.5; },\n"        /* 8 */
		" { name = \"d\"; path = \"outputs/sub\"; recursive = \"yes\"; },\n" /* 9 */
		" { name = \"d\"; path = \"uploads\"; include = \"*.mp4\"; frob = 1; },\n" /* 10 */
		" { path = \"uploads\"; rotate = { size = \"1M\"; method = \"sideways\"; }; }\n" /* 11 */
		");\n",
		&errs);

	(void)state;
	assert_null(cfg);
	dump(&errs);
	assert_true(has_error(&errs, 2, "unknown key 'colour'"));
	assert_true(has_error(&errs, 3, "'high' must be a percentage"));
	assert_true(has_error(&errs, 4, "'keep' must be a duration"));
	assert_true(has_error(&errs, 4, "archive path"));
	assert_true(has_error(&errs, 6, "must match [a-z0-9_-]+"));
	assert_true(has_error(&errs, 6, "'max_size' must be a size"));
	assert_true(has_error(&errs, 7, "'action' must be one of"));
	assert_true(has_error(&errs, 8, "not a directory"));
	assert_true(has_error(&errs, 8, "'max_age' must be a duration"));
	assert_true(has_error(&errs, 9, "'recursive' must be true or false"));
	assert_true(has_error(&errs, 9, "overlaps zone"));
	assert_true(has_error(&errs, 10, "used twice"));
	assert_true(has_error(&errs, 10, "'include' must be a list"));
	assert_true(has_error(&errs, 10, "unknown key 'frob'"));
	assert_true(has_error(&errs, 11, "has no 'name'"));
	assert_true(has_error(&errs, 11, "'method' must be one of"));
	config_errors_clear(&errs);
}

static void rotation_refusals(void **state)
{
	struct config_errors errs = {0};
	struct config *cfg = load(
		"state_dir = \"state\";\n"                                              /* 1 */
		"zones = (\n"                                                           /* 2 */
		" { name = \"a\"; path = \"outputs\"; rotate = { size = \"1M\"; }; },\n" /* 3 */
		" { name = \"b\"; path = \"uploads\"; include = [ \"*.log*\" ];\n"        /* 4 */
		"   rotate = { size = \"1M\"; olddir = \"../old\"; }; },\n"               /* 5 */
		" { name = \"c\"; path = \"uploads\"; include = [ \"app.[lL]og\" ];\n"   /* 6 */
		"   rotate = { keep_tail_lines = 10; }; }\n"                             /* 7 */
		");\n",
		&errs);

	(void)state;
	assert_null(cfg);
	dump(&errs);
	assert_true(has_error(&errs, 3, "needs 'include' patterns"));
	assert_true(has_error(&errs, 5, "include pattern \"*.log*\" matches again"));
	assert_true(has_error(&errs, 5, "'olddir' must be a directory beside the log"));
	assert_true(has_error(&errs, 7, "'rotate' needs 'size' or 'every'"));
	/* app.[lL]og's copies (app.log-...Z.zst) do not match it: no error of that kind. */
	for (size_t i = 0; i < errs.n; i++)
		assert_null(strstr(errs.msgs[i], "\"app.[lL]og\" matches"));
	config_errors_clear(&errs);
}

/*
 * rotate as a list: each group its own include and rules, the first that
 * matches wins; a group that can never match (or follows one that takes every
 * log) is a warning on its line; create and prerotate read.
 */
static void rotation_groups(void **state)
{
	struct config_errors errs = {0};
	struct config *cfg = load(
		"state_dir = \"state\";\n"                                                 /* 1 */
		"zones = ( { name = \"web\"; path = \"uploads\"; include = [ \"*.log\" ];\n" /* 2 */
		"  rotate = (\n"                                                           /* 3 */
		"    { include = [ \"access.log\" ]; size = \"100M\"; method = \"rename\";\n" /* 4 */
		"      postrotate = \"true\"; prerotate = \"test -s \\\"$1\\\"\";\n"       /* 5 */
		"      create = { mode = \"0640\"; owner = \"root\"; group = \"root\"; }; },\n" /* 6 */
		"    { include = [ \"*.txt\" ]; every = \"1d\"; },\n"                         /* 7 */
		"    { every = \"1d\"; keep = 30; },\n"                                       /* 8 */
		"    { include = [ \"error.log\" ]; every = \"1h\"; }\n"                     /* 9 */
		"  ); } );\n",
		&errs);
	const struct zone_config *z;

	(void)state;
	dump(&errs);
	assert_non_null(cfg);
	dump(&cfg->warnings);
	z = &cfg->zones[0];
	assert_int_equal(z->n_rotates, 4);
	assert_string_equal(z->rotates[0].prerotate, "test -s \"$1\"");
	assert_true(z->rotates[0].create.set);
	assert_int_equal(z->rotates[0].create.mode, 0640);
	assert_int_equal(z->rotates[0].create.uid, 0);
	assert_false(z->rotates[2].create.set);
	assert_ptr_equal(config_rotate_group(z, "access.log", "access.log"), &z->rotates[0]);
	assert_ptr_equal(config_rotate_group(z, "error.log", "error.log"), &z->rotates[2]);
	assert_true(has_error(&cfg->warnings, 7, "rotate group 2: include pattern \"*.txt\" can never match"));
	assert_true(has_error(&cfg->warnings, 9, "rotate group 4 never applies: group 3 before it takes every log"));
	assert_int_equal(cfg->warnings.n, 2);
	config_free(cfg);

	cfg = load("state_dir = \"state\";\n"                                                 /* 1 */
		   "zones = ( { name = \"web\"; path = \"uploads\"; include = [ \"*.log\" ];\n" /* 2 */
		   "  rotate = (\n"                                                           /* 3 */
		   "    { size = \"1M\"; create = { mode = \"4755\"; owner = \"nosuchuser\"; }; },\n" /* 4 */
		   "    { include = [ ]; every = \"1d\"; method = \"rename\"; pidfile = \"/run/x.pid\";\n" /* 5 */
		   "      signal = \"USR1\"; create = { }; } ); } );\n",                     /* 6 */
		   &errs);
	assert_null(cfg);
	dump(&errs);
	assert_true(has_error(&errs, 4, "'mode' must be octal permissions"));
	assert_true(has_error(&errs, 4, "no user named \"nosuchuser\""));
	assert_true(has_error(&errs, 4, "'create' is for method \"rename\""));
	assert_true(has_error(&errs, 5, "an empty 'include' matches no log"));
	config_errors_clear(&errs);

	/* Dead groups written other ways: the zone's own include, a path, an excluded name. */
	cfg = load("state_dir = \"state\";\n"                                                  /* 1 */
		   "zones = ( { name = \"web\"; path = \"uploads\"; include = [ \"*.log\" ];\n" /* 2 */
		   "  recursive = false; exclude = [ \"debug.log\" ];\n"                      /* 3 */
		   "  rotate = ( { include = [ \"sub/app.log\", \"debug.log\" ]; every = \"1d\"; },\n" /* 4 */
		   "    { include = [ \"*.log\" ]; every = \"1d\"; },\n"                         /* 5 */
		   "    { include = [ \"access.log\" ]; every = \"1h\"; } ); } );\n",            /* 6 */
		   &errs);
	assert_non_null(cfg);
	dump(&cfg->warnings);
	assert_true(has_error(&cfg->warnings, 4, "\"sub/app.log\" can never match: it names a path below"));
	assert_true(has_error(&cfg->warnings, 4, "\"debug.log\" can never match: the zone's exclude"));
	assert_true(has_error(&cfg->warnings, 6, "rotate group 3 never applies: group 2 before it"));
	assert_int_equal(cfg->warnings.n, 3);
	config_free(cfg);

	cfg = load("state_dir = \"state\";\n"
		   "zones = ( { name = \"web\"; path = \"uploads\"; include = [ \"*.log\" ];\n"
		   "  rotate = ( ); } );\n",
		   &errs);
	assert_null(cfg);
	assert_true(has_error(&errs, 3, "'rotate' is an empty list"));
	config_errors_clear(&errs);
}

/* Whether two globs could match one name: what the group warning stands on. */
static void globs_overlap(void **state)
{
	(void)state;
	assert_true(glob_may_overlap("access.log", "*.log"));
	assert_true(glob_may_overlap("*.log", "access.*"));
	assert_true(glob_may_overlap("a*b", "*c*"));
	assert_true(glob_may_overlap("[ab]x.log", "b?.log"));
	assert_true(glob_may_overlap("app/*.log", "*.log"));
	assert_true(glob_may_overlap("x/a*.log", "x/*b.log"));
	assert_true(glob_may_overlap("*", ""));
	assert_false(glob_may_overlap("*.txt", "*.log"));
	assert_false(glob_may_overlap("access.log", "error.log"));
	assert_false(glob_may_overlap("[!a]x", "ax"));
	assert_false(glob_may_overlap("x/*.log", "y/*.log"));
	assert_false(glob_may_overlap("x/*", "x/a/b"));
	assert_false(glob_may_overlap("a?", "a"));
	assert_true(glob_may_overlap("\\*x", "[*]x"));
	assert_false(glob_may_overlap("\\*x", "ax"));
}

/* Zero limits: high = 0% refused; the rest accepted, each with a warning on its line. */
static void zero_limits(void **state)
{
	struct config_errors errs = {0};
	struct config *cfg = load("state_dir = \"state\";\n"				/* 1 */
				  "disk = { high = \"0%\"; low = \"0%\"; };\n"		/* 2 */
				  "zones = ( { name = \"a\"; path = \"outputs\"; action = \"delete\"; } );\n",
				  &errs);

	(void)state;
	assert_null(cfg);
	dump(&errs);
	assert_true(has_error(&errs, 2, "'high' must be above 0%"));
	config_errors_clear(&errs);

	cfg = load("state_dir = \"state\";\n"						/* 1 */
		   "disk = { high = \"90%\";\n"							/* 2 */
		   "  low = \"0%\"; };\n"								/* 3 */
		   "archive = { path = \"arch\"; max_size = \"0\";\n"				/* 4 */
		   "  keep = 0; };\n"								/* 5 */
		   "zones = ( { name = \"a\"; path = \"outputs\";\n"				/* 6 */
		   "  max_size = 0;\n"								/* 7 */
		   "  max_age = \"0s\";\n"								/* 8 */
		   "  max_files = 0; action = \"delete\"; } );\n",				/* 9 */
		   &errs);
	assert_non_null(cfg);
	assert_int_equal(errs.n, 0);
	dump(&cfg->warnings);
	assert_int_equal(cfg->warnings.n, 6);
	assert_true(has_error(&cfg->warnings, 4, "warning: archive 'max_size' is 0"));
	assert_true(has_error(&cfg->warnings, 3, "warning: disk 'low' is \"0%\""));
	assert_true(has_error(&cfg->warnings, 5, "warning: archive 'keep' is 0"));
	assert_true(has_error(&cfg->warnings, 7, "warning: zone \"a\": 'max_size' is 0"));
	assert_true(has_error(&cfg->warnings, 8, "'max_age' is 0, so every file is swept (deleted)"));
	assert_true(has_error(&cfg->warnings, 9, "'max_files' is 0"));
	config_free(cfg);
}

/* zstd's ultra levels (20 to 22) accepted, but said with the memory they take; 19 silent. */
static void ultra_levels_warned(void **state)
{
	struct config_errors errs = {0};
	struct config *cfg;

	(void)state;
	cfg = load("archive = { path = \"arch\"; level = 19; };\n"				/* 1 */
		   "zones = ( { name = \"a\"; path = \"outputs\"; include = [ \"*.log\" ];\n"	/* 2 */
		   "  rotate = { size = \"1M\"; level = 19; }; } );\n",			/* 3 */
		   &errs);
	assert_non_null(cfg);
	dump(&cfg->warnings);
	assert_int_equal(cfg->warnings.n, 0);
	config_free(cfg);
	cfg = load("archive = { path = \"arch\"; level = 22; };\n"				/* 1 */
		   "zones = ( { name = \"a\"; path = \"outputs\"; include = [ \"*.log\" ];\n"	/* 2 */
		   "  rotate = { size = \"1M\"; level = 20; }; } );\n",			/* 3 */
		   &errs);
	assert_non_null(cfg);
	assert_int_equal(cfg->archive_level, 22);
	assert_int_equal(cfg->zones[0].rotates[0].level, 20);
	dump(&cfg->warnings);
	assert_int_equal(cfg->warnings.n, 2);
	assert_true(has_error(&cfg->warnings, 1, "warning: archive 'level' is 22: "));
	assert_true(has_error(&cfg->warnings, 1, "about 800 MiB of memory for each compression"));
	assert_true(has_error(&cfg->warnings, 3, "warning: zone \"a\": rotate 'level' is 20: "));
	assert_true(has_error(&cfg->warnings, 3, "about 200 MiB"));
	config_free(cfg);
}

/* An archive root others may write in: they could block a zone's directory there. */
static void open_archive_warned(void **state)
{
	struct config_errors errs = {0};
	struct config *cfg;
	char p[300];

	(void)state;
	snprintf(p, sizeof(p), "%s/open-archive", dir);
	mkdir(p, 0700);
	cfg = load("archive = { path = \"open-archive\"; };\n"
		   "zones = ( { name = \"a\"; path = \"outputs\"; } );\n", &errs);
	assert_non_null(cfg);
	assert_int_equal(cfg->warnings.n, 0);
	config_free(cfg);
	chmod(p, 01777);
	cfg = load("archive = { path = \"open-archive\"; };\n"
		   "zones = ( { name = \"a\"; path = \"outputs\"; } );\n", &errs);
	assert_non_null(cfg);
	dump(&cfg->warnings);
	assert_int_equal(cfg->warnings.n, 1);
	snprintf(p, sizeof(p), "warning: archive %s/open-archive is mode 1777: others may write in "
		 "it, so they can make %s/open-archive/a ", dir, dir);
	assert_true(has_error(&cfg->warnings, 1, p));
	config_free(cfg);
}

/* The archive and state_dir are resolved as zone paths are: ".." cannot slip through a missing part. */
static void own_dirs_resolved(void **state)
{
	struct config_errors errs = {0};
	char link[300], target[300];
	struct config *cfg;

	(void)state;
	cfg = load("state_dir = \"~/state\";\n"
		   "zones = ( { name = \"a\"; path = \"$HOME/x\"; } );\n", &errs);
	assert_non_null(cfg);
	dump(&cfg->warnings);
	assert_true(has_error(&cfg->warnings, 1, "'state_dir' is \"~/state\": sweepd expands neither"));
	assert_true(has_error(&cfg->warnings, 2, "'path' is \"$HOME/x\""));
	config_free(cfg);
	cfg = load("state_dir = \"nothere/../outputs/st\";\n"				/* 1 */
		   "archive = { path = \"nothere2/../outputs/ar\"; };\n"			/* 2 */
		   "zones = ( { name = \"a\"; path = \"outputs\"; max_age = \"1d\"; } );\n", /* 3 */
		   &errs);
	assert_null(cfg);
	dump(&errs);
	assert_true(has_error(&errs, 1, "state_dir"));
	assert_true(has_error(&errs, 1, "\"..\" in"));
	assert_true(has_error(&errs, 2, "archive path"));
	assert_true(has_error(&errs, 2, "\"..\" in"));
	config_errors_clear(&errs);

	/* A link to nothing inside a zone: refused at -t, not only at the start. */
	snprintf(link, sizeof(link), "%s/arlink", dir);
	snprintf(target, sizeof(target), "%s/outputs/ar", dir);
	assert_int_equal(symlink(target, link), 0);
	cfg = load("state_dir = \"state\";\n"
		   "archive = { path = \"arlink\"; };\n"
		   "zones = ( { name = \"a\"; path = \"outputs\"; max_age = \"1d\"; } );\n",
		   &errs);
	assert_null(cfg);
	dump(&errs);
	snprintf(target, sizeof(target), "is a symbolic link to %s/outputs/ar, which does not exist",
		 dir);
	assert_true(has_error(&errs, 2, target));
	assert_true(has_error(&errs, 2, "name the directory it should point to (and create it)"));
	config_errors_clear(&errs);
	unlink(link);

	/* The socket's and the metrics file's directories too, their names kept. */
	cfg = load("metrics_file = \"nodir/../m.prom\";\n"				/* 1 */
		   "socket = { path = \"gone/../s.sock\"; };\n"				/* 2 */
		   "zones = ( { name = \"a\"; path = \"outputs\"; } );\n",
		   &errs);
	assert_null(cfg);
	dump(&errs);
	assert_true(has_error(&errs, 1, "metrics_file"));
	assert_true(has_error(&errs, 1, "\"..\" in nodir/.., a part that does not exist yet"));
	assert_true(has_error(&errs, 2, "socket path"));
	assert_true(has_error(&errs, 2, "\"..\" in gone/.., a part that does not exist yet"));
	config_errors_clear(&errs);
	cfg = load("metrics_file = \"outputs/../m.prom\";\n"
		   "socket = { path = \"./uploads//../s.sock\"; };\n"
		   "zones = ( { name = \"a\"; path = \"outputs\"; } );\n",
		   &errs);
	dump(&errs);
	assert_non_null(cfg);
	snprintf(target, sizeof(target), "%s/m.prom", dir);
	assert_string_equal(cfg->metrics_file, target);
	snprintf(target, sizeof(target), "%s/s.sock", dir);
	assert_string_equal(cfg->socket_path, target);
	config_free(cfg);
}

static void syntax_error(void **state)
{
	struct config_errors errs = {0};
	struct config *cfg = load("zones = (\n { name = ; path = \"x\"; }\n);\n", &errs);

	(void)state;
	assert_null(cfg);
	assert_int_equal(errs.n, 1);
	assert_true(has_error(&errs, 2, "syntax error"));
	config_errors_clear(&errs);
}

static void missing_file(void **state)
{
	struct config_errors errs = {0};

	(void)state;
	assert_null(config_load("/nonexistent/sweepd.conf", &errs));
	assert_int_equal(errs.n, 1);
	assert_non_null(strstr(errs.msgs[0], "cannot read"));
	config_errors_clear(&errs);
}

static void no_zones_and_archive_needed(void **state)
{
	struct config_errors errs = {0};

	(void)state;
	assert_null(load("state_dir = \"/tmp\";\n", &errs));
	assert_true(has_error(&errs, 0, "no 'zones'"));
	config_errors_clear(&errs);
	assert_null(load("zones = ( { name = \"a\"; path = \"outputs\"; max_age = \"1d\"; } );\n", &errs));
	assert_true(has_error(&errs, 1, "no 'archive'"));
	config_errors_clear(&errs);
	assert_null(load("disk = { high = \"50%\"; low = \"60%\"; };\n"
			 "zones = ( { name = \"a\"; path = \"outputs\"; } );\n",
			 &errs));
	assert_true(has_error(&errs, 1, "must not be above"));
	config_errors_clear(&errs);
}

static void path_within(void **state)
{
	(void)state;
	assert_true(config_path_within("/a/b/c", "/a/b"));
	assert_true(config_path_within("/a/b", "/a/b"));
	assert_false(config_path_within("/a/bc", "/a/b"));
	assert_true(config_path_within("/anything", "/"));
	assert_false(config_path_within("/a", "/a/b"));
}

/*
 * What is sweepd's own stays out of every zone: a zone on /, one inside the
 * archive, one holding state_dir (through a symlink too) or the config file.
 */
static void own_paths_refused(void **state)
{
	struct config_errors errs = {0};
	char text[1024], link[300], target[300];

	(void)state;
	assert_null(load("zones = ( { name = \"root\"; path = \"/\"; } );\n", &errs));
	assert_true(has_error(&errs, 1, "zone \"root\" is on /"));
	config_errors_clear(&errs);

	assert_null(load("archive = { path = \"outputs\"; };\n"
			 "zones = ( { name = \"a\"; path = \"outputs/sub\"; } );\n",
			 &errs));
	assert_true(has_error(&errs, 2, "zone \"a\""));
	assert_true(has_error(&errs, 2, "is inside the archive"));
	config_errors_clear(&errs);

	assert_null(load("archive = { path = \"outputs/sub/arch\"; };\n"
			 "zones = ( { name = \"a\"; path = \"outputs\"; } );\n",
			 &errs));
	assert_true(has_error(&errs, 1, "archive path"));
	assert_true(has_error(&errs, 1, "is inside zone \"a\""));
	config_errors_clear(&errs);

	/* state_dir through a link into a zone, and not there yet. */
	snprintf(link, sizeof(link), "%s/statelink", dir);
	snprintf(target, sizeof(target), "%s/uploads", dir);
	unlink(link);
	assert_int_equal(symlink(target, link), 0);
	snprintf(text, sizeof(text),
		 "state_dir = \"statelink/state\";\n"
		 "zones = ( { name = \"u\"; path = \"uploads\"; } );\n");
	assert_null(load(text, &errs));
	assert_true(has_error(&errs, 1, "uploads/state is inside zone \"u\""));
	config_errors_clear(&errs);
	unlink(link);

	assert_null(load("state_dir = \"outputs/state\";\narchive = { path = \"outputs\"; };\n"
			 "zones = ( { name = \"u\"; path = \"uploads\"; } );\n",
			 &errs));
	assert_true(has_error(&errs, 1, "must not hold one another"));
	config_errors_clear(&errs);

	/* The configuration file itself (it sits in dir). */
	assert_null(load("state_dir = \"/var/tmp/sweepd-test-state\";\n"
			 "zones = ( { name = \"all\"; path = \".\"; } );\n",
			 &errs));
	assert_true(has_error(&errs, 2, "holds the configuration file"));
	config_errors_clear(&errs);
}

static void path_clean_and_zone_holding(void **state)
{
	struct config_errors errs = {0};
	struct config *cfg;
	char out[64], p[300];

	(void)state;
	assert_int_equal(config_path_clean("/a//b/./c/", out, sizeof(out)), 0);
	assert_string_equal(out, "/a/b/c");
	assert_int_equal(config_path_clean("/", out, sizeof(out)), 0);
	assert_string_equal(out, "/");
	assert_int_equal(config_path_clean("a/b", out, sizeof(out)), -EINVAL);
	assert_int_equal(config_path_clean("", out, sizeof(out)), -EINVAL);
	assert_int_equal(config_path_clean("/a/../etc/x", out, sizeof(out)), -EACCES);
	assert_int_equal(config_path_clean("/a/..", out, sizeof(out)), -EACCES);
	assert_int_equal(config_path_clean("/a/..b/c", out, sizeof(out)), 0);
	assert_string_equal(out, "/a/..b/c");
	assert_int_equal(config_path_clean("/aaaaaaaaaa/bbbbbbbbbbbbbbbbbb", out, 8), -ENAMETOOLONG);

	cfg = load("zones = ( { name = \"o\"; path = \"outputs\"; },\n"
		   "  { name = \"u\"; path = \"uploads\"; } );\n",
		   &errs);
	assert_non_null(cfg);
	snprintf(p, sizeof(p), "%s/uploads/x", dir);
	assert_int_equal(config_zone_holding(cfg, p), 1);
	snprintf(p, sizeof(p), "%s/outputs/sub/y", dir);
	assert_int_equal(config_zone_holding(cfg, p), 0);
	snprintf(p, sizeof(p), "%s/outputs", dir);
	assert_int_equal(config_zone_holding(cfg, p), -1); /* the root itself: not below it */
	snprintf(p, sizeof(p), "%s/outputsx/y", dir);
	assert_int_equal(config_zone_holding(cfg, p), -1);
	config_free(cfg);
}

/* Socket, metrics_file and what a reload may not change, with their lines. */
static void socket_keys_and_reload_refusals(void **state)
{
	struct config_errors errs = {0};
	struct config *a, *b;
	char path[256], text[1024];
	FILE *f;

	(void)state;
	snprintf(text, sizeof(text),
		 "state_dir = \"state\";\n"
		 "socket = { path = \"/run/x.sock\"; mode = \"0640\"; owner = \"nobody\";\n"
		 "  group = \"nogroup\"; idle_timeout = \"2m\"; max_clients = 64; };\n"
		 "metrics_file = \"m/sweepd.prom\";\n"
		 "zones = ( { name = \"o\"; path = \"outputs\"; include = [ \"*.mp4\" ]; } );\n");
	a = load(text, &errs);
	assert_non_null(a);
	assert_int_equal(a->socket_mode, 0640);
	assert_string_equal(a->socket_owner, "nobody");
	assert_string_equal(a->socket_group, "nogroup");
	assert_int_equal(a->idle_timeout, 120);
	assert_int_equal(a->max_clients, 64);
	assert_int_equal(a->max_clients_per_user, 16);
	assert_int_equal(a->admin_reserve, 32); /* half of a max_clients under 64 */
	snprintf(path, sizeof(path), "%s/m/sweepd.prom", dir);
	assert_string_equal(a->metrics_file, path);

	/* The same file again: nothing refused. */
	snprintf(path, sizeof(path), "%s/sweepd.conf", dir);
	b = config_reload(path, a, &errs);
	assert_non_null(b);
	assert_true(config_zone_same_files(&a->zones[0], &b->zones[0]));
	b->zones[0].max_age = 60; /* a limit: the same files */
	assert_true(config_zone_same_files(&a->zones[0], &b->zones[0]));
	b->zones[0].max_idle = 60; /* access tracking: not the same watches */
	assert_false(config_zone_same_files(&a->zones[0], &b->zones[0]));
	b->zones[0].max_idle = CONFIG_UNSET;
	b->zones[0].recursive = false;
	assert_false(config_zone_same_files(&a->zones[0], &b->zones[0]));
	config_free(b);

	f = fopen(path, "w");
	fputs("state_dir = \"other\";\nsocket = { path = \"/run/y.sock\"; owner = \"no-such-user-x\"; };\n"
	      "zones = ( { name = \"o\"; path = \"outputs\"; } );\n",
	      f);
	fclose(f);
	assert_null(config_reload(path, a, &errs));
	assert_true(has_error(&errs, 1, "state_dir cannot change while sweepd runs"));
	assert_true(has_error(&errs, 2, "socket.path cannot change"));
	assert_true(has_error(&errs, 2, "no user named \"no-such-user-x\""));
	config_errors_clear(&errs);
	config_free(a);
}

/*
 * A zone path not there yet is a warning, resolved as far as it exists and
 * normalised after; what can never become a directory there is an error.
 */
static void missing_zone_paths(void **state)
{
	struct config_errors errs = {0};
	struct config *cfg;
	char p[256], q[256];

	(void)state;
	snprintf(p, sizeof(p), "%s/to-outputs", dir);
	symlink("outputs", p);
	snprintf(p, sizeof(p), "%s/dangling", dir);
	symlink("nowhere", p);
	cfg = load("zones = (\n"							/* 1 */
		   " { name = \"a\"; path = \"later\"; },\n"				/* 2 */
		   " { name = \"b\"; path = \"srv/app//./outputs/\"; },\n"		/* 3 */
		   " { name = \"c\"; path = \"to-outputs/sub/new\"; },\n"			/* 4 */
		   " { name = \"d\"; path = \"uploads\"; }\n"				/* 5 */
		   ");\n",
		   &errs);
	dump(&errs);
	assert_non_null(cfg);
	dump(&cfg->warnings);
	assert_int_equal(cfg->warnings.n, 3);
	snprintf(p, sizeof(p), "warning: zone \"a\": %s/later does not exist (yet)", dir);
	assert_true(has_error(&cfg->warnings, 2, p));
	snprintf(p, sizeof(p), "%s/later", dir);
	assert_string_equal(cfg->zones[0].path, p);
	snprintf(p, sizeof(p), "%s/srv/app/outputs", dir);
	assert_string_equal(cfg->zones[1].path, p);
	assert_true(has_error(&cfg->warnings, 3, "does not exist (yet)"));
	snprintf(p, sizeof(p), "%s/outputs/sub/new", dir);
	assert_string_equal(cfg->zones[2].path, p);
	assert_true(has_error(&cfg->warnings, 4, "does not exist (yet)"));
	config_free(cfg);

	cfg = load("zones = (\n"							/* 1 */
		   " { name = \"a\"; path = \"afile/x\"; },\n"				/* 2 */
		   " { name = \"b\"; path = \"new/../x\"; },\n"				/* 3 */
		   " { name = \"c\"; path = \"dangling/x\"; },\n"				/* 4 */
		   " { name = \"d\"; path = \"afile\"; },\n"				/* 5 */
		   " { name = \"e\"; path = \"uploads\"; },\n"				/* 6 */
		   " { name = \"f\"; path = \"uploads/not/yet\"; }\n"			/* 7 */
		   ");\n",
		   &errs);
	assert_null(cfg);
	dump(&errs);
	assert_true(has_error(&errs, 2, "Not a directory"));
	assert_true(has_error(&errs, 3, "\"..\" in new/../x, a part that does not exist yet"));
	snprintf(q, sizeof(q), "%s/dangling is a symbolic link to nowhere, which does not exist", dir);
	assert_true(has_error(&errs, 4, q));
	assert_true(has_error(&errs, 5, "is not a directory"));
	assert_true(has_error(&errs, 7, "overlaps zone \"e\""));
	config_errors_clear(&errs);
}

/* The per-user cap and the admins' room: given, defaulted from a small max_clients, refused. */
static void client_limits(void **state)
{
	struct config_errors errs = {0};
	struct config *cfg;

	(void)state;
	cfg = load("socket = { max_clients = 100; max_clients_per_user = 4; admin_reserve = 10; };\n"
		   "zones = ( { name = \"a\"; path = \"outputs\"; } );\n",
		   &errs);
	dump(&errs);
	assert_non_null(cfg);
	assert_int_equal(cfg->max_clients_per_user, 4);
	assert_int_equal(cfg->admin_reserve, 10);
	config_free(cfg);
	cfg = load("socket = { max_clients = 10; };\nzones = ( { name = \"a\"; path = \"outputs\"; } );\n",
		   &errs);
	assert_non_null(cfg);
	assert_int_equal(cfg->admin_reserve, 5);
	config_free(cfg);
	cfg = load("socket = { max_clients = 10;\n  admin_reserve = 10;\n  max_clients_per_user = 0; };\n"
		   "zones = ( { name = \"a\"; path = \"outputs\"; } );\n",
		   &errs);
	assert_null(cfg);
	assert_true(has_error(&errs, 2, "'admin_reserve' (10) must be less than max_clients (10)"));
	assert_true(has_error(&errs, 3, "'max_clients_per_user' must be between 1 and"));
	config_errors_clear(&errs);
}

/* archive.remote: each key checked, defaults filled in, credentials read with the config. */
static void remote_group(void **state)
{
	struct config_errors errs = {0};
	struct config *cfg;
	char cred[300], text[1200], host[256] = "", want[300];
	FILE *f;

	(void)state;
	snprintf(cred, sizeof(cred), "%s/s3.credentials", dir);
	f = fopen(cred, "w");
	assert_non_null(f);
	fputs("[default]\naws_access_key_id = AKID\naws_secret_access_key = SECRETKEY\n", f);
	fclose(f);
	chmod(cred, 0600);
	snprintf(text, sizeof(text),
		 "archive = { path = \"arch\"; keep = \"7d\";\n"			     /* 1 */
		 "  remote = { endpoint = \"http://127.0.0.1:7480\"; bucket = \"ai-archive\";\n" /* 2 */
		 "    credentials = \"%s\"; keep = \"1d\"; }; };\n"			     /* 3 */
		 "zones = ( { name = \"a\"; path = \"outputs\"; } );\n",		     /* 4 */
		 cred);
	cfg = load(text, &errs);
	dump(&errs);
	assert_non_null(cfg);
	assert_non_null(cfg->remote);
	assert_string_equal(cfg->remote->region, "us-east-1");
	gethostname(host, sizeof(host) - 1);
	snprintf(want, sizeof(want), "%s/", host);
	assert_string_equal(cfg->remote->prefix, want);
	assert_string_equal(cfg->remote->cred.access_key, "AKID");
	assert_int_equal(cfg->remote->keep, 86400);
	assert_true(has_error(&cfg->warnings, 3, "remote 'keep' is shorter than the archive's"));
	config_free(cfg);
	/* Every wrong key at once, the credentials file open to others among them. */
	chmod(cred, 0644);
	snprintf(text, sizeof(text),
		 "archive = { path = \"arch\";\n"					     /* 1 */
		 "  remote = { endpoint = \"ftp://x\"; bucket = \"No_Such\";\n"		     /* 2 */
		 "    prefix = \"/abs\"; credentials = \"%s\"; colour = 1; }; };\n"	     /* 3 */
		 "zones = ( { name = \"a\"; path = \"outputs\"; } );\n",		     /* 4 */
		 cred);
	cfg = load(text, &errs);
	dump(&errs);
	assert_null(cfg);
	assert_true(has_error(&errs, 2, "remote 'endpoint' \"ftp://x\" must be http:// or https://"));
	assert_true(has_error(&errs, 2, "remote 'bucket' \"No_Such\" is not a bucket name"));
	assert_true(has_error(&errs, 3, "remote 'prefix' \"/abs\" must not start with '/'"));
	assert_true(has_error(&errs, 3, "chmod 0600"));
	assert_true(has_error(&errs, 3, "colour"));
	for (size_t i = 0; i < errs.n; i++)
		assert_null(strstr(errs.msgs[i], "SECRETKEY"));
	config_errors_clear(&errs);
	unlink(cred);
}

static void http_group(void **state)
{
	struct config_errors errs = {0};
	struct config *cfg;
	char text[1600], alert[300];
	FILE *f;

	(void)state;
	snprintf(alert, sizeof(alert), "%s/notify", dir);
	f = fopen(alert, "w");
	assert_non_null(f);
	fputs("#!/bin/sh\n", f);
	fclose(f);
	chmod(alert, 0755);
	snprintf(text, sizeof(text),
		 "http = { listen = \"[::1]:9477\";\n"					/* 1 */
		 "  basic_auth_users = { ops = "					/* 2 */
		 "\"$2y$05$sweepdsweepdsweepdswee1jRfNnwaksYKC3QWMv1qL1xIuRCpXzi\"; };\n" /* 3 */
		 "};\n"								/* 4 */
		 "alert_command = \"%s\"; alert_repeat = \"1h\";\n"			/* 5 */
		 "zones = ( { name = \"a\"; path = \"outputs\"; } );\n",		/* 6 */
		 alert);
	cfg = load(text, &errs);
	dump(&errs);
	assert_non_null(cfg);
	assert_non_null(cfg->http);
	assert_string_equal(cfg->http->host, "::1");
	assert_int_equal(cfg->http->port, 9477);
	assert_true(cfg->http->loopback);
	assert_int_equal(cfg->http->n_users, 1);
	assert_string_equal(cfg->http->users[0].name, "ops");
	assert_false(cfg->http->read_auth);
	assert_string_equal(cfg->alert_command, alert);
	assert_int_equal(cfg->alert_repeat, 3600);
	config_free(cfg);
	/* Every address, no TLS: said. */
	cfg = load("http = { listen = \":9477\"; };\nzones = ( { name = \"a\"; path = \"o\"; } );\n",
		   &errs);
	assert_non_null(cfg);
	assert_string_equal(cfg->http->host, "");
	assert_false(cfg->http->loopback);
	assert_true(has_error(&cfg->warnings, 1, "without 'tls'"));
	config_free(cfg);
	/* A cost that would take seconds at every check; a cost out of range. */
	cfg = load("http = { basic_auth_users = {\n"
		   "  slow = \"$2y$15$sweepdsweepdsweepdswee1jRfNnwaksYKC3QWMv1qL1xIuRCpXzi\";\n"
		   "  odd = \"$2y$99$sweepdsweepdsweepdswee1jRfNnwaksYKC3QWMv1qL1xIuRCpXzi\"; }; };\n"
		   "zones = ( { name = \"a\"; path = \"o\"; } );\n",
		   &errs);
	dump(&errs);
	assert_null(cfg);
	assert_true(has_error(&errs, 2, "a bcrypt cost of 15 takes seconds"));
	assert_true(has_error(&errs, 3, "http user \"odd\": not a bcrypt hash"));
	config_errors_clear(&errs);
	/* Every wrong key at once. */
	chmod(alert, 0777);
	snprintf(text, sizeof(text),
		 "http = { listen = \"127.0.0.1\";\n"				/* 1 */
		 "  basic_auth_users = { ops = \"plain\"; dev = 3; };\n"		/* 2 */
		 "  read_auth = true; tls = { cert_file = \"nope.crt\"; };\n"		/* 3 */
		 "  colour = 1; };\n"						/* 4 */
		 "alert_command = \"%s\";\n"						/* 5 */
		 "zones = ( { name = \"a\"; path = \"outputs\"; } );\n",		/* 6 */
		 alert);
	cfg = load(text, &errs);
	dump(&errs);
	assert_null(cfg);
	assert_true(has_error(&errs, 1, "must be ADDRESS:PORT"));
	assert_true(has_error(&errs, 2, "http user \"ops\": not a bcrypt hash"));
	assert_true(has_error(&errs, 2, "http user \"dev\" must be given a bcrypt hash"));
	assert_true(has_error(&errs, 3, "needs both 'cert_file' and 'key_file'"));
	assert_true(has_error(&errs, 3, "'read_auth' is true but there are no 'basic_auth_users'"));
	assert_true(has_error(&errs, 4, "colour"));
	assert_true(has_error(&errs, 5, "may be written by anyone"));
	config_errors_clear(&errs);
	unlink(alert);
}

/* What sweepd would run as itself: nobody else may have put it there or change it. */
static void alert_command_trusted(void **state)
{
	char d[300], f[320], link[320], sub[320], why[600], cmd[700];
	FILE *fp;

	(void)state;
	snprintf(d, sizeof(d), "%s/hooks", dir);
	mkdir(d, 0755);
	snprintf(f, sizeof(f), "%s/notify", d);
	fp = fopen(f, "w");
	assert_non_null(fp);
	fputs("#!/bin/sh\n", fp);
	fclose(fp);
	chmod(f, 0755);
	assert_int_equal(path_trusted(f, why, sizeof(why)), 0);
	assert_int_not_equal(path_trusted("hooks/notify", why, sizeof(why)), 0);
	assert_non_null(strstr(why, "not an absolute path"));
	/* Owned by someone else. */
	assert_int_equal(chown(f, 65534, 65534), 0);
	assert_int_not_equal(path_trusted(f, why, sizeof(why)), 0);
	assert_non_null(strstr(why, "owned by uid 65534"));
	assert_int_equal(chown(f, 0, 0), 0);
	/* Group-writable, or in a directory others may write in. */
	chmod(f, 0775);
	assert_int_not_equal(path_trusted(f, why, sizeof(why)), 0);
	assert_non_null(strstr(why, "its group"));
	chmod(f, 0755);
	chmod(d, 0777);
	assert_int_not_equal(path_trusted(f, why, sizeof(why)), 0);
	assert_non_null(strstr(why, "anyone"));
	/* Sticky, as /tmp: a name there is its owner's alone. */
	chmod(d, 01777);
	assert_int_equal(path_trusted(f, why, sizeof(why)), 0);
	chmod(d, 0755);
	/* A link someone else owns, or pointing to what someone else may change. */
	snprintf(link, sizeof(link), "%s/link", d);
	assert_int_equal(symlink(f, link), 0);
	assert_int_equal(path_trusted(link, why, sizeof(why)), 0);
	assert_int_equal(lchown(link, 65534, 65534), 0);
	assert_int_not_equal(path_trusted(link, why, sizeof(why)), 0);
	unlink(link);
	snprintf(sub, sizeof(sub), "%s/open", d);
	mkdir(sub, 0777);
	chmod(sub, 0777);
	snprintf(link, sizeof(link), "%s/open/x", d);
	fp = fopen(link, "w");
	fclose(fp);
	chmod(link, 0755);
	snprintf(cmd, sizeof(cmd), "%s/via", d);
	assert_int_equal(symlink(link, cmd), 0);
	assert_int_not_equal(path_trusted(cmd, why, sizeof(why)), 0);
	/* Missing, or not executable. */
	unlink(link);
	assert_int_not_equal(path_trusted(cmd, why, sizeof(why)), 0);
	chmod(f, 0644);
	assert_int_not_equal(path_trusted(f, why, sizeof(why)), 0);
	assert_non_null(strstr(why, "not executable"));
	snprintf(cmd, sizeof(cmd), "rm -rf %s", d);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(full_example),
		cmocka_unit_test(defaults),
		cmocka_unit_test(all_errors_with_lines),
		cmocka_unit_test(rotation_refusals),
		cmocka_unit_test(zero_limits),
		cmocka_unit_test(ultra_levels_warned),
		cmocka_unit_test(open_archive_warned),
		cmocka_unit_test(own_dirs_resolved),
		cmocka_unit_test(syntax_error),
		cmocka_unit_test(missing_file),
		cmocka_unit_test(no_zones_and_archive_needed),
		cmocka_unit_test(path_within),
		cmocka_unit_test(own_paths_refused),
		cmocka_unit_test(path_clean_and_zone_holding),
		cmocka_unit_test(missing_zone_paths),
		cmocka_unit_test(socket_keys_and_reload_refusals),
		cmocka_unit_test(client_limits),
		cmocka_unit_test(remote_group),
		cmocka_unit_test(http_group),
		cmocka_unit_test(alert_command_trusted),
		cmocka_unit_test(rotation_groups),
		cmocka_unit_test(globs_overlap),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
