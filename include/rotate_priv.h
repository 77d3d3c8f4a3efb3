#ifndef SWEEPD_ROTATE_PRIV_H
#define SWEEPD_ROTATE_PRIV_H

/*
 * The rotator's own state, shared by its files alone (rotate.c: triggers,
 * passes, timers, reloads; rotate_state.c: what is known of each live log,
 * its every clock on disk, blocked logs and their alarm; rotate_result.c: cuts,
 * compressions and expiries out to the mover, and their results taken in;
 * rotate_writer.c: the writer told after a cut). No other module includes it.
 */
#include <ev.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "engine.h"
#include "policy.h"
#include "rotate.h"
#include "rotate_job.h"
#include "u64map.h"

struct config;
struct rotate_config;
struct rotate_job;
struct rotate_look;
struct sweep_run;
struct table_file;
struct zone_config;

/* A failed rotation is tried again automatically after this long (the command: at once). */
#define RETRY_S 60

/*
 * A log not cut in place because a writer lacks O_APPEND (or its flags
 * cannot be read): the rotate_blocked alarm, from its start to its end.
 */
struct blocked {
	int64_t since;
	bool linked; /* by its other names (hard links), not by a writer */
	int pid; /* 0: a writer sweepd cannot see */
	char comm[16];
	char *path;
	char *summary;
};

/* What is known of one live log. */
struct live {
	uint64_t ino;
	uint32_t zone;
	int64_t last;	   /* its last rotation, or when it was first seen */
	int64_t failed_at; /* its last failure */
	uint64_t floor;	   /* keep_tail_lines: its size after the last cut */
	/* Found not due by its job at this size: not queued again until it changes. */
	uint64_t idle_size, idle_blocks;
	bool reported;	   /* a dry daemon has reported it */
	struct blocked *blocked;
	struct blocked *pre_failed; /* its last prerotate failed: the prerotate_failed alarm */
};

/*
 * A copy moved aside by "rename", compressed once its writer has closed it.
 * Its job asks whether the writer still has it; when it does, the copy is
 * held: tried again once a file has been closed after writing since that job
 * was queued (the watch counts each close; the writer's is one, and the job's
 * own read-only opens never are; an overflow counts too), at housekeeping, or
 * at the rotate command.
 */
struct pending {
	uint32_t zone;
	uint32_t group; /* its log's rotation group in the zone */
	char *dir; /* relative to the zone root */
	char *name;
	uint64_t dev, ino;
	uint64_t size;	 /* as last seen: what its job shows until it has looked */
	bool held;	 /* its writer had it at its last job */
	uint64_t closes; /* rotate_closes_seen() when its last job was queued */
};

/*
 * A log not handed to the logs lane because a job is on it already (an
 * archive or delete in another lane, or a cut of ours): looked at again once
 * the mover says the file is free. An automatic one makes a pass then; one
 * asked for by the rotate command (run set, held) is cut then if still there,
 * and the request answers after it.
 */
struct wait {
	uint64_t dev, ino;
	char *zone; /* by name: a reload may move it */
	char *rel;  /* beneath the zone's root */
	struct sweep_run *run;
	json_object *errors;
	struct wait *next;
};

/* A postrotate command running. */
struct kid {
	ev_child w;
	struct kid *next;
	char *what;
};

/* A prerotate command running: the log's cut waits for its exit (rotate_pre.c). */
struct pre;

struct rotate {
	struct engine_parts eng; /* the daemon's parts it works with */
	struct u64map *lives;
	/*
	 * state_dir/rotations.json: each log's last rotation (or first sight) by
	 * "zone:inode", so that every's clock survives a restart even for a log
	 * that keeps no copy. Saved after a pass that changed it.
	 */
	char *saved_path;
	json_object *saved;
	bool dirty;
	struct pending *pend;
	size_t n_pend, cap_pend;
	struct kid *kids;
	struct pre *pres; /* at most ROTATE_PRE_MAX a zone */
	size_t n_pres;
	struct pre *pre_queue; /* the rotate command's logs that wait for a slot, in order */
	ev_timer every;
	ev_timer soon; /* a pass at the next loop turn: many frees or exits, one pass */
	ev_timer tidy; /* the every timer armed and rotations.json saved, at the next turn */
	struct u64map *auto_waits; /* the waits of passes (no run), by rotate_wait_key */
	bool pre_starved; /* a log waited for a free prerotate slot: a pass when one ends */
	bool busy;
	size_t n_blocked; /* lives with a blocked or a pre_failed */
	size_t inflight; /* jobs with the mover */
	struct wait *waits;
	struct rotate_look *look; /* the pass under way's, once one of its cuts is queued */
};

struct carrying {
	struct rotate *r;
	const struct config *old;
	struct u64map *fresh;
};

