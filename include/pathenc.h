#ifndef SWEEPD_PATHENC_H
#define SWEEPD_PATHENC_H

#include <stdbool.h>
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
/* Is bytes well-formed UTF-8 (no overlong form, surrogate, or value past U+10FFFF)? */
bool pathenc_is_utf8(const char *bytes);

/* A path as a JSON string in this encoding (a JSON null when out of memory). */
struct json_object;
struct json_object *pathenc_json(const char *bytes);

/*
 * File names in human text (the daemon's log, sweepctl's tables and
 * messages): a name is one visible run of text that gives its bytes back.
 *   \\     a backslash;
 *   \xHH   (lowercase hex) one byte, for every control byte (0x01..0x1f, 0x7f),
 *          every byte that is not part of valid UTF-8, and each byte of a
 *          character that drives a terminal or reorders text: C1 controls
 *          U+0080..U+009F, U+061C, U+200E, U+200F, U+2028..U+202E, U+2066..U+2069.
 * Everything else, valid UTF-8 (Chinese names too), stays as it is.
 */
#define PATHENC_ESCAPED_MAX(len) (4 * (len) + 1)
/* Escapes bytes into out (size > 0), never cutting an escape; returns the length written. */
size_t pathenc_escape_to(const char *bytes, char *out, size_t size);
/* Returns a malloc'd escaped string, or NULL when out of memory. */
char *pathenc_escape(const char *bytes);
/*
 * The bytes back from escaped text, malloc'd into *out. Text without a
 * backslash is taken as it is. Returns 0, -ENOMEM, or -EINVAL for a backslash
 * not followed by a backslash or xHH (or \x00), with its offset in *bad_at.
 */
int pathenc_unescape(const char *text, char **out, size_t *bad_at);

#endif
