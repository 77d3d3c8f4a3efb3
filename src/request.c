#include "request.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pathenc.h"

static const struct {
	const char *name;
	bool admin;
} commands[] = {
	[REQ_STATUS] = {"status", false},   [REQ_SETTLE] = {"settle", false},
	[REQ_TOP] = {"top", false},	    [REQ_SWEEP] = {"sweep", true},
	[REQ_ARCHIVE] = {"archive", false}, [REQ_RESTORE] = {"restore", true},
	[REQ_PURGE] = {"purge", true},	    [REQ_ROTATE] = {"rotate", true},
	[REQ_RESERVE] = {"reserve", true},  [REQ_RELOAD] = {"reload", true},
	[REQ_PAUSE] = {"pause", true},	    [REQ_RESUME] = {"resume", true},
	[REQ_METRICS] = {"metrics", false}, [REQ_EXPLAIN] = {"explain", false},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

bool request_is_admin(enum request_cmd cmd)
{
	return (size_t)cmd < N_COMMANDS && commands[cmd].admin;
}

/* A sweep that only reports (dry_run) changes nothing: anyone who may read may ask. */
bool request_needs_admin(const struct request *req)
{
	if (req->cmd == REQ_SWEEP && req->dry_run == 1)
		return false;
	return request_is_admin(req->cmd);
}

int request_cmd_find(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return (int)i;
	return -1;
}

const char *request_cmd_name(enum request_cmd cmd)
{
	return (size_t)cmd < N_COMMANDS ? commands[cmd].name : "?";
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* A non-negative integer member; absent leaves *out as it is. */
static int get_count(json_object *o, const char *key, int64_t *out, char *err, size_t errlen)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0)
		return fail(err, errlen, "\"%s\" must be a non-negative integer", key);
	*out = json_object_get_int64(v);
	return 0;
}

static int get_str(json_object *o, const char *key, char **out, bool decode, char *err,
		   size_t errlen)
{
	json_object *v;
	const char *s;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return fail(err, errlen, "\"%s\" must be a string", key);
	s = json_object_get_string(v);
	if (strlen(s) != (size_t)json_object_get_string_len(v) || !*s)
		return fail(err, errlen, "\"%s\" must be a non-empty string with no NUL", key);
	*out = decode ? pathenc_decode(s) : strdup(s);
	return *out ? 0 : fail(err, errlen, "out of memory reading \"%s\"", key);
}

static int check_keys(json_object *o, const char *const *allowed, char *err, size_t errlen)
{
	json_object_object_foreach(o, key, val)
	{
		bool ok = !strcmp(key, "cmd");
		(void)val;
		for (const char *const *a = allowed; *a && !ok; a++)
			ok = !strcmp(*a, key);
		if (!ok)
			return fail(err, errlen, "unknown field \"%s\" for this command", key);
	}
	return 0;
}

static int parse_fields(json_object *o, struct request *req, char *err, size_t errlen)
{
	static const char *const none[] = {NULL};
	static const char *const top[] = {"zone", "n", "by", NULL};
	static const char *const sweep[] = {"zone", "dry_run", NULL};
	static const char *const zone[] = {"zone", NULL};
	static const char *const restore[] = {"id", "path", "to", NULL};
	static const char *const purge[] = {"older_than", NULL};
	static const char *const reserve[] = {"zone", "bytes", "timeout", NULL};
	static const char *const path[] = {"path", NULL};
	const char *const *allowed = none;
	json_object *v;

	switch (req->cmd) {
	case REQ_TOP:
		allowed = top;
		break;
	case REQ_SWEEP:
		allowed = sweep;
		break;
	case REQ_ARCHIVE:
	case REQ_ROTATE:
		allowed = zone;
		break;
	case REQ_RESTORE:
		allowed = restore;
		break;
	case REQ_PURGE:
		allowed = purge;
		break;
	case REQ_RESERVE:
		allowed = reserve;
		break;
	case REQ_EXPLAIN:
		allowed = path;
		break;
	default:
		break;
	}
	if (check_keys(o, allowed, err, errlen) < 0 ||
	    get_str(o, "zone", &req->zone, false, err, errlen) < 0 ||
	    get_count(o, "n", &req->n, err, errlen) < 0 ||
	    get_count(o, "id", &req->id, err, errlen) < 0 ||
	    get_str(o, "path", &req->path, true, err, errlen) < 0 ||
	    get_str(o, "to", &req->to, true, err, errlen) < 0 ||
	    get_count(o, "older_than", &req->older_than, err, errlen) < 0 ||
	    get_count(o, "bytes", &req->bytes, err, errlen) < 0 ||
	    get_count(o, "timeout", &req->timeout, err, errlen) < 0)
		return -EINVAL;
	if (json_object_object_get_ex(o, "dry_run", &v)) {
		if (!json_object_is_type(v, json_type_boolean))
			return fail(err, errlen, "\"%s\" must be true or false", "dry_run");
		req->dry_run = json_object_get_boolean(v);
	}
	if (json_object_object_get_ex(o, "by", &v)) {
		const char *by = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
		if (strlen(by) != (size_t)json_object_get_string_len(v))
			by = "";
		if (!strcmp(by, "size"))
			req->by = REQ_BY_SIZE;
		else if (!strcmp(by, "age"))
			req->by = REQ_BY_AGE;
		else
			return fail(err, errlen, "\"by\" must be \"size\" or \"age\"");
	}
	if (req->cmd == REQ_TOP) {
		if (!req->zone)
			return fail(err, errlen, "\"top\" needs a \"zone\"");
		if (req->n < 1 || req->n > REQUEST_MAX_TOP)
			return fail(err, errlen, "\"n\" must be from 1 to 1000");
	}
	if (req->cmd == REQ_RESTORE && (req->id < 0) == !req->path)
		return fail(err, errlen, "\"restore\" needs either an \"id\" or a \"path\"");
	if (req->cmd == REQ_EXPLAIN && !req->path)
		return fail(err, errlen, "\"explain\" needs a \"path\"");
	if (req->cmd == REQ_RESERVE && (!req->zone || req->bytes < 0))
		return fail(err, errlen, "\"reserve\" needs a \"zone\" and \"bytes\"");
	return 0;
}

