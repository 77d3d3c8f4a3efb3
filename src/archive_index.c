#include "archive_index.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pathenc.h"
#include "u64map.h"

struct archive_index *archive_index_create(void)
{
	struct archive_index *ix = calloc(1, sizeof(*ix));

	if (ix && !(ix->by_id = u64map_create())) {
		free(ix);
		return NULL;
	}
	if (ix)
		ix->next_id = 1;
	return ix;
}

static void entry_free(struct archive_entry *e)
{
	free(e->zone);
	free(e->path);
	free(e->apath);
	free(e->sha256);
}

void archive_index_destroy(struct archive_index *ix)
{
	if (!ix)
		return;
	for (size_t i = 0; i < ix->n; i++)
		entry_free(&ix->v[i]);
	free(ix->v);
	u64map_destroy(ix->by_id);
	free(ix);
}

static int reindex(struct archive_index *ix, size_t from)
{
	for (size_t i = from; i < ix->n; i++)
		if (!ix->v[i].dead && u64map_put(ix->by_id, ix->v[i].id, (void *)(uintptr_t)(i + 1)))
			return -ENOMEM;
	return 0;
}

static bool before(const struct archive_entry *a, const struct archive_entry *b)
{
	return a->archived_at != b->archived_at ? a->archived_at < b->archived_at : a->id < b->id;
}

struct archive_entry *archive_index_add(struct archive_index *ix, const struct archive_entry *e)
{
	struct archive_entry c = *e;
	size_t at;

	if (e->id && archive_index_get(ix, e->id))
		return NULL; /* ids are unique */
	if (ix->n == ix->cap) {
		size_t cap = ix->cap ? 2 * ix->cap : 64;
		struct archive_entry *v = realloc(ix->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		ix->v = v;
		ix->cap = cap;
	}
	c.zone = strdup(e->zone ? e->zone : "");
	c.path = strdup(e->path ? e->path : "");
	c.apath = strdup(e->apath ? e->apath : "");
	c.sha256 = e->sha256 ? strdup(e->sha256) : NULL;
	c.dead = false;
	if (!c.id)
		c.id = ix->next_id;
	if (!c.zone || !c.path || !c.apath || (e->sha256 && !c.sha256)) {
		entry_free(&c);
		return NULL;
	}
	/* Appends are in time order but for a clock set back, or a rebuild: keep the order. */
	at = ix->n;
	while (at > ix->head && before(&c, &ix->v[at - 1]))
		at--;
	memmove(&ix->v[at + 1], &ix->v[at], (ix->n - at) * sizeof(*ix->v));
	ix->v[at] = c;
	ix->n++;
	if (reindex(ix, at) < 0) {
		memmove(&ix->v[at], &ix->v[at + 1], (ix->n - at - 1) * sizeof(*ix->v));
		ix->n--;
		u64map_del(ix->by_id, c.id);
		reindex(ix, at);
		entry_free(&c);
		return NULL;
	}
	if (c.id >= ix->next_id)
		ix->next_id = c.id + 1;
	ix->live++;
	ix->stored += c.stored;
	ix->bytes += c.bytes;
	return &ix->v[at];
}

struct archive_entry *archive_index_get(struct archive_index *ix, uint64_t id)
{
	uintptr_t pos = (uintptr_t)u64map_get(ix->by_id, id);

	return pos ? &ix->v[pos - 1] : NULL;
}

struct archive_entry *archive_index_find_path(struct archive_index *ix, const char *path)
{
	for (size_t i = ix->n; i-- > ix->head;) {
		struct archive_entry *e = &ix->v[i];
		if (!e->dead && (!strcmp(e->path, path) || !strcmp(e->apath, path)))
			return e;
	}
	return NULL;
}

void archive_index_remove(struct archive_index *ix, struct archive_entry *e)
{
	if (e->dead)
		return;
	e->dead = true;
	u64map_del(ix->by_id, e->id);
	ix->live--;
	ix->stored -= e->stored;
	ix->bytes -= e->bytes;
	while (ix->head < ix->n && ix->v[ix->head].dead)
		ix->head++;
	/* Many dead entries: compact, keeping removals amortised O(1). */
	if (ix->n > 1024 && ix->live < ix->n / 2)
		archive_index_compact(ix);
}

struct archive_entry *archive_index_oldest(struct archive_index *ix)
{
	return ix->head < ix->n ? &ix->v[ix->head] : NULL;
}

struct archive_entry *archive_index_next(struct archive_index *ix, struct archive_entry *e)
{
	size_t i = e ? (size_t)(e - ix->v) + 1 : ix->head;