uint64_t rotate_live_key(uint32_t zone, uint64_t ino);
void rotate_free_live(uint64_t key, void *val, void *ud);
void rotate_unblock(struct rotate *r, struct live *l, const char *why);
void rotate_block(struct rotate *r, struct live *l, const struct rotate_job *j);
void rotate_add_pending(struct rotate *r, uint32_t zone, uint32_t group, const char *dir,
			const char *name, uint64_t dev, uint64_t ino, uint64_t size);
uint64_t rotate_closes_seen(const struct rotate *r);
int rotate_join(char *buf, size_t len, const char *a, const char *b);
int rotate_zone_join(char *buf, size_t len, const struct zone_config *zc, const char *rel);
int rotate_open_copy_dir(struct rotate *r, uint32_t zone, const struct rotate_config *rc,
			 const struct table_file *f, char *copy_rel);
/* The rotation group f follows in its zone (the first whose include matches); NULL: no log. */
const struct rotate_config *rotate_group_of(const struct rotate *r, uint32_t zone,
					    const struct table_file *f);
uid_t rotate_live_owner(struct rotate *r, const struct table_file *f);
void rotate_save_lasts(struct rotate *r, const struct config *cfg);
struct live *rotate_live_get(struct rotate *r, uint32_t zone, struct table_file *f);
void rotate_reopen_writer(struct rotate *r, const struct rotate_config *rc, const char *path,
			  const char *copy_path);
struct rotate_job *rotate_new_job(struct rotate *r, enum rotate_job_kind kind, uint32_t zone,
				  const struct rotate_config *rc, const struct table_file *f,
				  const char *path, const char *name);
void rotate_wait_free(struct wait *w);
int rotate_wait_for(struct rotate *r, uint32_t zone, const struct table_file *f, const char *rel,
		    struct sweep_run *run, json_object *errors);
void rotate_submit(struct rotate *r, struct rotate_job *j, struct sweep_run *run,
		   json_object *errors);
int rotate_act(struct rotate *r, uint32_t zone, struct table_file *f, enum policy_reason why,
	       struct sweep_run *run, json_object *errors);
/* The same once its prerotate has succeeded: the cut itself. */
int rotate_act_cut(struct rotate *r, uint32_t zone, struct table_file *f, enum policy_reason why,
		   struct sweep_run *run, json_object *errors);
/*
 * prerotate for f, not waited for: on a zero exit its cut is queued (as
 * rotate_act_cut); otherwise the rotation is skipped, said in the log, the
 * audit and the prerotate_failed alarm, and tried again at the next trigger
 * after RETRY_S. 0, or -errno (said) when it cannot be run.
 */
int rotate_pre_start(struct rotate *r, uint32_t zone, struct table_file *f, const char *path,
		     const char *rel, const struct rotate_config *rc, enum policy_reason why,
		     struct sweep_run *run, json_object *errors);
void rotate_pre_stop_all(struct rotate *r);
/*
 * The rotate command's log f, whose zone's prerotate slots are all taken:
 * queued, its prerotate started (and the command answered after its cut) once
 * a slot is free. 0, or -ENOMEM (said in errors).
 */
int rotate_pre_queue(struct rotate *r, uint32_t zone, const struct table_file *f, const char *rel,
		     enum policy_reason why, struct sweep_run *run, json_object *errors);
/* prerotate commands run at once in one zone; a log due beyond them waits for one to end. */
#define ROTATE_PRE_MAX 4
/* A pass at the next turn of the loop (one for all that asked in this one). */
void rotate_pass_soon(struct rotate *r);
uint64_t rotate_wait_key(uint64_t dev, uint64_t ino);
/* The every timer armed and the lasts saved at the next turn of the loop (once for a batch). */
void rotate_tidy_soon(struct rotate *r);
/* Whether a prerotate of the log (zone, ino) runs: nothing else is started on it meanwhile. */
bool rotate_pre_running(const struct rotate *r, uint32_t zone, uint64_t ino);
/*
 * Whether f waits for a prerotate: its own runs, or it needs one and its zone's
 * ROTATE_PRE_MAX run (then a pass follows the end of one).
 */
bool rotate_pre_waits(struct rotate *r, uint32_t zone, const struct rotate_config *rc,
		      const struct table_file *f);
/*
 * f of zone zi acted on outside a pass (a put-off command's log; cut: one
 * whose prerotate has succeeded), unless it is gone, empty, paused or a pass
 * is under way.
 */
void rotate_act_alone(struct rotate *r, int zi, struct table_file *f, enum policy_reason why,
		      struct sweep_run *run, json_object *errors, bool cut);
/* The prerotate_failed alarm of l ends (its prerotate succeeded, or it is gone). */
void rotate_pre_clear(struct rotate *r, struct live *l);
/* A job of the rotator's is in: its result applied (the mover's done()). */
void rotate_result_in(struct mover_job *mj, bool cancelled);
bool rotate_rotates(const struct rotate *r, size_t zone);
void rotate_arm(struct rotate *r);
void rotate_prune_lives(struct rotate *r);
void rotate_drop_pending(struct rotate *r);
void rotate_carry_blocked(uint64_t key, void *val, void *ud);

#endif
