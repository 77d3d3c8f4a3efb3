#include "reply.h"

#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive.h"
#include "config.h"
#include "pathenc.h"
#include "request.h"
#include "sweep_run.h"
#include "table.h"

char *reply_object(json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							      JSON_C_TO_STRING_NOSLASHESCAPE);
	char *line = NULL;

	if (s && asprintf(&line, "%s\n", s) < 0)
		line = NULL;
	json_object_put(o);
	return line;
}

char *reply_error(const char *msg)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "ok", json_object_new_boolean(0));
	json_object_object_add(o, "error", pathenc_json(msg));
	return reply_object(o);
}

char *reply_metrics(char *text)
{
	json_object *o = json_object_new_object();

	if (!text)
		return reply_error("out of memory");
	json_object_object_add(o, "ok", json_object_new_boolean(1));
	json_object_object_add(o, "text", json_object_new_string(text));
	free(text);
	return reply_object(o);
}

char *reply_ok(void)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "ok", json_object_new_boolean(1));
	return reply_object(o);
}

static json_object *u64(uint64_t v)
{
	return json_object_new_uint64(v);
}

/* An absolute path for a table file, encoded for JSON. */
static json_object *file_path(const struct zone_config *zc, const struct table_file *f)
{
	char *rel = table_file_relpath_dup(f), *abs = NULL;
	json_object *s;

	if (!rel || asprintf(&abs, "%s/%s", strcmp(zc->path, "/") ? zc->path : "", rel) < 0) {
		free(rel);
		return json_object_new_null();
	}
	s = pathenc_json(abs);
	free(abs);
	free(rel);
	return s;
}

/* A run's reply: ok, dry_run, its actions and their count. */
static json_object *run_object(struct sweep_run *run, bool ok)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "ok", json_object_new_boolean(ok));
	json_object_object_add(o, "dry_run", json_object_new_boolean(run->dry));
	json_object_object_add(o, "actions", run->actions); /* the reply's now */
	run->actions = NULL;
	json_object_object_add(o, "count", u64(run->count));
	if (run->unlisted)
		json_object_object_add(o, "unlisted", u64(run->unlisted));
	return o;
}

/*
 * A sweep's reply: what was done, and, when some of it could not be, not ok,
 * with each action that failed and why (failed) and a sentence that says what
 * to do; a full archive named (archive_full), also in a dry run, where what
 * it would take stays in its zone for now.
 */
char *reply_actions(struct sweep_run *run)
{
	size_t n = run->failed ? json_object_array_length(run->failed) : 0;
	json_object *o = run_object(run, n == 0), *first;
	char msg[PATH_MAX + 1024];

	json_object_object_add(o, "freed", u64(run->freed));
	if (run->archive_full)
		json_object_object_add(o, "archive_full", pathenc_json(run->archive_full));
	if (n) {
		first = json_object_array_get_idx(run->failed, 0);
		if (run->archive_full)
			snprintf(msg, sizeof(msg), "%zu file(s) stay where they were: %s%s", n,
				 run->archive_full, n > 1 ? " (each in \"failed\")" : "");
		else {
			/* The entry's strings are encoded (pathenc): their bytes again, for msg's. */
			char *path = pathenc_decode(json_object_get_string(
				     json_object_object_get(first, "path"))),
			     *err = pathenc_decode(json_object_get_string(
				     json_object_object_get(first, "error")));

			snprintf(msg, sizeof(msg), "%zu file(s) stay where they were: %s: %s%s", n,
				 path ? path : "?", err ? err : "?",
				 n > 1 ? " (each in \"failed\")" : "");
			free(path);
			free(err);
		}
		json_object_object_add(o, "error", pathenc_json(msg));
		json_object_object_add(o, "failed", run->failed); /* the reply's now */
		run->failed = NULL;
	}
	return reply_object(o);
}

#define PAUSED "sweepd is paused: it touches nothing until \"sweepctl resume\""

