#ifndef SWEEPD_COUNTERS_H
#define SWEEPD_COUNTERS_H

#include <stdint.h>

/*
 * What the daemon has done since it started, as status and the metrics show
 * it. The daemon holds them; each part that counts is handed them.
 */
struct counters {
	uint64_t events, overflows, rescans, archived, deleted, purged, restored, rotated,
		bytes_freed, errors, blocked;
	/* alert_command: runs started (or tried), and those that failed, were killed or never started. */
	uint64_t alert_runs, alert_failures;
	/* HTTP: passwords found wrong (the listener's log says them a few times a minute). */
	uint64_t http_wrong_passwords;
	/*
	 * Not shown: the events that were a close after writing (IN_CLOSE_WRITE),
	 * whatever the file. The rotator waits on them for a copy's writer to let go.
	 */
	uint64_t write_closes;
};

#endif
