#include "policy.h"

#include <string.h>

static const char *const reason_names[] = {
	[REASON_NONE] = "none",
	[REASON_MAX_AGE] = "max_age",
	[REASON_MAX_IDLE] = "max_idle",
	[REASON_MAX_SIZE] = "max_size",
	[REASON_MAX_FILES] = "max_files",
	[REASON_DISK_HIGH] = "disk_high",
	[REASON_ARCHIVE_KEEP] = "archive_keep",
	[REASON_ARCHIVE_MAX_SIZE] = "archive_max_size",
	[REASON_MANUAL] = "manual",
	[REASON_ROTATE_SIZE] = "rotate_size",
	[REASON_ROTATE_EVERY] = "rotate_every",
	[REASON_REMOTE_KEEP] = "remote_keep",
	[REASON_REBUILT] = "rebuilt",
};

const char *policy_reason_name(enum policy_reason r)
{
	return (unsigned)r < sizeof(reason_names) / sizeof(*reason_names) ? reason_names[r]
									  : "none";
}

enum policy_reason policy_reason_parse(const char *s)
{
	for (unsigned i = 1; i < sizeof(reason_names) / sizeof(*reason_names); i++)
		if (!strcmp(s, reason_names[i]))
			return (enum policy_reason)i;
	return REASON_NONE;
}

static int64_t add_sat(int64_t a, int64_t b)
{
	return a > POLICY_NEVER - b ? POLICY_NEVER : a + b;
}

/* "Older than max_age": due one second after the age equals it, as find -mmin +N counts. */
int64_t policy_age_due(const struct zone_config *z, int64_t mtime)
{
	return z->max_age == CONFIG_UNSET ? POLICY_NEVER : add_sat(mtime, z->max_age + 1);
}

int64_t policy_idle_due(const struct zone_config *z, int64_t last_use)
{
	return z->max_idle == CONFIG_UNSET ? POLICY_NEVER : add_sat(last_use, z->max_idle + 1);
}

int64_t policy_touchable_at(const struct zone_config *z, int64_t last_write)
{
	return z->min_age == CONFIG_UNSET ? last_write : add_sat(last_write, z->min_age);
}

enum policy_block policy_block(const struct zone_config *z, bool writing, bool held,
			       int64_t last_write, int64_t now)
{
	if (writing)
		return POLICY_WRITING;
	if (now < policy_touchable_at(z, last_write))
		return POLICY_TOO_YOUNG;
	return held ? POLICY_HELD : POLICY_FREE;
}

const char *policy_block_name(enum policy_block b)
{
	switch (b) {
	case POLICY_WRITING:
		return "open for writing";
	case POLICY_TOO_YOUNG:
		return "younger than min_age";
	case POLICY_HELD:
		return "restored recently";
	case POLICY_FAILING:
		return "failed lately";
	case POLICY_TOO_DEEP:
		return "path too long for the archive";
	default:
		return "free";
	}
}

struct policy_excess policy_zone_excess(const struct zone_config *z, uint64_t bytes,
					uint64_t files)
{
	struct policy_excess e = { 0, 0 };

	if (z->max_size != CONFIG_UNSET && bytes > (uint64_t)z->max_size)
		e.bytes = bytes - (uint64_t)z->max_size;
	if (z->max_files != CONFIG_UNSET && files > (uint64_t)z->max_files)
		e.files = files - (uint64_t)z->max_files;
	return e;
}

uint64_t policy_mark_bytes(double pct, uint64_t size)
{
	return (uint64_t)((double)size * pct / 100.0);
}

bool policy_disk_pressure(double high_pct, double low_pct, uint64_t size, uint64_t used,
			  bool active, uint64_t *need)
{
	double pct = size ? 100.0 * (double)used / (double)size : 0.0;
	uint64_t low = policy_mark_bytes(low_pct, size);

	*need = 0;
	if (!size || high_pct <= 0)
		return false;
	if (!active && pct <= high_pct)
		return false;
	if (used <= low)
		return false;
	*need = used - low;
	return true;
}

uint64_t policy_disk_room(double high_pct, uint64_t size, uint64_t used, uint64_t want)
{
	uint64_t high = policy_mark_bytes(high_pct, size);

	if (!size || high_pct <= 0)
		return 0; /* no mark: nothing to keep under */
	return used + want > high ? used + want - high : 0;
}

int64_t policy_archive_due(int64_t keep, int64_t archived_at)
{
	return keep == CONFIG_UNSET ? POLICY_NEVER : add_sat(archived_at, keep + 1);
}