char *reply_paused(void)
{
	return reply_error(PAUSED);
}

char *reply_paused_dry(void)
{
	return reply_error(PAUSED "; a dry run (\"dry_run\": true) still reports what it would do");
}

char *reply_rotated(struct sweep_run *run, json_object *errors)
{
	size_t n = json_object_array_length(errors);
	json_object *o = run_object(run, n == 0);

	if (n) {
		char msg[1024];
		snprintf(msg, sizeof(msg), "%zu file(s) could not be rotated: %s%s", n,
			 json_object_get_string(json_object_array_get_idx(errors, 0)),
			 n > 1 ? " (all in \"errors\")" : "");
		json_object_object_add(o, "error", pathenc_json(msg));
	}
	json_object_object_add(o, "errors", errors);
	return reply_object(o);
}

char *reply_purged(struct sweep_run *run)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "ok", json_object_new_boolean(1));
	json_object_object_add(o, "purged", u64(run->count));
	json_object_object_add(o, "bytes", u64(run->freed));
	json_object_object_add(o, "dry_run", json_object_new_boolean(run->dry));
	json_object_object_add(o, "actions", run->actions); /* the reply's now */
	run->actions = NULL;
	return reply_object(o);
}

char *reply_restored(const char *where)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "ok", json_object_new_boolean(1));
	json_object_object_add(o, "restored", pathenc_json(where));
	return reply_object(o);
}

char *reply_archive(struct archive *a, const char *zone)
{
	json_object *o = json_object_new_object(), *arr = json_object_new_array();
	struct archive_index *ix = a ? archive_entries(a) : NULL;
	struct archive_index *rix = a ? archive_remote_entries(a) : NULL;
	struct archive_entry *l = ix ? archive_index_next(ix, NULL) : NULL;
	struct archive_entry *r = rix ? archive_index_next(rix, NULL) : NULL;

	/* Both tiers, merged in the order they were archived. */
	while (l || r) {
		bool take_r = r && (!l || r->archived_at < l->archived_at ||
				    (r->archived_at == l->archived_at && r->id < l->id));
		struct archive_entry *e = take_r ? r : l;

		if (take_r)
			r = archive_index_next(rix, r);
		else
			l = archive_index_next(ix, l);
		if (!zone || !strcmp(zone, e->zone))
			json_object_array_add(arr, archive_index_json(e));
	}
	json_object_object_add(o, "ok", json_object_new_boolean(1));
	json_object_object_add(o, "entries", arr);
	return reply_object(o);
}

char *reply_top(struct table *t, const struct zone_config *zc, size_t zone,
		const struct request *req)
{
	struct table_file **files;
	json_object *o, *arr;
	size_t n;

	files = calloc((size_t)req->n, sizeof(*files));
	if (!files)
		return NULL;
	n = table_top(t, zone, req->by == REQ_BY_SIZE ? TABLE_BY_SIZE : TABLE_BY_AGE, files,
		      (size_t)req->n);
	o = json_object_new_object();
	arr = json_object_new_array();
	json_object_object_add(o, "ok", json_object_new_boolean(1));
	json_object_object_add(o, "zone", json_object_new_string(zc->name));
	for (size_t i = 0; i < n; i++) {
		json_object *f = json_object_new_object();
		json_object_object_add(f, "path", file_path(zc, files[i]));
		json_object_object_add(f, "bytes", u64(files[i]->size));
		json_object_object_add(f, "mtime", json_object_new_int64(files[i]->mtime));
		json_object_object_add(f, "atime", json_object_new_int64(files[i]->atime));
		json_object_object_add(f, "open", json_object_new_boolean(files[i]->flags & TF_WRITING));
		/* A write seen after the mtime (set back since) counts as use too. */
		json_object_object_add(f, "last_write",
				       json_object_new_int64(table_file_last_write(t, files[i])));
		json_object_array_add(arr, f);
	}
	free(files);
	json_object_object_add(o, "files", arr);
	return reply_object(o);
}
