#include "archive.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive_impl.h"
#include "fcopy.h"
#include "u64map.h"
#include "zcodec.h"

/*
 * Reconciling the index with the tree, at each opening: entries whose file is
 * gone dropped, sweepd's own files that the index lost indexed again, and
 * what is someone else's counted, never touched.
 */

struct found {
	char *rel;
	struct archive_entry e; /* from its mark, or its size and ctime */
};

enum { UNSEEN, SEEN, DISOWNED };

struct walk {
	struct archive *a;
	struct u64map *known; /* hash of archive path -> entry */
	char *seen;	     /* by entry position: UNSEEN, SEEN, DISOWNED */
	struct found *found;
	size_t n_found, cap_found;
	struct archive_report *rep;
};

static uint64_t str_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h | 1;
}

/*
 * One file in one of sweepd's directories of the archive. An indexed one is
 * kept (and marked, if an older sweepd left it without) unless its entry
 * came from a rebuild and nothing shows sweepd put it there; an unindexed
 * one is indexed again only when it carries sweepd's mark (or, where the
 * filesystem keeps no marks, when the whole archive is sweepd's). Anything
 * else is someone else's file: left alone, only counted for the log.
 */
/*
 * What an entry found in the tree really holds, whatever its mark says (a
 * user who kept a descriptor on their archived file can write the mark): a
 * plain copy holds its size; a .zst the content size its frame declares, else the mark's figure,
 * but never more than the frame could hold (ZCODEC_MAX_RATIO times its size).
 */
static void true_bytes(int fd, const struct stat *st, struct archive_entry *m)
{
	unsigned char head[ZCODEC_HEAD_MAX];
	uint64_t size = (uint64_t)st->st_size, declared;
	ssize_t n = fd < 0 ? -1 : pread(fd, head, sizeof(head), 0);

	if (!m->compressed)
		m->bytes = size;
	else if (n > 0 && zcodec_content_size(head, (size_t)n, &declared) == 0)
		m->bytes = declared;
	else if (m->bytes / ZCODEC_MAX_RATIO >= size)
		m->bytes = size * ZCODEC_MAX_RATIO;
}

static void walk_file(struct walk *w, int dfd, const char *name, const char *rel)
{
	struct archive *a = w->a;
	struct archive_entry m = { .reason = REASON_REBUILT };
	char *apath = NULL;
	struct archive_entry *e;
	struct stat st;
	bool marked = false;
	int fd;

	if (!strchr(rel, '/')) {
		if (strcmp(name, ARCHIVE_CLAIM))
			w->rep->foreign++; /* sweepd never puts a file at the root */
		return;
	}
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) ||
	    asprintf(&apath, "%s/%s", a->root, rel) < 0)
		return;
	e = u64map_get(w->known, str_hash(apath));
	if (e && strcmp(e->apath, apath))
		e = NULL;
	if (e && e->marked && e->reason != REASON_REBUILT) {
		w->seen[e - a->ix->v] = SEEN; /* what it wrote itself: no need to look */
		free(apath);
		return;
	}
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd >= 0)
		marked = archive_mark_get(fd, &m);
	if (e) {
		bool proven = marked || (!a->xattrs && a->claimed);

		if (e->reason == REASON_REBUILT && !proven) {
			w->seen[e - a->ix->v] = DISOWNED;
		} else {
			w->seen[e - a->ix->v] = SEEN;
			if (!marked && a->xattrs && fd >= 0)
				marked = archive_mark_set(fd, e) == 0;
			e->marked = marked;
		}
	} else if (marked || (!a->xattrs && a->claimed)) {
		struct found *fv = w->found;

		if (!marked) {
			unsigned char head[4] = { 0 };

			if (fd >= 0)
				(void)!pread(fd, head, sizeof(head), 0);
			m.bytes = (uint64_t)st.st_size;
			m.archived_at = st.st_ctim.tv_sec;
			m.compressed = zcodec_is_zstd(head, 4);
		}
		true_bytes(fd, &st, &m);
		/* Nobody can set a file's ctime back: a mark cannot postpone its purge. */
		if (m.archived_at > st.st_ctim.tv_sec)
			m.archived_at = st.st_ctim.tv_sec;
		if (m.reason == REASON_NONE)
			m.reason = REASON_REBUILT;
		m.stored = fcopy_allocated(&st);
		m.marked = marked;
		if (w->n_found == w->cap_found) {
			w->cap_found = w->cap_found ? 2 * w->cap_found : 16;
			fv = realloc(w->found, w->cap_found * sizeof(*fv));
			if (!fv)
				goto out;
			w->found = fv;
		}
		fv[w->n_found++] = (struct found){ strdup(rel), m };
	} else {
		w->rep->foreign++;
	}
