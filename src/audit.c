#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pathenc.h"
#include "units.h"

/* The dashboard's latest actions: the last ones written, kept in memory. */
#define AUDIT_RECENT 20

struct audit {
	int fd;
	json_object *recent[AUDIT_RECENT]; /* a ring; next is where the next one goes */
	size_t next;
};

struct audit *audit_open(const char *state_dir)
{
	struct audit *a = calloc(1, sizeof(*a));
	char *path = NULL;

	if (!a || asprintf(&path, "%s/audit.log", state_dir) < 0) {
		free(a);
		return NULL;
	}
	a->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	free(path);
	if (a->fd < 0) {
		free(a);
		return NULL;
	}
	return a;
}

void audit_close(struct audit *a)
{
	if (!a)
		return;
	close(a->fd);
	for (size_t i = 0; i < AUDIT_RECENT; i++)
		json_object_put(a->recent[i]);
	free(a);
}


json_object *audit_entry(int64_t when, const char *action, const char *zone, const char *path,
			 uint64_t bytes, enum policy_reason reason, bool dry_run,
			 const char *archive_path)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "time", json_object_new_int64(when));
	json_object_object_add(o, "action", json_object_new_string(action));
	json_object_object_add(o, "zone", zone ? json_object_new_string(zone) : json_object_new_null());
	json_object_object_add(o, "path", pathenc_json(path));
	json_object_object_add(o, "bytes", json_object_new_uint64(bytes));
	json_object_object_add(o, "reason", json_object_new_string(policy_reason_name(reason)));
	json_object_object_add(o, "dry_run", json_object_new_boolean(dry_run));
	if (archive_path)
		json_object_object_add(o, "archive_path", pathenc_json(archive_path));
	return o;
}

int audit_write(struct audit *a, json_object *entry)
{
	const char *s = json_object_to_json_string_ext(entry, JSON_C_TO_STRING_PLAIN |
								   JSON_C_TO_STRING_NOSLASHESCAPE);
	char *line = NULL;
	int n, r = 0;

	if (!a)
		return -EBADF;
	/* Kept even when the write fails: it was done all the same. */
	json_object_put(a->recent[a->next]);
	a->recent[a->next] = json_object_get(entry);
	a->next = (a->next + 1) % AUDIT_RECENT;
	if (!s || (n = asprintf(&line, "%s\n", s)) < 0)
		return -ENOMEM;
	if (write(a->fd, line, (size_t)n) != n)
		r = errno ? -errno : -EIO;
	free(line);
	return r;
}

json_object *audit_recent(const struct audit *a)
{
	json_object *arr = json_object_new_array();

	for (size_t i = 1; a && arr && i <= AUDIT_RECENT; i++) {
		json_object *e = a->recent[(a->next + AUDIT_RECENT - i) % AUDIT_RECENT];

		if (e)
			json_object_array_add(arr, json_object_get(e));
	}
	return arr;
}

static const char *field(json_object *entry, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(entry, key, &v) && json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v)
		       : NULL;
}

/*
 * The operator's view of an action, one line of the daemon's log: what was
 * done to which path, how big, why, and where the other copy is. The line is
 * escaped by log_msg, so the names are the bytes on disk.
 */
static void say(json_object *entry)
{
	const char *action = field(entry, "action"), *zone = field(entry, "zone"),
		   *reason = field(entry, "reason"), *apath = field(entry, "archive_path");
	char *path = pathenc_decode(field(entry, "path") ? field(entry, "path") : "");
	char *other = apath ? pathenc_decode(apath) : NULL, size[32];
	json_object *v;
	size_t n = action ? strlen(action) : 0;
	bool from = action && (!strcmp(action, "purge") || !strcmp(action, "restore"));

	if (!action || !path || (apath && !other)) {
		free(path);
		free(other);
		return;
	}
	json_object_object_get_ex(entry, "bytes", &v);
	units_format_size(json_object_get_uint64(v), size, sizeof(size));
	log_info("zone \"%s\": %s%s %s (%s, %s)%s%s", zone ? zone : "-", action,
		 n && action[n - 1] == 'e' ? "d" : "ed", path, size, reason ? reason : "-",
		 other ? (from ? " from " : " into ") : "", other ? other : "");
	free(path);
	free(other);
}

void audit_report(struct audit *a, json_object *actions, json_object *entry)
{
	json_object *dry;

	if (!entry)
		return;
	audit_write(a, entry);
	if (!json_object_object_get_ex(entry, "dry_run", &dry) || !json_object_get_boolean(dry))
		say(entry);
	if (actions)
		json_object_array_add(actions, entry);
	else
		json_object_put(entry);
}