	while (i < ix->n && ix->v[i].dead)
		i++;
	return i < ix->n ? &ix->v[i] : NULL;
}

int archive_index_compact(struct archive_index *ix)
{
	size_t k = 0;

	for (size_t i = 0; i < ix->n; i++) {
		if (ix->v[i].dead)
			entry_free(&ix->v[i]);
		else
			ix->v[k++] = ix->v[i];
	}
	ix->n = k;
	ix->head = 0;
	return reindex(ix, 0);
}


json_object *archive_index_json(const struct archive_entry *e)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "id", json_object_new_uint64(e->id));
	json_object_object_add(o, "zone", json_object_new_string(e->zone));
	json_object_object_add(o, "path", pathenc_json(e->path));
	json_object_object_add(o, "archive_path", pathenc_json(e->apath));
	json_object_object_add(o, "bytes", json_object_new_uint64(e->bytes));
	json_object_object_add(o, "stored", json_object_new_uint64(e->stored));
	json_object_object_add(o, "archived_at", json_object_new_int64(e->archived_at));
	json_object_object_add(o, "reason", json_object_new_string(policy_reason_name(e->reason)));
	json_object_object_add(o, "compressed", json_object_new_boolean(e->compressed));
	json_object_object_add(o, "location", json_object_new_string(e->remote ? "remote" : "local"));
	if (e->sha256)
		json_object_object_add(o, "sha256", json_object_new_string(e->sha256));
	return o;
}

char *archive_index_line(const struct archive_entry *e, bool add)
{
	json_object *o = add ? archive_index_json(e) : json_object_new_object();
	char *line = NULL;
	const char *s;

	if (!o)
		return NULL;
	json_object_object_add(o, "op", json_object_new_string(add ? "add" : "del"));
	if (add && e->marked)
		json_object_object_add(o, "marked", json_object_new_boolean(1));
	if (!add)
		json_object_object_add(o, "id", json_object_new_uint64(e->id));
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (s && asprintf(&line, "%s\n", s) < 0)
		line = NULL;
	json_object_put(o);
	return line;
}

static const char *str_of(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v)
		       : NULL;
}

static int64_t int_of(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_int)
		       ? json_object_get_int64(v)
		       : -1;
}

static bool sha256_ok(const char *h)
{
	return strlen(h) == 64 && strspn(h, "0123456789abcdef") == 64;
}

int archive_index_apply(struct archive_index *ix, const char *line)
{
	json_object *o = json_tokener_parse(line), *v;
	const char *op;
	int64_t id;
	int r = -EINVAL;

	if (!o || !json_object_is_type(o, json_type_object))
		goto out;
	op = str_of(o, "op");
	id = int_of(o, "id");
	if (!op || id <= 0)
		goto out;
	if (!strcmp(op, "del")) {
		struct archive_entry *e = archive_index_get(ix, (uint64_t)id);
		if (e)
			archive_index_remove(ix, e);
		r = 0;
	} else if (!strcmp(op, "add")) {
		struct archive_entry e = { .id = (uint64_t)id };
		const char *path = str_of(o, "path"), *apath = str_of(o, "archive_path");
		const char *reason = str_of(o, "reason");

		e.zone = (char *)str_of(o, "zone");
		e.bytes = (uint64_t)int_of(o, "bytes");
		e.stored = (uint64_t)int_of(o, "stored");
		e.archived_at = int_of(o, "archived_at");
		e.reason = reason ? policy_reason_parse(reason) : REASON_NONE;
		e.compressed = json_object_object_get_ex(o, "compressed", &v) && json_object_get_boolean(v);
		e.marked = json_object_object_get_ex(o, "marked", &v) && json_object_get_boolean(v);
		e.remote = str_of(o, "location") && !strcmp(str_of(o, "location"), "remote");
		e.sha256 = (char *)str_of(o, "sha256");
		if (e.sha256 && !sha256_ok(e.sha256))
			goto out;
		if (!e.zone || !path || !apath)
			goto out;
		e.path = pathenc_decode(path);
		e.apath = pathenc_decode(apath);
		r = e.path && e.apath && archive_index_add(ix, &e) ? 0 : -EINVAL;
		free(e.path);
		free(e.apath);
	}
out:
	json_object_put(o);
	return r;
}

int archive_index_mark(const struct archive_entry *e, char *buf, size_t len)
{
	int n = snprintf(buf, len, "sweepd 1 %lld %s %llu %d", (long long)e->archived_at,
			 policy_reason_name(e->reason), (unsigned long long)e->bytes,
			 e->compressed ? 1 : 0);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : n;
}

int archive_index_mark_parse(const char *v, size_t n, struct archive_entry *e)
{
	char buf[ARCHIVE_MARK_MAX + 1], reason[32];
	long long at;
	unsigned long long bytes;
	int comp, used = 0;

	if (n > ARCHIVE_MARK_MAX)
		return -EINVAL;
	memcpy(buf, v, n);
	buf[n] = '\0';
	if (sscanf(buf, "sweepd 1 %lld %31s %llu %d%n", &at, reason, &bytes, &comp, &used) != 4 ||
	    (size_t)used != n || at < 0 || (comp != 0 && comp != 1))
		return -EINVAL;
	e->archived_at = at;
	e->reason = policy_reason_parse(reason);
	e->bytes = bytes;
	e->compressed = comp;
	return 0;
}
