#ifndef SWEEPD_HTML_H
#define SWEEPD_HTML_H

#include <stdbool.h>
#include <stddef.h>

/*
 * A growable buffer that HTML is written into. The first allocation failure
 * sticks: every later write is dropped and html_finish() returns NULL, so
 * that a writer checks once, at the end.
 */
struct html {
	char *buf;
	size_t len, cap;
	bool failed;
};

/* Appends s as it is: markup the caller wrote, never data. */
void html_raw(struct html *h, const char *s);
void html_rawn(struct html *h, const char *s, size_t n);
__attribute__((format(printf, 2, 3))) void html_printf(struct html *h, const char *fmt, ...);
/*
 * Appends s escaped for both text and a quoted attribute value (& < > " ' /):
 * every string that comes from outside the page goes through here.
 * NULL is written as nothing.
 */
void html_text(struct html *h, const char *s);
/* The text built (the caller frees it), or NULL after a failure; h is emptied either way. */
char *html_finish(struct html *h);

#endif
