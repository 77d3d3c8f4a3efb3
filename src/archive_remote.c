#include "archive.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "archive_impl.h"
#include "config.h"
#include "pathenc.h"

/*
 * The archive's side of the remote tier: the entries whose file is in the
 * bucket (their own index, so that the local passes never walk them), and
 * the upload journal, state_dir/remote.journal.
 *
 * An upload's last steps run on the remote lane's thread: the object is
 * verified (HEAD: size and SHA-256), a line naming the entry and its object
 * is appended to the journal and made durable, and only then is the local
 * copy removed. The loop later writes the same change into the index file,
 * which is not synced; so a crash at any instant leaves the file whole in
 * the local archive (no journal line yet), or in the bucket with a journal
 * line that the next start applies before anything else looks at the
 * index: the entry moved to the remote index, a local copy still there
 * removed.
 */

struct archive_index *archive_remote_entries(struct archive *a)
{
	return a->rix;
}

struct archive_entry *archive_find(struct archive *a, uint64_t id)
{
	struct archive_entry *e = archive_index_get(a->ix, id);

	return e ? e : archive_index_get(a->rix, id);
}

struct archive_entry *archive_find_path(struct archive *a, const char *path)
{
	struct archive_entry *e = archive_index_find_path(a->ix, path);
	struct archive_entry *r = archive_index_find_path(a->rix, path);

	/* the newer of the two */
	if (!e || (r && (r->archived_at > e->archived_at ||
			 (r->archived_at == e->archived_at && r->id > e->id))))
		return r;
	return e;
}

/* A local entry made remote, keeping its id; NULL when out of memory (it stays local). */
static struct archive_entry *to_remote(struct archive *a, struct archive_entry *e,
				       const char *apath, uint64_t stored, const char *sha256)
{
	struct archive_entry c = *e, *in;

	c.apath = (char *)apath;
	c.stored = stored;
	c.sha256 = (char *)sha256;
	c.remote = true;
	c.busy = false;
	in = archive_index_add(a->rix, &c);
	if (in)
		archive_index_remove(a->ix, e);
	return in;
}

/* At opening: the entries the index file says are remote, into their own index. */
static void remote_split(struct archive *a)
{
	struct archive_entry *e, *next;

	for (e = archive_index_next(a->ix, NULL); e; e = next) {
		next = archive_index_next(a->ix, e);
		if (e->remote)
			to_remote(a, e, e->apath, e->stored, e->sha256);
	}
	archive_index_compact(a->ix);
	if (a->rix->next_id > a->ix->next_id)
		a->ix->next_id = a->rix->next_id;
}

static char *journal_line(uint64_t id, const char *apath, uint64_t stored, const char *sha256)
{
	json_object *o = json_object_new_object();
	char *line = NULL;
	const char *s;

	if (!o)
		return NULL;
	json_object_object_add(o, "id", json_object_new_uint64(id));
	json_object_object_add(o, "archive_path", pathenc_json(apath));
	json_object_object_add(o, "stored", json_object_new_uint64(stored));
	json_object_object_add(o, "sha256", json_object_new_string(sha256));
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (s && asprintf(&line, "%s\n", s) < 0)
		line = NULL;
	json_object_put(o);
	return line;
}

int archive_remote_journal(struct archive *a, uint64_t id, const char *apath, uint64_t stored,
			   const char *sha256)
{
	char *line = journal_line(id, apath, stored, sha256);
	size_t n;
	int r = 0;

	if (!line)
		return -ENOMEM;
	n = strlen(line);
	if (write(a->rjournal_fd, line, n) != (ssize_t)n || fdatasync(a->rjournal_fd) < 0)
		r = errno ? -errno : -EIO;
	free(line);
	return r;
}

