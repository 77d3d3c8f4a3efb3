#include "commands.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "archive.h"
#include "audit.h"
#include "control.h"
#include "daemon.h"
#include "log.h"
#include "mover.h"
#include "reply.h"
#include "reply_status.h"
#include "reserve.h"
#include "restore_job.h"
#include "rotate.h"
#include "request.h"
#include "settle.h"
#include "sweep.h"
#include "watch.h"

/*
 * Root, the daemon's own user, or a member of admin_group. The groups are the
 * ones the kernel gave with the connection (SO_PEERGROUPS), never read from
 * /proc/PID, whose pid may be another process by then.
 */
bool daemon_peer_is_admin(void *ud, const struct control_peer *peer)
{
	const struct daemon *d = ud;

	/* Over HTTP: whoever gave a configured user's password (checked by http.c). */
	if (peer->http)
		return peer->http_user != NULL;
	if (peer->uid == 0 || peer->uid == geteuid())
		return true;
	/* The group's id, looked up at start and reload: no file read per connection. */
	return d->admin_gid_known && control_peer_in_group(peer, d->admin_gid);
}

/* Who asked, for the log: "uid 1000" or "HTTP user ops". */
static const char *peer_who(const struct control_peer *peer, char *buf, size_t len)
{
	if (peer->http)
		snprintf(buf, len, "HTTP user %s", peer->http_user ? peer->http_user : "(none)");
	else
		snprintf(buf, len, "uid %u", (unsigned)peer->uid);
	return buf;
}

static char *refuse(const struct daemon *d, enum request_cmd cmd, const struct control_peer *peer)
{
	char msg[512];

	if (peer->http)
		return reply_error("this request changes things: over HTTP it needs a user of "
				   "http.basic_auth_users");
	snprintf(msg, sizeof(msg),
		 "\"%s\" changes things: it needs root, the daemon's own user%s%s%s; you are uid %u%s",
		 request_cmd_name(cmd), d->cfg->admin_group ? " or a member of group \"" : "",
		 d->cfg->admin_group ? d->cfg->admin_group : "", d->cfg->admin_group ? "\"" : "",
		 (unsigned)peer->uid,
		 cmd == REQ_SWEEP ? " (anyone may ask what it would do: sweep with dry_run)" : "");
	return reply_error(msg);
}

static char *unknown_zone(const char *name)
{
	char msg[300];

	snprintf(msg, sizeof(msg), "no zone named \"%s\" (sweepctl status lists them)", name);
	return reply_error(msg);
}

/* A run whose files went to the mover: answered once they are in (the sweeper adds the
 * batches after). */
struct run_wait {
	struct answer_sink *client;
	char *(*reply)(struct sweep_run *run);
	json_object *errors; /* a rotation's: what failed (the reply's) */
};

/* A run's reply line; a rotation's carries what failed (errors, then the reply's). */
static char *run_reply(struct sweep_run *run, char *(*reply)(struct sweep_run *run),
		       json_object *errors)
{
	return reply ? reply(run) : reply_rotated(run, errors);
}

static void run_finished(struct sweep_run *run, void *ud)
{
	struct run_wait *w = ud;

	control_answer(w->client, run_reply(run, w->reply, w->errors));
	sweep_run_free(run);
	free(w);
}

/*
 * run's answer: at once, or (control_later) once the jobs it holds are in.
 * reply NULL: a rotation's, with errors.
 */
static char *run_answer(struct sweep_run *run, struct answer_sink *client,
			char *(*reply)(struct sweep_run *run), json_object *errors)
{
	struct run_wait *w = sweep_run_waiting(run) ? calloc(1, sizeof(*w)) : NULL;
	char *out;

	if (!w) {
		/* Nothing out (or out of memory: answered now, the jobs' results reach the audit). */
		out = run_reply(run, reply, errors);
		sweep_run_release(run); /* freed now, or by its last job */
		return out;
	}
	*w = (struct run_wait){ client, reply, errors };
	run->finished = run_finished;
	run->ud = w;
	sweep_run_release(run);
	return control_later;
}

/* How long a reload's answer waits for the jobs its new rules made (seconds). */
#define RELOAD_WAIT_S 5.0

