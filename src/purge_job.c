#include "purge_job.h"

#include <stdlib.h>
#include <string.h>

#include "archive.h"

struct purge_job *purge_job_new(struct archive *a, uint64_t id, const char *apath,
				const char *zone, const char *origin)
{
	struct purge_job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->archive = a;
	j->id = id;
	j->mj.path = strdup(apath);
	j->zone = strdup(zone);
	j->origin = strdup(origin);
	if (!j->mj.path || !j->zone || !j->origin) {
		purge_job_free(j);
		return NULL;
	}
	j->mj.lane = MOVER_QUICK;
	j->mj.action = "purge";
	j->mj.dev = archive_dev(a);
	j->mj.ino = 0; /* not a zone's file: the entry's busy flag keeps others off it */
	j->mj.run = purge_job_run;
	return j;
}

void purge_job_run(struct mover_job *mj)
{
	struct purge_job *j = (struct purge_job *)mj;

	j->r = archive_unlink(j->archive, mj->path);
	mover_progress(mj, mj->bytes);
}

void purge_job_free(struct purge_job *j)
{
	if (!j)
		return;
	free(j->zone);
	free(j->origin);
	mover_job_free(&j->mj);
}
