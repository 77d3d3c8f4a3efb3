#ifndef SWEEPD_CTL_IMPORT_H
#define SWEEPD_CTL_IMPORT_H

/*
 * sweepctl import-logrotate FILE...: reads logrotate configuration files (a
 * directory: each file in it, in name order, as logrotate's include does)
 * and prints the equivalent sweepd zones (lrimport). Needs no daemon. The
 * exit status: 0, or 1 when a FILE could not be read.
 */
int ctl_import_logrotate(int argc, char **argv);

#endif