out:
	if (fd >= 0)
		close(fd);
	free(apath);
}

static void walk_dir(struct walk *w, int fd, const char *rel, int depth)
{
	DIR *dir = fdopendir(fd);
	struct dirent *de;

	if (!dir) {
		close(fd);
		return;
	}
	while ((de = readdir(dir))) {
		char sub[PATH_MAX];
		int cfd;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", de->d_name) >=
		    (int)sizeof(sub))
			continue;
		cfd = depth < 256 ? openat(dirfd(dir), de->d_name,
					   O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
				  : -1;
		if (cfd >= 0) {
			struct stat st;

			if (fstat(cfd, &st) == 0 && archive_own_dir(&st)) {
				walk_dir(w, cfd, sub, depth + 1);
			} else {
				/* Not sweepd's: nothing in it is looked at, let alone touched. */
				w->rep->foreign_dirs++;
				close(cfd);
			}
		} else {
			walk_file(w, dirfd(dir), de->d_name, sub);
		}
	}
	closedir(dir);
}

/* "zone/a/b.txt.~2~.zst" (compressed) -> the zone's path + "/a/b.txt". */
char *archive_original_path(const struct config *cfg, const char *rel, bool compressed,
			    char **zone)
{
	const char *slash = strchr(rel, '/');
	char *rest, *p, *out = NULL;
	size_t n;
	int i;

	*zone = NULL;
	if (!slash || slash == rel || !slash[1])
		return NULL;
	*zone = strndup(rel, (size_t)(slash - rel));
	rest = strdup(slash + 1);
	if (!*zone || !rest) {
		free(rest);
		return NULL;
	}
	n = strlen(rest);
	if (compressed && n > 4 && !strcmp(rest + n - 4, ".zst"))
		rest[n -= 4] = '\0';
	if (n > 3 && rest[n - 1] == '~' && (p = strrchr(rest, '.')) && p[1] == '~' &&
	    strspn(p + 2, "0123456789") == (size_t)(rest + n - 1 - (p + 2)))
		*p = '\0';
	i = config_zone_index(cfg, *zone);
	if (i < 0) {
		free(rest);
		return strdup(""); /* its zone is no longer configured: restore needs "to" */
	}
	if (asprintf(&out, "%s/%s", strcmp(cfg->zones[i].path, "/") ? cfg->zones[i].path : "",
		     rest) < 0)
		out = NULL;
	free(rest);
	return out;
}

void archive_reconcile(struct archive *a, struct archive_report *rep)
{
	struct walk w = { .a = a, .rep = rep };
	int fd;

	w.known = u64map_create();
	w.seen = calloc(a->ix->n + 1, sizeof(*w.seen)); /* all UNSEEN */
	if (!w.known || !w.seen)
		goto out;
	for (struct archive_entry *e = archive_index_next(a->ix, NULL); e;
	     e = archive_index_next(a->ix, e))
		u64map_put(w.known, str_hash(e->apath), e);
	fd = openat(a->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0)
		walk_dir(&w, fd, "", 0);
	for (size_t i = 0; i < a->ix->n; i++)
		if (!a->ix->v[i].dead && w.seen[i] != SEEN) {
			archive_index_remove(a->ix, &a->ix->v[i]);
			if (w.seen[i] == DISOWNED)
				rep->disowned++;
			else
				rep->dropped++;
		}
	for (size_t i = 0; i < w.n_found; i++) {
		struct found *f = &w.found[i];
		struct archive_entry e = f->e;

		e.path = archive_original_path(a->cfg, f->rel, e.compressed, &e.zone);
		if (e.path && e.zone && asprintf(&e.apath, "%s/%s", a->root, f->rel) >= 0) {
			if (archive_index_add(a->ix, &e))
				rep->found++;
			free(e.apath);
		}
		free(e.path);
		free(e.zone);
	}
out:
	for (size_t i = 0; i < w.n_found; i++)
		free(w.found[i].rel);
	free(w.found);
	free(w.seen);
	u64map_destroy(w.known);
}
