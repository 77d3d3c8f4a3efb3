#ifndef SWEEPD_REQUEST_H
#define SWEEPD_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One request line of the socket protocol, parsed and checked. Pure. */

#define REQUEST_MAX_LINE (64 * 1024)
#define REQUEST_MAX_TOP 1000

enum request_cmd {
	REQ_STATUS,
	REQ_SETTLE,
	REQ_TOP,
	REQ_SWEEP,
	REQ_ARCHIVE,
	REQ_RESTORE,
	REQ_PURGE,
	REQ_ROTATE,
	REQ_RESERVE,
	REQ_RELOAD,
	REQ_PAUSE,
	REQ_RESUME,
	REQ_METRICS,
	REQ_EXPLAIN,
};

enum request_by { REQ_BY_SIZE, REQ_BY_AGE };

struct request {
	enum request_cmd cmd;
	char *zone;	   /* NULL when not given */
	int64_t n;	   /* top: default 10 */
	enum request_by by; /* top: default size */
	int dry_run;	   /* -1 when not given */
	int64_t id;	   /* restore: -1 when not given */
	char *path, *to;   /* restore, explain: file-system bytes (decoded) */
	int64_t older_than, bytes, timeout; /* -1 when not given */
};

/* Returns 0, or -EINVAL with a sentence a person can act on in err. */
int request_parse(const char *line, size_t len, struct request *req, char *err, size_t errlen);
void request_clear(struct request *req);
bool request_is_admin(enum request_cmd cmd);
/* Whether this request needs an admin: request_is_admin, except a dry-run sweep. */
bool request_needs_admin(const struct request *req);
const char *request_cmd_name(enum request_cmd cmd);
/* The command named name, or -1. */
int request_cmd_find(const char *name);

#endif