/* One journal line applied: the entry remote, its local copy gone. */
static void replay_line(struct archive *a, const char *line)
{
	json_object *o = json_tokener_parse(line), *v;
	struct archive_entry *e;
	const char *apath, *sha;
	char *dec = NULL;

	if (!o || !json_object_object_get_ex(o, "id", &v) ||
	    !(e = archive_index_get(a->ix, json_object_get_uint64(v))) ||
	    !json_object_object_get_ex(o, "archive_path", &v) || !(apath = json_object_get_string(v)) ||
	    !json_object_object_get_ex(o, "sha256", &v) || !(sha = json_object_get_string(v)) ||
	    strlen(sha) != 64 || !(dec = pathenc_decode(apath)) || strncmp(dec, "s3://", 5)) {
		json_object_put(o);
		free(dec);
		return;
	}
	archive_unlink(a, e->apath);
	to_remote(a, e, dec,
		  json_object_object_get_ex(o, "stored", &v) ? json_object_get_uint64(v) : 0, sha);
	free(dec);
	json_object_put(o);
}

int archive_open_copy(struct archive *a, const char *apath)
{
	const char *rel = archive_rel_of(a, apath), *base;
	char dir[PATH_MAX];
	int d, fd;

	if (!rel)
		return -EINVAL;
	archive_split(rel, dir, sizeof(dir), &base);
	d = archive_open_dirs(a->root_fd, dir, false, 0, (uid_t)-1, (gid_t)-1, true);
	if (d < 0)
		return d;
	fd = openat(d, base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		fd = -errno;
	close(d);
	return fd;
}

int archive_remote_open(struct archive *a)
{
	char *path = NULL, *line = NULL;
	size_t cap = 0;
	FILE *f;
	int fd;

	a->rix = archive_index_create();
	if (!a->rix || asprintf(&path, "%s/remote.journal", a->cfg->state_dir) < 0) {
		free(path);
		return -ENOMEM;
	}
	fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	free(path);
	if (fd < 0)
		return -errno;
	a->rjournal_fd = fd;
	remote_split(a);
	f = fdopen(dup(fd), "re");
	if (f) {
		rewind(f);
		while (getline(&line, &cap, f) > 0)
			replay_line(a, line);
		free(line);
		fclose(f);
	}
	return 0;
}

/* After the index file is written anew with what the journal said: the journal emptied. */
void archive_remote_journal_done(struct archive *a)
{
	if (a->rjournal_fd >= 0 && ftruncate(a->rjournal_fd, 0) == 0)
		fdatasync(a->rjournal_fd);
}

struct archive_entry *archive_uploaded(struct archive *a, uint64_t id, const char *apath,
				       uint64_t stored, const char *sha256)
{
	struct archive_entry *e = archive_index_get(a->ix, id), *in;
	const char *rel;

	if (!e)
		return NULL;
	rel = archive_rel_of(a, e->apath);
	if (rel)
		archive_prune_dirs(a, rel);
	archive_idxfile_append(a, e, false);
	in = to_remote(a, e, apath, stored, sha256);
	if (in)
		archive_idxfile_append(a, in, true);
	return in;
}

/*
 * A key's path as sweepd makes them: zone/a/b, written plainly (no empty,
 * "." or ".." component, nothing config_path_clean would drop or refuse).
 */
static bool plain_rel(const char *rel)
{
	char abs[PATH_MAX], clean[PATH_MAX];

	return strchr(rel, '/') && snprintf(abs, sizeof(abs), "/%s", rel) < (int)sizeof(abs) &&
	       config_path_clean(abs, clean, sizeof(clean)) == 0 && !strcmp(abs, clean);
}

struct archive_entry *archive_remote_adopt(struct archive *a, const struct archive_entry *e,
					   const char *rel)
{
	struct archive_entry *in = archive_index_find_path(a->rix, e->apath), c = *e;
	char *zone = NULL;

	if (in && !strcmp(in->apath, e->apath))
		return in;
	if (!plain_rel(rel))
		return NULL; /* never a key sweepd made: left alone */
	/*
	 * Where it goes back to comes from its key, as a local file's from its
	 * place in the archive: never from metadata, which whoever may write
	 * in the bucket could have set to any path on this machine.
	 */
	c.path = archive_original_path(a->cfg, rel, e->compressed, &zone);
	c.zone = zone;
	c.id = a->ix->next_id++;
	c.remote = true;
	/* "": its zone is not configured (now): left alone, as the README says. */
	in = c.path && *c.path ? archive_index_add(a->rix, &c) : NULL;
	if (in)
		archive_idxfile_append(a, in, true);
	free(c.path);
	free(zone);
	return in;
}
