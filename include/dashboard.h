#ifndef SWEEPD_DASHBOARD_H
#define SWEEPD_DASHBOARD_H

#include <stdbool.h>
#include <stdint.h>

struct json_object;

/*
 * The dashboard page (GET /), one self-contained HTML document: no script,
 * style, font or image from anywhere but the page itself. What it shows is
 * read from the objects below; every string in them is escaped, since any
 * local user names the files that end up there.
 */
struct dashboard_view {
	struct json_object *status;  /* the socket's status reply, parsed */
	/* {"zone:NAME"|"fs:MOUNT": {"day": [[t,v],...], "month": [[t,v],...]}}, oldest first */
	struct json_object *series;
	struct json_object *actions; /* the latest audit entries, newest first */
	const char *user;	     /* the logged-in HTTP user, or NULL: no buttons */
	bool can_login;		     /* basic_auth_users configured: a "log in" link */
	int64_t now;		     /* Unix s */
};

/* Pure: the page as a malloc'd string, or NULL when out of memory. Any field may be NULL. */
char *dashboard_render(const struct dashboard_view *v);

/*
 * The HTTP server's page hook (struct http_hooks.page), ud a struct daemon:
 * the status as the socket answers it, the history's charts and the audit's
 * latest actions, rendered for user (NULL: nobody logged in).
 */
char *daemon_dashboard(void *ud, const char *user);

#endif
