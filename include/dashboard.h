#ifndef SWEEPD_DASHBOARD_H
#define SWEEPD_DASHBOARD_H

/* The dashboard page for user (NULL: nobody logged in); ud is the daemon. */
char *daemon_dashboard(void *ud, const char *user);

#endif
