#ifndef SWEEPD_RESTORE_JOB_H
#define SWEEPD_RESTORE_JOB_H

#include "archive.h"

/*
 * A restore as a mover job (the archive's lane, where every move of the
 * archive's files runs, one at a time, under the one journal): the request
 * is checked on the loop (who asks, where to), the copy back runs on a
 * worker, and the answer goes to the client once the result is in (the
 * entry out of the index, counted, audited, held for archive.keep).
 */
struct answer_sink;
struct daemon;

/*
 * Queues the restore of e to dest (whose base descriptor it takes) for
 * client. Returns control_later, or an error reply when it cannot start.
 */
char *restore_job_start(struct daemon *d, struct archive_entry *e, struct archive_dest *dest,
			const char *target, struct answer_sink *client);

#endif
