#include "sweep_job.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "beneath.h"
#include "config.h"
#include "lease.h"
#include "nolink.h"

struct sweep_job *sweep_job_new(const char *root, const char *zone, const char *rel, const char *path,
				uint64_t dev, uint64_t ino)
{
	struct sweep_job *j = calloc(1, sizeof(*j));
	const char *slash = strrchr(rel, '/');

	if (!j)
		return NULL;
	j->root_fd = -1;
	j->root = strdup(root);
	j->mj.dev = dev;
	j->mj.ino = ino;
	j->mj.path = strdup(path);
	j->rel = strdup(rel);
	j->dir_rel = strndup(rel, slash ? (size_t)(slash - rel) : 0);
	j->e.zone = strdup(zone);
	if (!j->root || !j->mj.path || !j->rel || !j->dir_rel || !j->e.zone) {
		sweep_job_free(j);
		return NULL;
	}
	j->name = slash ? j->rel + (slash - rel) + 1 : j->rel;
	j->e.path = j->mj.path;
	return j;
}

void sweep_job_free(struct sweep_job *j)
{
	if (!j)
		return;
	if (j->root_fd >= 0)
		close(j->root_fd);
	free(j->root);
	free(j->rel);
	free(j->dir_rel);
	free(j->e.zone);
	free(j->e.apath);
	mover_job_free(&j->mj);
}

/* Between chunks: how far the copy is, and whether the daemon is stopping. */
static bool keep_going(void *ud, uint64_t done)
{
	struct sweep_job *j = ud;

	return mover_chunk_done(&j->mj, done);
}

/* Is dir still the file's directory, where the zone's path and dir_rel name it now? */
static int dir_in_place(const void *ud, int dir)
{
	const struct sweep_job *j = ud;

	return beneath_still_at(j->root, j->mj.dev, j->dir_rel, dir);
}

static void run_job(struct mover_job *mj)
{
	struct sweep_job *j = (struct sweep_job *)mj;
	struct zone_config age = { .min_age = j->min_age };
	struct lease_held h;
	struct stat dst;
	int64_t written = j->written;
	int dfd, r;

	j->root_fd = nolink_open_root(j->root, mj->dev);
	if (j->root_fd < 0) {
		j->r = -ENOENT; /* moved away, gone, or another filesystem there: events follow */
		return;
	}
	dfd = beneath_open_dir(j->root_fd, j->dir_rel, O_RDONLY);
	if (dfd < 0) {
		j->r = dfd == -ELOOP || dfd == -EXDEV ? -ENOENT : dfd; /* moved or went: events follow */
		return;
	}
	r = lease_hold(dfd, j->name, mj->ino, &h);
	j->opened = r != -ENOENT && r != -ELOOP; /* an open happened (even of another file) */
	if (r != 0) {
		close(dfd);
		j->r = r == 1 ? SWEEP_JOB_WRITING : r == -ESTALE || r == -ELOOP ? -ENOENT : r;
		return;
	}
	/* Written since the planner looked (an mtime set back after a write counts from the write). */
	if (h.st.st_mtim.tv_sec > written)
		written = h.st.st_mtim.tv_sec;
	if (policy_touchable_at(&age, written) > (int64_t)time(NULL)) {
		lease_release(&h);
		close(dfd);
		j->r = SWEEP_JOB_YOUNG;
		return;
	}
	/* The directory's age before this removal: what pruning it goes by. */
	j->dir_known = fstat(dfd, &dst) == 0;
	j->dir_before = dst.st_mtim;
	if (!j->archive) {
		r = dir_in_place(j, dfd);
		if (r == 0)
			r = unlinkat(dfd, j->name, 0) < 0 ? -errno : 0;
		mover_progress(mj, mj->bytes);
	} else {
		j->e.archived_at = (int64_t)time(NULL); /* into its mark */
		j->aopts.keep_going = keep_going;
		j->aopts.in_place = dir_in_place;
		j->aopts.ud = j;
		r = archive_store_io(j->archive, &j->aopts, j->rel, dfd, j->name, &h, &j->e);
		if (r == 0)
			mover_progress(mj, mj->bytes);
	}
	if (r == 0 && !j->archive)
		j->writer_at_delete = lease_broken(&h); /* done; said by the loop */
	lease_release(&h);
	if (r == 0 && j->dir_known && fstat(dfd, &dst) == 0)
		j->dir_after = dst.st_mtim;
	else
		j->dir_known = false;
	close(dfd);
	j->r = r;
}

void sweep_job_run(struct mover_job *mj)
{
	struct sweep_job *j = (struct sweep_job *)mj;

	run_job(mj);
	/* Its result may wait for the loop a while: no descriptor kept meanwhile. */
	if (j->root_fd >= 0)
		close(j->root_fd);
	j->root_fd = -1;
}
