#ifndef SWEEPD_PATHENC_H
#define SWEEPD_PATHENC_H

#include <stddef.h>

/*
 * File names are bytes; JSON strings are UTF-8. Every byte that is not part
 * of a valid UTF-8 sequence, and every byte of a character in the range
 * U+EF80..U+EFFF (so that the mapping stays one-to-one), is written as the
 * character U+EF00 + byte. Decoding maps each U+EF80..U+EFFF back to its
 * byte. Valid UTF-8 names, the common case, pass through unchanged.
 */

/* Returns a malloc'd encoded string, or NULL when out of memory. */
char *pathenc_encode(const char *bytes);
/* Returns a malloc'd decoded byte string, or NULL when out of memory. */
char *pathenc_decode(const char *utf8);

/* A path as a JSON string in this encoding (a JSON null when out of memory). */
struct json_object;
struct json_object *pathenc_json(const char *bytes);

#endif