/* How many actions a reader's dry run lists; the rest are counted (unlisted). */
#define SWEEP_READER_LIST 1000

/* An admin's sweep, or anyone's dry run (answered, but not written to the audit log). */
static char *do_sweep(struct daemon *d, const struct request *req,
		      const struct control_peer *peer, bool admin)
{
	struct sweep_run *run = sweep_run_new();
	char *out;

	if (!run)
		return reply_error("out of memory");
	run->dry = req->dry_run == 1 || d->dry_run;
	run->manual = true;
	run->unaudited = !admin;
	/*
	 * Anyone may ask; what it costs the loop is bounded: the plan is one
	 * pass over the table, and only its first actions are written out.
	 */
	run->list_max = admin ? 0 : SWEEP_READER_LIST;
	if (req->zone && (run->zone = config_zone_index(d->cfg, req->zone)) < 0)
		out = unknown_zone(req->zone);
	else if (d->paused && !run->dry)
		out = reply_paused_dry();
	else
		out = NULL;
	if (out) {
		sweep_run_free(run);
		return out;
	}
	watch_drain(d->watch);
	run->actions = json_object_new_array();
	if (!run->dry)
		run->failed = json_object_new_array();
	sweep_all(d->sweep, run);
	return run_answer(run, peer->client, reply_actions, NULL);
}

static char *do_rotate(struct daemon *d, const struct request *req,
		       const struct control_peer *peer)
{
	struct sweep_run *run;
	json_object *errors;
	char msg[300];
	int zone = -1;

	if (req->zone) {
		zone = config_zone_index(d->cfg, req->zone);
		if (zone < 0)
			return unknown_zone(req->zone);
		if (!d->cfg->zones[zone].n_rotates) {
			snprintf(msg, sizeof(msg), "zone \"%s\" has no rotate group: nothing to rotate",
				 req->zone);
			return reply_error(msg);
		}
	} else {
		bool any = false;
		for (size_t i = 0; i < d->cfg->n_zones; i++)
			any |= d->cfg->zones[i].n_rotates > 0;
		if (!any)
			return reply_error("no zone has a rotate group: nothing to rotate");
	}
	if (d->paused)
		return reply_paused();
	run = sweep_run_new();
	if (!run)
		return reply_error("out of memory");
	run->dry = d->dry_run;
	run->zone = zone;
	run->manual = true;
	watch_drain(d->watch);
	run->actions = json_object_new_array();
	errors = json_object_new_array();
	rotate_now(d->rotate, run->zone, run, errors);
	return run_answer(run, peer->client, NULL, errors);
}

static char *do_purge(struct daemon *d, const struct request *req,
		      const struct control_peer *peer)
{
	struct sweep_run *run;

	if (!d->archive)
		return reply_error("no archive is configured: nothing to purge");
	if (d->paused)
		return reply_paused();
	run = sweep_run_new();
	if (!run)
		return reply_error("out of memory");
	run->dry = d->dry_run;
	run->manual = true;
	run->actions = json_object_new_array();
	sweep_purge(d->sweep, req->older_than, run);
	return run_answer(run, peer->client, reply_purged, NULL);
}

/* How many directories a clean absolute path names ("/a/b": 2). */
static size_t path_depth(const char *path)
{
	size_t n = 0;

	for (const char *p = path; *p; p++)
		n += *p != '/' && (p == path || p[-1] == '/');
	return n;
}

/*
 * Where a restore may put a file, decided before anything is touched: never
 * through "..", never into the archive or state_dir, and for anyone but root
 * only inside a zone, reached beneath the zone's root. 0 with dest (its base
 * open), or -1 with msg.
 */
