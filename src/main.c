#include <errno.h>
#include <ev.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "config.h"
#include "daemon.h"
#include "log.h"
#include "s3.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: sweepd [-c FILE] [-t] [-n] [-v] [--version] [-h]\n"
		"  -c, --config FILE   configuration (default %s)\n"
		"  -t, --check-config  validate the configuration and exit\n"
		"  -n, --dry-run       decide and report; never move, delete, rotate or truncate\n"
		"  -v                  more logging\n"
		"      --version       print the version\n"
		"  -h, --help          this help\n"
		"sweepd always runs in the foreground and logs to stderr.\n",
		CONFIG_DEFAULT_PATH);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'}, {"check-config", no_argument, NULL, 't'},
		{"dry-run", no_argument, NULL, 'n'},	  {"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},	  {NULL, 0, NULL, 0},
	};
	const char *file = CONFIG_DEFAULT_PATH;
	struct config_errors errs = {0};
	struct daemon d = {.handler = daemon_request, .is_admin = daemon_peer_is_admin};
	bool check = false;
	int verbose = 0, c, status = 0;

	while ((c = getopt_long(argc, argv, "c:tnvh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			file = optarg;
			break;
		case 't':
			check = true;
			break;
		case 'n':
			d.dry_run = true;
			break;
		case 'v':
			verbose++;
			break;
		case 'V':
			printf("sweepd %s\n", SWEEPD_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "sweepd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 1;
	}
	log_init(verbose);
	d.cfg = config_load(file, &errs);
	if (!d.cfg) {
		for (size_t i = 0; i < errs.n; i++)
			log_plain(errs.msgs[i]);
		if (!errs.n)
			fprintf(stderr, "%s: out of memory\n", file);
		config_errors_clear(&errs);
		return 1;
	}
	for (size_t i = 0; i < d.cfg->warnings.n; i++) {
		if (check)
			log_plain(d.cfg->warnings.msgs[i]);
		else
			log_warn("%s", d.cfg->warnings.msgs[i]);
	}
	if (check) {
		printf("configuration OK\n");
		config_free(d.cfg);
		return 0;
	}
	/*
	 * From "/": what it runs (alert_command, postrotate) must not find its
	 * modules or files in whatever directory sweepd was started from, and no
	 * mount is held busy. Every path it keeps is absolute.
	 */
	if (chdir("/") < 0)
		log_warn("cannot change to /: %s", strerror(errno));
	signal(SIGPIPE, SIG_IGN);
	/*
	 * A writer that opens a file while we hold its read lease (for the
	 * microseconds of a check) makes the kernel send us SIGIO, whose default
	 * action ends the process. We release the lease at once anyway.
	 */
	signal(SIGIO, SIG_IGN);
	if (s3_global_init() < 0) {
		fprintf(stderr, "sweepd: cannot initialise libcurl\n");
		config_free(d.cfg);
		return 1;
	}
	d.loop = ev_default_loop(EVFLAG_AUTO | EVFLAG_SIGNALFD);
	if (!d.loop) {
		fprintf(stderr, "sweepd: cannot create the event loop\n");
		config_free(d.cfg);
		return 1;
	}
	if (daemon_start(&d) < 0) {
		status = 1;
	} else {
		ev_run(d.loop, 0);
		log_info("stopped");
	}
	daemon_stop(&d);
	ev_loop_destroy(d.loop);
	config_free(d.cfg);
	s3_global_cleanup();
	return status;
}
