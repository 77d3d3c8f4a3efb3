#ifndef SWEEPD_SWEEP_PLAN_H
#define SWEEPD_SWEEP_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

/*
 * The sweeper's choices, apart from the files: which files a pass takes, in
 * what order, and why. It reads the table, the rules and a clock it is given;
 * what only the sweeper knows of a file (restored and held, its move failed
 * lately, on its way in the mover) it asks through the view. No I/O: the
 * sweeper hands what it picks to the mover.
 */
struct config;
struct table;
struct table_file;

/* Files acted on between two drains of our own events: well under inotify's queue. */
#define SWEEP_BATCH 2048

struct sweep_cand {
	struct table_file *f;
	uint32_t zone;
	enum policy_reason why;
};

struct sweep_plan {
	struct sweep_cand *v;
	size_t n, cap;
	size_t limit; /* the batch's size (0: SWEEP_BATCH) */
	bool more; /* the batch is full: another pass follows */
};

/* What kept files from going, in bytes, by cause. */
struct sweep_tally {
	uint64_t writing, young, held, full, misdir;
	uint64_t deep;	 /* too deep for the archive to mirror */
	uint64_t failed; /* their move failed lately (the log says why) */
};

struct sweep_view {
	struct table *table;
	const struct config *cfg;
	int64_t now;
	uint8_t skip; /* flags of files chosen already (TF_PICKED, and TF_REPORTED for a dry daemon) */
	/* Each may be NULL: never. */
	bool (*held)(void *ud, const struct table_file *f, int64_t now);
	/* POLICY_FAILING or POLICY_TOO_DEEP while its last move's failure is recent */
	enum policy_block (*failing)(void *ud, const struct table_file *f, int64_t now);
	bool (*busy)(void *ud, const struct table_file *f); /* a job of the mover has it */
	void *ud;
	int64_t next; /* lowered to when something seen but not due now becomes due */
};

/*
 * A file whose move failed: when it may be tried again and how many times in a
 * row it failed, in one word, as the sweeper keeps it (until << 8 | tries << 1
 * | too_deep). Each failure in a row waits twice as long, from retry_s up to
 * retry_s << 7; a record whose wait ended forget_s ago starts again from one.
 */
struct sweep_fail {
	int64_t until;
	unsigned tries;
	bool deep;
};
struct sweep_fail sweep_fail_decode(uintptr_t v);
/* One more failure at now: the new word. */
uintptr_t sweep_fail_again(uintptr_t v, bool deep, int64_t now, int64_t retry_s, int64_t forget_s);

/* Appends f (marked TF_PICKED); the batch is full at its limit. 0 or -ENOMEM. */
int sweep_plan_push(struct sweep_plan *p, struct table_file *f, uint32_t zone,
		    enum policy_reason why);
void sweep_plan_free(struct sweep_plan *p);
void sweep_tally_add(struct sweep_tally *t, enum policy_block b, uint64_t bytes);

/* Why f cannot go now (POLICY_FREE: it can). */
enum policy_block sweep_plan_blocked(struct sweep_view *v, size_t zone,
				     const struct table_file *f);

/* Files of zone due by max_age (oldest mtime first), then max_idle (least recently used). */
void sweep_plan_due(struct sweep_view *v, size_t zone, struct sweep_plan *p);

/*
 * Oldest first until ex (what the zone holds beyond max_size and max_files) is
 * covered; files chosen already count as covering it. Blocked files are tallied
 * in t. Returns the bytes planned or chosen already.
 */
uint64_t sweep_plan_quota(struct sweep_view *v, size_t zone, struct policy_excess ex,
			  struct sweep_plan *p, struct sweep_tally *t);

/*
 * need bytes (on disk) from the zones on filesystem dev: lowest priority first
 * and, within a priority, oldest first across its zones. *planned counts what
 * is on its way already and grows by what is planned; a file whose blocks stay
 * with other names frees nothing and is passed over.
 */
void sweep_plan_disk(struct sweep_view *v, uint64_t dev, uint64_t need, struct sweep_plan *p,
		     uint64_t *planned, struct sweep_tally *t);

/* Is zone's root on the filesystem dev? */
bool sweep_plan_zone_on(struct table *t, size_t zone, uint64_t dev);

#endif
