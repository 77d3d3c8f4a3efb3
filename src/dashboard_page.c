#include "dashboard.h"

#include <string.h>

char *daemon_dashboard(void *ud, const char *user)
{
	(void)ud;
	(void)user;
	return strdup("<!doctype html><title>sweepd</title>");
}
