#ifndef SWEEPD_VEC_H
#define SWEEPD_VEC_H

#include <stddef.h>

/*
 * Room for `need` elements of `elem` bytes in buf, whose capacity *cap counts
 * elements: returns buf itself when it is big enough, else a larger copy
 * (at least doubled) with *cap updated, or NULL with buf and *cap untouched.
 */
void *vec_grow(void *buf, size_t *cap, size_t need, size_t elem);

#endif