static int restore_dest(struct daemon *d, const char *target, const struct control_peer *peer,
			char *clean, size_t clean_len, struct archive_dest *dest, char *msg,
			size_t msglen)
{
	const char *archive = archive_path(d->archive);
	char *state = realpath(d->cfg->state_dir, NULL), who[300];
	int r = config_path_clean(target, clean, clean_len), zone;
	bool in_state;

	if (r == -EINVAL) {
		snprintf(msg, msglen,
			 "restore: \"to\" must be an absolute path, not \"%s\" (sweepctl makes a "
			 "relative one absolute against its working directory)",
			 target);
	} else if (r == -EACCES) {
		snprintf(msg, msglen,
			 "restore to %s refused: a \"..\" component is never followed; give the "
			 "path without it",
			 target);
	} else if (r < 0 || !strcmp(clean, "/")) {
		snprintf(msg, msglen, "restore to %s: %s", target,
			 r < 0 ? "the path is too long" : "give the path of a file, not /");
		r = -1;
	}
	in_state = r == 0 && (config_path_within(clean, d->cfg->state_dir) ||
			      (state && config_path_within(clean, state)));
	free(state);
	if (r < 0)
		return -1;
	if (config_path_within(clean, archive) || config_path_within(clean, d->cfg->archive_path) ||
	    in_state) {
		snprintf(msg, msglen,
			 "restore to %s refused: it lies inside %s %s, which belongs to sweepd; "
			 "restore into a zone",
			 clean, in_state ? "state_dir" : "the archive",
			 in_state ? d->cfg->state_dir : archive);
		return -1;
	}
	zone = config_zone_holding(d->cfg, clean);
	if (peer->uid == 0 && !peer->http) {
		/* From /, through any mount; the zone's root and those above it as they are. */
		*dest = (struct archive_dest){ open("/", O_PATH | O_DIRECTORY | O_CLOEXEC), "",
					       clean + 1, false,
					       zone < 0 ? 0 : path_depth(d->cfg->zones[zone].path) };
		if (dest->base < 0)
			snprintf(msg, msglen, "cannot restore to %s: cannot open /: %s", clean,
				 strerror(errno));
		return dest->base < 0 ? -1 : 0;
	}
	if (zone < 0) {
		snprintf(msg, msglen,
			 "restore to %s refused: you are %s, and only root may restore outside "
			 "the zones (root over the socket: an HTTP user is not root); give a path "
			 "inside a zone (sweepctl status lists them)",
			 clean, peer_who(peer, who, sizeof(who)));
		return -1;
	}
	*dest = (struct archive_dest){ watch_open_beneath(d->watch, (size_t)zone, "", O_PATH),
				       d->cfg->zones[zone].path,
				       clean + strlen(d->cfg->zones[zone].path) + 1, true };
	if (dest->base < 0)
		snprintf(msg, msglen,
			 "cannot restore to %s: zone \"%s\" (%s) cannot be opened: %s; %s, then "
			 "restore again",
			 clean, d->cfg->zones[zone].name, d->cfg->zones[zone].path,
			 strerror(-dest->base),
			 dest->base == -ENOENT
				 ? "make the zone's directory again (sweepd takes it back up), or "
				   "give \"to\" a path in another zone"
				 : "make the zone's directory one sweepd can open (sweepctl status "
				   "shows the zone's state)");
	return dest->base < 0 ? -1 : 0;
}

static char *do_restore(struct daemon *d, const struct request *req,
			const struct control_peer *peer)
{
	struct archive_entry *e = NULL;
	struct archive_dest dest;
	char msg[3 * PATH_MAX], clean[PATH_MAX];

	if (!d->archive)
		return reply_error("no archive is configured: nothing to restore");
	if (d->dry_run)
		return reply_error("sweepd runs with --dry-run: it moves nothing, restores included");
	if (req->id >= 0)
		e = archive_find(d->archive, (uint64_t)req->id);
	else if (req->path)
		e = archive_find_path(d->archive, req->path);
	if (!e && req->id >= 0) {
		snprintf(msg, sizeof(msg),
			 "no archive entry has id %lld: it was restored or purged already, or never "
			 "was (sweepctl archive lists what is there)",
			 (long long)req->id);
		return reply_error(msg);
	}
	if (!e) {
		snprintf(msg, sizeof(msg),
			 "nothing in the archive was at %s: it was restored or purged already, or "
			 "never archived (sweepctl archive lists what is there)",
			 req->path);
		return reply_error(msg);
	}
	if (!req->to && !*e->path) {
		snprintf(msg, sizeof(msg),
			 "entry %llu's zone is no longer configured: give \"to\" a path to restore "
			 "it at",
			 (unsigned long long)e->id);
		return reply_error(msg);
	}
	if (e->busy) {
		snprintf(msg, sizeof(msg),
			 "entry %llu is being restored or purged right now (sweepctl status shows "
			 "the job)",
			 (unsigned long long)e->id);
		return reply_error(msg);
	}
	if (restore_dest(d, req->to ? req->to : e->path, peer, clean, sizeof(clean), &dest, msg,
			 sizeof(msg)) < 0)
		return reply_error(msg);
	return restore_job_start(d, e, &dest, clean, peer->client);
}

