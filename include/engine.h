#ifndef SWEEPD_ENGINE_H
#define SWEEPD_ENGINE_H

#include <stdbool.h>

/*
 * What the engine (the sweeper and the rotator) is handed when the daemon
 * makes it, in place of the whole daemon: the parts it reads and acts
 * through, and nothing it could reach back into the daemon with. Each keeps
 * a copy of this; the parts stay the daemon's, and outlive the engine but
 * for the mover, which stops first (its last results are applied while the
 * engine is still whole).
 *
 * Two of them change while it runs: a reload replaces the configuration
 * (sweep_reconfigure and rotate_reconfigure are handed the new one), and
 * sweepctl pause and resume set the daemon's paused flag, read through the
 * pointer.
 */
struct archive;
struct audit;
struct config;
struct counters;
struct ev_loop;
struct mover;
struct table;
struct watch;

struct engine_parts {
	struct ev_loop *loop;
	const struct config *cfg; /* the one in force: see above */
	struct table *table;
	struct watch *watch;
	struct archive *archive; /* NULL when no zone archives */
	struct mover *mover;
	struct audit *audit;
	struct counters *counters;
	const bool *paused; /* the daemon's own flag */
	bool dry_run;	    /* -n: for the daemon's whole life */
};

#endif
