#ifndef SWEEPD_LRIMPORT_PRIV_H
#define SWEEPD_LRIMPORT_PRIV_H

#include <stdbool.h>
#include <stddef.h>

#include "lrimport.h"

/* What lrimport_zone.c and lrimport_rotate.c share: the text being written. */
struct lrimport_buf {
	char *s;
	size_t n, cap;
	bool oom; /* set once an allocation failed; writing stops */
};

void lrimport_put(struct lrimport_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Text from the user's file inside a comment: one line, no control bytes. */
void lrimport_put_plain(struct lrimport_buf *b, const char *s);
/* A libconfig string literal. */
void lrimport_put_str(struct lrimport_buf *b, const char *s);
/* Whether path p is dir or lies within it. */
bool lrimport_within(const char *p, const char *dir);
/* The `rotate = { ... };` group of block bl for its logs in dir; -ENOMEM. */
int lrimport_rotate(struct lrimport_buf *b, const struct lrimport_block *bl, const char *dir);

#endif
