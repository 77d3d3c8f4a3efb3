#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pathenc.h"

struct audit {
	int fd;
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
	if (!s || (n = asprintf(&line, "%s\n", s)) < 0)
		return -ENOMEM;
	if (write(a->fd, line, (size_t)n) != n)
		r = errno ? -errno : -EIO;
	free(line);
	return r;
}

void audit_report(struct audit *a, json_object *actions, json_object *entry)
{
	if (!entry)
		return;
	audit_write(a, entry);
	if (actions)
		json_object_array_add(actions, entry);
	else
		json_object_put(entry);
}
