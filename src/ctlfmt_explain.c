#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ctlfmt.h"
#include "units.h"

/* sweepctl explain: the verdict on one path, a line a fact. */

static const char *str(json_object *r, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(r, key, &v) && json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v)
		       : NULL;
}

static bool num(json_object *r, const char *key, int64_t *out)
{
	json_object *v;

	if (!json_object_object_get_ex(r, key, &v) || !json_object_is_type(v, json_type_int))
		return false;
	*out = json_object_get_int64(v);
	return true;
}

static void when(int64_t t, FILE *out)
{
	time_t tt = (time_t)t, now = time(NULL);
	struct tm tm;
	char buf[64], age[32];

	if (gmtime_r(&tt, &tm) && strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M UTC", &tm))
		fputs(buf, out);
	units_format_age(tt > now ? tt - now : now - tt, age, sizeof(age));
	fprintf(out, " (%s %s)", tt > now ? "in" : age, tt > now ? age : "ago");
}

void ctlfmt_explain(json_object *r, FILE *out)
{
	const char *zone = str(r, "zone"), *rule = str(r, "rule");
	json_object *ws;
	int64_t t, size;
	char a[32];

	ctlfmt_path(str(r, "path") ? str(r, "path") : "", out);
	fputc('\n', out);
	if (zone)
		fprintf(out, "  zone      %s: %s\n", zone, rule ? rule : "");
	fprintf(out, "  state     %s: ", str(r, "state") ? str(r, "state") : "?");
	ctlfmt_path(str(r, "why") ? str(r, "why") : "", out);
	fputc('\n', out);
	if (num(r, "due_at", &t)) {
		fputs("  due at    ", out);
		when(t, out);
		fputc('\n', out);
	}
	if (json_object_object_get_ex(r, "writers", &ws) && json_object_array_length(ws)) {
		fputs("  writers  ", out);
		for (size_t i = 0; i < json_object_array_length(ws); i++) {
			json_object *w = json_object_array_get_idx(ws, i);
			int64_t pid = 0;

			num(w, "pid", &pid);
			fprintf(out, "%s pid %lld (", i ? "," : "", (long long)pid);
			ctlfmt_path(str(w, "comm") ? str(w, "comm") : "?", out);
			fputc(')', out);
		}
		fputc('\n', out);
	}
	if (json_object_object_get_ex(r, "next_rotation_at", NULL)) {
		fputs("  rotation ", out);
		if (num(r, "next_rotation_at", &t)) {
			fputs(" next at ", out);
			when(t, out);
		} else {
			fputs(" no time trigger", out);
		}
		if (num(r, "size_trigger", &size))
			fprintf(out, "; at size %s", units_format_size((uint64_t)size, a, sizeof(a)));
		fputc('\n', out);
	}
}
