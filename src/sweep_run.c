#include "sweep_run.h"

#include <json-c/json.h>
#include <stdlib.h>

struct sweep_run *sweep_run_new(void)
{
	struct sweep_run *run = calloc(1, sizeof(*run));

	if (run) {
		run->zone = -1;
		run->refs = 1;
	}
	return run;
}

void sweep_run_hold(struct sweep_run *run)
{
	if (run && run->refs)
		run->refs++;
}

bool sweep_run_waiting(const struct sweep_run *run)
{
	return run && run->refs > 1;
}

void sweep_run_free(struct sweep_run *run)
{
	if (run) {
		json_object_put(run->actions);
		json_object_put(run->failed);
		free(run->archive_full);
		free(run);
	}
}

bool sweep_run_lists(struct sweep_run *run)
{
	if (!run || !run->list_max || !run->actions ||
	    json_object_array_length(run->actions) < run->list_max)
		return true;
	run->unlisted++;
	return false;
}

void sweep_run_release(struct sweep_run *run)
{
	if (!run || !run->refs || --run->refs)
		return;
	if (run->finished)
		run->finished(run, run->ud);
	else
		sweep_run_free(run);
}
