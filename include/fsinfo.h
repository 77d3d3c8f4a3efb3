#ifndef SWEEPD_FSINFO_H
#define SWEEPD_FSINFO_H

#include <stdint.h>

/* A filesystem that holds a zone, as df shows it. */
struct fsinfo {
	uint64_t dev;
	char mount[256];
	uint64_t size, used, free; /* bytes; free is what unprivileged users may use */
	double used_pct;	   /* used / (used + free), as df rounds it */
};

/* Fills fs for the filesystem holding path; returns 0 or -errno. */
int fsinfo_get(const char *path, struct fsinfo *fs);

#endif
