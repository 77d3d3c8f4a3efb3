#ifndef SWEEPD_RELOAD_H
#define SWEEPD_RELOAD_H

#include "config.h"

struct json_object;

/*
 * A reload, read and told: the new configuration from the running one's
 * file, which old zone each new zone continues, and the reply that says
 * what changed. The daemon hands the new configuration to its parts in
 * between (daemon_reload).
 */
struct reload {
	struct config *cfg; /* the new configuration: the daemon's once taken */
	int *old_of_new;    /* new zone j continues old zone old_of_new[j] (same files), or -1 */
	struct config_errors errs;
};

/* Reads old's file again: 0, or -1 when it is refused (reload_refused says why). */
int reload_read(const struct config *old, struct reload *rl);
/* A refused reload: each error logged once, the reply line returned; rl is emptied. */
char *reload_refused(struct reload *rl);
/* Taken: {kept, rescanned, added, removed}, zone names, logged in one line. */
struct json_object *reload_changes(const struct config *old, const struct reload *rl);
/* The reply to a reload taken: the changes (taken) and the warnings (logged); rl is emptied. */
char *reload_taken(struct reload *rl, struct json_object *changes);

#endif
