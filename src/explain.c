#include "explain.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "pathenc.h"
#include "units.h"

#define WHY_MAX 1024

static void append(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void append(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;

	if (used + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

static const char *size_text(int64_t v, char *buf)
{
	return units_format_size((uint64_t)v, buf, 32);
}

static const char *age_text(int64_t v, char *buf)
{
	return units_format_age(v, buf, 32);
}

/* "2026-12-02 10:00 UTC" */
static const char *when_text(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M UTC", &tm))
		snprintf(buf, len, "%lld", (long long)t);
	return buf;
}

/* What applies in the zone, as the config says it. */
static void rule_text(const struct explain_facts *f, char *buf, size_t len)
{
	const struct zone_config *z = f->z;
	char a[32];

	buf[0] = '\0';
	if (f->is_log || f->is_copy) {
		const struct rotate_config *r = f->group;
		static const char *const methods[] = { "auto", "collapse", "copytruncate", "rename" };

		if (z->n_rotates > 1) {
			append(buf, len, "rotate group %zu of %zu", f->group_index + 1, z->n_rotates);
			for (size_t i = 0; i < r->include.n; i++)
				append(buf, len, "%s%s", i ? ", " : " (include ", r->include.patterns[i]);
			append(buf, len, "%s: ", r->include.n ? ")" : " (every log)");
		}
		append(buf, len, "rotate");
		if (r->size != CONFIG_UNSET)
			append(buf, len, " at size %s", size_text(r->size, a));
		if (r->every != CONFIG_UNSET)
			append(buf, len, "%s every %s", r->size != CONFIG_UNSET ? " or" : "",
			       age_text(r->every, a));
		append(buf, len, ", method %s", methods[r->method]);
		if (r->keep != CONFIG_UNSET)
			append(buf, len, ", keep %lld", (long long)r->keep);
		if (r->max_age != CONFIG_UNSET)
			append(buf, len, ", copies kept %s", age_text(r->max_age, a));
		return;
	}
	if (z->max_age != CONFIG_UNSET)
		append(buf, len, "max_age %s, ", age_text(z->max_age, a));
	if (z->max_idle != CONFIG_UNSET)
		append(buf, len, "max_idle %s, ", age_text(z->max_idle, a));
	if (z->max_size != CONFIG_UNSET)
		append(buf, len, "max_size %s, ", size_text(z->max_size, a));
	if (z->max_files != CONFIG_UNSET)
		append(buf, len, "max_files %lld, ", (long long)z->max_files);
	if (z->min_age != CONFIG_UNSET)
		append(buf, len, "min_age %s, ", age_text(z->min_age, a));
	if (!buf[0])
		append(buf, len, "no limit, ");
	append(buf, len, "action %s", z->action == ACTION_ARCHIVE ? "archive" : "delete");
}

static void writers_text(const struct explain_facts *f, char *buf, size_t len)
{
	for (size_t i = 0; i < f->n_writers && i < 3; i++)
		append(buf, len, "%spid %d (%s)", i ? ", " : "", f->writers[i].pid,
		       f->writers[i].comm);
	if (f->n_writers > 3)
		append(buf, len, " and %zu more", f->n_writers - 3);
	if (!f->n_writers)
		append(buf, len, "a process sweepd cannot see%s",
		       f->hidden ? " (some processes' descriptors could not be read)" : "");
}

/* Why it may not be touched now, or nothing when it may. */
static enum policy_block blocked_text(const struct explain_facts *f, char *buf, size_t len)
{
	enum policy_block b = policy_block(f->z, f->writing, f->held_until > 0, f->last_write, f->now);
	char t[64], a[32], m[32];

	if (b == POLICY_WRITING) {
		append(buf, len, "it is open for writing by ");
		writers_text(f, buf, len);
		append(buf, len, ", and sweepd never touches a file still being written; it goes "
				 "once closed");
	} else if (b == POLICY_TOO_YOUNG) {
		append(buf, len, "it was written %s ago, within min_age %s; it may be touched from %s",
		       age_text(f->now - f->last_write, a), age_text(f->z->min_age, m),
		       when_text(policy_touchable_at(f->z, f->last_write), t, sizeof(t)));
	} else if (b == POLICY_HELD) {
		append(buf, len, "an operator restored it: it is left alone until %s",
		       when_text(f->held_until, t, sizeof(t)));
	}
	return b;
}

static void log_verdict(const struct explain_facts *f, json_object *o, char *why, size_t len,
			const char **state, int64_t *due)
{
	const struct rotate_config *r = f->group;
	json_object *inc = json_object_new_array();
	int64_t next = r->every != CONFIG_UNSET && f->last_rotation ? f->last_rotation + r->every
								       : POLICY_NEVER;
	bool by_size = r->size != CONFIG_UNSET && f->size >= (uint64_t)r->size;
	char a[32], b[32], t[64];

	for (size_t i = 0; i < r->include.n; i++)
		json_object_array_add(inc, pathenc_json(r->include.patterns[i]));
	json_object_object_add(o, "group", json_object_new_int64((int64_t)f->group_index + 1));
	json_object_object_add(o, "group_include", r->include.n ? inc : NULL);
	if (!r->include.n)
		json_object_put(inc);
	json_object_object_add(o, "next_rotation_at",
			       next == POLICY_NEVER ? NULL : json_object_new_int64(next));
	json_object_object_add(o, "size_trigger",
			       r->size == CONFIG_UNSET ? NULL : json_object_new_int64(r->size));
	*due = next;
	if (!f->size) {
		*state = "kept";
		append(why, len, "an empty log is never rotated");
	} else if (f->rotate_blocked) {
		*state = "blocked";
		append(why, len, "its rotation is blocked: %s", f->rotate_blocked);
	} else if (by_size || next <= f->now) {
		*state = "due";
		*due = by_size ? f->now : next;
		append(why, len, "it is due: %s", by_size ? "it has reached its size trigger" :
							   "its 'every' has passed");
		append(why, len, "%s", f->paused ? ", but sweepd is paused" :
				       f->dry_run ? " (a dry run: reported, never done)" :
						    "; it is rotated as soon as its job runs");
	} else {
		*state = "kept";
		append(why, len, "a live log, %s", size_text((int64_t)f->size, a));
		if (r->size != CONFIG_UNSET)
			append(why, len, ", rotated when it reaches %s", size_text(r->size, b));
		if (next != POLICY_NEVER)
			append(why, len, "%s at %s", r->size != CONFIG_UNSET ? " or" : ", rotated",
			       when_text(next, t, sizeof(t)));
	}
}

static void copy_verdict(const struct explain_facts *f, char *why, size_t len, const char **state)
{
	const struct rotate_config *r = f->group;
	char a[32];

	*state = "kept";
	append(why, len, "a rotated copy of a log");
	if (r->keep != CONFIG_UNSET)
		append(why, len, ": removed once %lld newer copies exist", (long long)r->keep);
	if (r->max_age != CONFIG_UNSET)
		append(why, len, "%s older than %s", r->keep != CONFIG_UNSET ? ", or once" :
						      ": removed once", age_text(r->max_age, a));
	if (r->keep == CONFIG_UNSET && r->max_age == CONFIG_UNSET)
		append(why, len, ", kept for good (the zone's rotate has neither keep nor max_age)");
}

static void quota_verdict(const struct explain_facts *f, char *why, size_t len,
			  const char **state, int64_t *due)
{
	int64_t age = policy_age_due(f->z, f->mtime), idle = policy_idle_due(f->z, f->last_use);
	char blocked[WHY_MAX] = "", t[64], a[32];
	enum policy_block b = blocked_text(f, blocked, sizeof(blocked));
	bool by_age = age <= f->now, by_idle = idle <= f->now;

	*due = age < idle ? age : idle;
	if (by_age || by_idle || f->picked_by_size) {
		*state = b == POLICY_FREE ? "due" : "blocked";
		if (f->picked_by_size && !by_age && !by_idle)
			*due = f->now;
		append(why, len, "%s", by_age ? "it is older than max_age" :
				       by_idle ? "it has not been used within max_idle" :
				       f->excess.bytes ? "the zone is over max_size, and files go oldest first: this one among them" :
							 "the zone holds more than max_files, and files go oldest first: this one among them");
		if (b != POLICY_FREE)
			append(why, len, "; but %s", blocked);
		else
			append(why, len, "%s", f->paused ? "; but sweepd is paused" :
					       f->dry_run ? " (a dry run: reported, never done)" :
							    "; it goes at the next pass (sweepctl sweep: now)");
		return;
	}
	*state = "kept";
	if (*due != POLICY_NEVER)
		append(why, len, "it falls due by %s at %s", age <= idle ? "max_age" : "max_idle",
		       when_text(*due, t, sizeof(t)));
	else
		append(why, len, "no rule of the zone removes it by its age");
	if (f->excess.bytes || f->excess.files)
		append(why, len, "; the zone is over its limits, but older files go first");
	else if (f->z->max_size != CONFIG_UNSET || f->z->max_files != CONFIG_UNSET)
		append(why, len, "; the zone is within max_size and max_files");
	if (f->disk_pressure)
		append(why, len, "; its disk is above the high mark, and zones give up what their "
				 "rules allow by priority");
	if (b != POLICY_FREE)
		append(why, len, "; and %s", blocked);
	(void)a;
}

void explain_verdict(const struct explain_facts *f, json_object *o)
{
	json_object *ws;
	char why[WHY_MAX] = "", rule[256];
	const char *state;
	int64_t due = POLICY_NEVER;

	json_object_object_add(o, "path", pathenc_json(f->path));
	if (!f->z) {
		json_object_object_add(o, "zone", NULL);
		json_object_object_add(o, "rule", NULL);
		json_object_object_add(o, "state", json_object_new_string("outside"));
		snprintf(why, sizeof(why), "%s", f->outside ? f->outside :
					  "it lies in no zone: sweepd never touches it "
					  "(sweepctl status lists the zones)");
		json_object_object_add(o, "why", pathenc_json(why));
		json_object_object_add(o, "due_at", NULL);
		json_object_object_add(o, "writers", json_object_new_array());
		return;
	}
	json_object_object_add(o, "zone", json_object_new_string(f->z->name));
	rule_text(f, rule, sizeof(rule));
	if (f->is_copy) {
		copy_verdict(f, why, sizeof(why), &state);
	} else if (!f->matched) {
		state = "kept";
		snprintf(why, sizeof(why), "the zone's %s leaves it out: sweepd neither counts nor "
					   "touches it",
			 f->z->include.n ? "include or exclude" : "exclude");
	} else if (!f->tracked) {
		state = "kept";
		snprintf(why, sizeof(why), "sweepd has not taken it in yet (a settle does), or it is "
					   "not a regular file");
	} else if (f->is_log) {
		log_verdict(f, o, why, sizeof(why), &state, &due);
	} else {
		quota_verdict(f, why, sizeof(why), &state, &due);
	}
	json_object_object_add(o, "rule", json_object_new_string(rule));
	json_object_object_add(o, "state", json_object_new_string(state));
	json_object_object_add(o, "why", pathenc_json(why));
	json_object_object_add(o, "due_at", due == POLICY_NEVER ? NULL : json_object_new_int64(due));
	ws = json_object_new_array();
	for (size_t i = 0; ws && i < f->n_writers; i++) {
		json_object *w = json_object_new_object();

		json_object_object_add(w, "pid", json_object_new_int(f->writers[i].pid));
		json_object_object_add(w, "comm", pathenc_json(f->writers[i].comm));
		json_object_array_add(ws, w);
	}
	json_object_object_add(o, "writers", ws);
}