/* The socket's handler: one request line in, one reply line out. */
char *daemon_request(void *ud, const char *line, size_t len,
			    const struct control_peer *peer)
{
	struct daemon *d = ud;
	struct reply_status_view view;
	struct request req;
	char err[512], *out, who[300];
	int zone;

	if (request_parse(line, len, &req, err, sizeof(err)) < 0)
		return reply_error(err);
	/* The socket's admins are known by their uid in the log already; an HTTP user is named. */
	if (peer->http && peer->http_user && request_needs_admin(&req) && req.cmd != REQ_PAUSE &&
	    req.cmd != REQ_RESUME && req.cmd != REQ_RELOAD)
		log_info("%s asked by HTTP user %s", request_cmd_name(req.cmd), peer->http_user);
	if (request_needs_admin(&req) && !daemon_peer_is_admin(d, peer)) {
		out = refuse(d, req.cmd, peer);
		request_clear(&req);
		return out;
	}
	switch (req.cmd) {
	case REQ_STATUS:
		daemon_status_view(d, &view);
		out = reply_status(&view);
		break;
	case REQ_SETTLE:
		out = settle_request(d->settle, peer->client);
		break;
	case REQ_TOP:
		zone = config_zone_index(d->cfg, req.zone);
		out = zone < 0 ? unknown_zone(req.zone)
			       : reply_top(d->table, &d->cfg->zones[zone], (size_t)zone, &req);
		break;
	case REQ_SWEEP:
		out = do_sweep(d, &req, peer, daemon_peer_is_admin(d, peer));
		break;
	case REQ_ARCHIVE:
		if (req.zone && config_zone_index(d->cfg, req.zone) < 0)
			out = unknown_zone(req.zone);
		else
			out = reply_archive(d->archive, req.zone);
		break;
	case REQ_RESTORE:
		out = do_restore(d, &req, peer);
		break;
	case REQ_PURGE:
		out = do_purge(d, &req, peer);
		break;
	case REQ_ROTATE:
		out = do_rotate(d, &req, peer);
		break;
	case REQ_RESERVE:
		zone = config_zone_index(d->cfg, req.zone);
		out = zone < 0 ? unknown_zone(req.zone)
			       : reserve_request(d->reserve, &req, peer->client, zone);
		break;
	case REQ_EXPLAIN:
		out = daemon_explain(d, req.path);
		break;
	case REQ_METRICS:
		out = reply_metrics(daemon_metrics(d));
		break;
	case REQ_RELOAD:
		log_info("reload asked by %s", peer_who(peer, who, sizeof(who)));
		/*
		 * Answered once what the new rules made due is done, so that status
		 * then shows it; but within RELOAD_WAIT_S: a queue of long copies
		 * goes on after the answer, not before it.
		 */
		out = daemon_reload(d);
		if (out && out != control_later)
			out = settle_after_jobs(d->settle, peer->client, out, RELOAD_WAIT_S);
		break;
	case REQ_PAUSE:
	case REQ_RESUME:
		d->paused = req.cmd == REQ_PAUSE;
		mover_pause(d->mover, d->paused); /* the running jobs finish, no new one starts */
		reserve_pause(d->reserve, d->paused);
		log_info("%s by %s", d->paused ? "paused" : "resumed",
			 peer_who(peer, who, sizeof(who)));
		if (!d->paused)
			daemon_settle(d);
		daemon_notify_status(d, false);
		out = reply_ok();
		break;
	default:
		out = reply_error("unknown command");
		break;
	}
	request_clear(&req);
	return out;
}

