#ifndef SWEEPD_COLTAB_H
#define SWEEPD_COLTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/*
 * sweepctl's text tables, fitted to a terminal's width: the least important
 * columns go first, names and paths are cut in the middle (their start and
 * their end are what tells them apart), and width 0 shows everything whole.
 */
struct coltab_col {
	const char *head;
	int prio;  /* 0: always shown; else the lowest goes first when too wide */
	bool left; /* left-aligned, else right-aligned */
	bool flex; /* may be cut in the middle (names, paths) */
	int gap;   /* spaces before it; 0 means 1 */
};

struct coltab;

struct coltab *coltab_create(const struct coltab_col *cols, size_t ncols);
void coltab_destroy(struct coltab *t);
/* A row of ncols cells (copied); 0 or -ENOMEM. */
int coltab_add(struct coltab *t, const char *const *cells);
/* Chooses the columns shown and their widths for width columns (0: no limit). */
void coltab_fit(struct coltab *t, int width);
/* Is column i shown (after coltab_fit)? */
bool coltab_shown(const struct coltab *t, size_t i);
/* The header and the rows, as fitted; cut cells show ellipsis in their middle. */
void coltab_print(const struct coltab *t, FILE *out, const char *ellipsis);

/* Columns s takes on a terminal: one per UTF-8 character. */
int coltab_width(const char *s);
/* s cut to at most w columns, its middle replaced by ellipsis, into buf. */
void coltab_cut(const char *s, int w, const char *ellipsis, char *buf, size_t len);
/*
 * text as lines of at most width columns (0: one line), broken at spaces,
 * the continuation lines indented by indent spaces; a word too long for a
 * line is broken where the line ends.
 */
void coltab_wrap(FILE *out, const char *text, int width, int indent);

#endif