/* One JSON string literal (quotes included) decoded by json-c, as its parser names keys. */
static json_object *decode_key(const char *lit, size_t len)
{
	struct json_tokener *tok = json_tokener_new_ex(1);
	json_object *k;

	if (!tok)
		return NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	k = json_tokener_parse_ex(tok, lit, (int)len);
	if (k && (!json_object_is_type(k, json_type_string) ||
		  json_tokener_get_parse_end(tok) != len)) {
		json_object_put(k);
		k = NULL;
	}
	json_tokener_free(tok);
	return k;
}

/*
 * json-c keeps the last of two equal keys without a word, so {"cmd":"status",
 * "cmd":"sweep"} would run a sweep. Walks the top level of text (already parsed
 * as one strict JSON object, so strings and nesting are well formed), decodes each
 * key with json-c itself ("\u0063md" is "cmd") and refuses the first one seen twice.
 * Nested objects are never a valid field value, so only the top level matters.
 */
static int check_duplicates(const char *s, size_t len, char *err, size_t errlen)
{
	json_object *seen = json_object_new_object();
	bool want_key = false;
	int depth = 0, r = 0;

	if (!seen)
		return fail(err, errlen, "out of memory");
	for (size_t i = 0; i < len && r == 0; i++) {
		char c = s[i];

		if (c == '"') {
			size_t j = i + 1;
			while (j < len && s[j] != '"')
				j += s[j] == '\\' ? 2 : 1;
			if (j >= len)
				break;
			if (depth == 1 && want_key) {
				json_object *k = decode_key(s + i, j + 1 - i);
				const char *name = k ? json_object_get_string(k) : NULL;
				if (!name)
					r = fail(err, errlen, "out of memory");
				else if (json_object_object_get_ex(seen, name, NULL))
					r = fail(err, errlen,
						 "request has the field \"%.64s\" twice: give each field once",
						 name);
				else if (json_object_object_add(seen, name, NULL) < 0)
					r = fail(err, errlen, "out of memory");
				json_object_put(k);
				want_key = false;
			}
			i = j;
		} else if (c == '{' || c == '[') {
			want_key = ++depth == 1;
		} else if (c == '}' || c == ']') {
			depth--;
		} else if (c == ',' && depth == 1) {
			want_key = true;
		}
	}
	json_object_put(seen);
	return r;
}

int request_parse(const char *line, size_t len, struct request *req, char *err, size_t errlen)
{
	struct json_tokener *tok;
	json_object *o, *cmd;
	const char *name;
	int r = -EINVAL;

	memset(req, 0, sizeof(*req));
	req->n = 10;
	req->dry_run = -1;
	req->id = req->older_than = req->bytes = req->timeout = -1;
	if (len > REQUEST_MAX_LINE)
		return fail(err, errlen, "request is longer than the %d bytes allowed", 65536);
	if (memchr(line, '\0', len))
		return fail(err, errlen, "request is not JSON: it holds a NUL byte");
	tok = json_tokener_new_ex(32);
	if (!tok)
		return fail(err, errlen, "out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, line, (int)len);
	if (!o || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len) {
		if (o)
			snprintf(err, errlen, "request is not one JSON object per line");
		else if (json_tokener_get_error(tok) == json_tokener_continue)
			snprintf(err, errlen, "request is not valid JSON: the line ends inside it");
		else
			snprintf(err, errlen, "request is not valid JSON: %s",
				 json_tokener_error_desc(json_tokener_get_error(tok)));
		goto out;
	}
	if (!json_object_is_type(o, json_type_object)) {
		fail(err, errlen, "request must be a JSON object like {\"cmd\":\"status\"}");
		goto out;
	}
	if (check_duplicates(line, len, err, errlen) < 0)
		goto out;
	if (!json_object_object_get_ex(o, "cmd", &cmd) || !json_object_is_type(cmd, json_type_string)) {
		fail(err, errlen, "request has no \"cmd\" string, as in {\"cmd\":\"status\"}");
		goto out;
	}
	name = json_object_get_string(cmd);
	if (strlen(name) != (size_t)json_object_get_string_len(cmd)) {
		fail(err, errlen, "\"cmd\" holds a NUL character");
		goto out;
	}
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (!strcmp(commands[i].name, name)) {
			req->cmd = (enum request_cmd)i;
			r = 0;
		}
	if (r < 0) {
		snprintf(err, errlen,
			 "unknown command \"%.64s\"; commands: status, settle, top, sweep, archive, "
			 "restore, purge, rotate, reserve, reload, pause, resume, metrics",
			 name);
		goto out;
	}
	r = parse_fields(o, req, err, errlen);
	if (r < 0)
		request_clear(req);
out:
	json_object_put(o);
	json_tokener_free(tok);
	return r;
}

void request_clear(struct request *req)
{
	free(req->zone);
	free(req->path);
	free(req->to);
	req->zone = req->path = req->to = NULL;
}
