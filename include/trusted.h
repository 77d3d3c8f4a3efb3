#ifndef SWEEPD_TRUSTED_H
#define SWEEPD_TRUSTED_H

#include <stddef.h>

/*
 * May sweepd run the program at path as its own user? Only if nobody else
 * could have put it there or could change it: an absolute path; the file
 * and every directory and link on the way to it (as written, and with its
 * links resolved) owned by root or by sweepd's own user; the file regular
 * and executable, written by no group or other; each directory writable by
 * no group or other unless it is sticky (as /tmp: then only the owner of a
 * name may replace it). 0, or -errno with a sentence in why.
 */
int path_trusted(const char *path, char *why, size_t len);

#endif
