#include "pathenc.h"

#include <json-c/json.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if it is not one. */
static size_t utf8_seq(const unsigned char *s, uint32_t *cp)
{
	size_t n;
	uint32_t c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	} else if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		c = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		c = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF are invalid. */
	if ((n == 2 && c < 0x80) || (n == 3 && c < 0x800) || (n == 4 && c < 0x10000) ||
	    (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		return 0;
	*cp = c;
	return n;
}

bool pathenc_is_utf8(const char *bytes)
{
	const unsigned char *s = (const unsigned char *)bytes;
	uint32_t cp;
	size_t n;

	for (; *s; s += n)
		if (!(n = utf8_seq(s, &cp)))
			return false;
	return true;
}

static bool is_escape_cp(uint32_t cp)
{
	return cp >= 0xef80 && cp <= 0xefff;
}

char *pathenc_encode(const char *bytes)
{
	const unsigned char *s = (const unsigned char *)bytes;
	size_t len = strlen(bytes);
	char *out = malloc(len * 3 + 1), *o = out;

	if (!out)
		return NULL;
	while (*s) {
		uint32_t cp;
		size_t n = utf8_seq(s, &cp);

		if (n && !is_escape_cp(cp)) {
			memcpy(o, s, n);
			o += n;
			s += n;
			continue;
		}
		if (!n)
			n = 1;
		for (size_t i = 0; i < n; i++) {
			/* U+EF00 + byte, as three UTF-8 bytes: EF BC|BD|BE|BF xx. */
			uint32_t e = 0xef00 + s[i];
			*o++ = (char)(0xe0 | (e >> 12));
			*o++ = (char)(0x80 | ((e >> 6) & 0x3f));
			*o++ = (char)(0x80 | (e & 0x3f));
		}
		s += n;
	}
	*o = '\0';
	return out;
}

char *pathenc_decode(const char *utf8)
{
	const unsigned char *s = (const unsigned char *)utf8;
	char *out = malloc(strlen(utf8) + 1), *o = out;

	if (!out)
		return NULL;
	while (*s) {
		uint32_t cp;
		size_t n = utf8_seq(s, &cp);

		if (n == 3 && is_escape_cp(cp)) {
			*o++ = (char)(cp & 0xff);
		} else {
			if (!n)
				n = 1;
			memcpy(o, s, n);
			o += n;
		}
		s += n;
	}
	*o = '\0';
	return out;
}

json_object *pathenc_json(const char *bytes)
{
	char *enc = pathenc_encode(bytes);
	json_object *o = enc ? json_object_new_string(enc) : json_object_new_null();

	free(enc);
	return o;
}

/* Characters that move a terminal's cursor, end a line in some viewers, or reorder text. */
static bool is_hidden_cp(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x61c || cp == 0x200e || cp == 0x200f ||
	       (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/* One pass over the name: each character either stays or becomes escapes, whole. */
size_t pathenc_escape_to(const char *bytes, char *out, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)bytes;
	size_t o = 0;

	while (*s) {
		uint32_t cp = 0;
		size_t n = utf8_seq(s, &cp);
		bool plain = n && cp >= 0x20 && cp != 0x7f && cp != '\\' && !is_hidden_cp(cp);
		size_t need = plain ? n : cp == '\\' && n ? 2 : 4 * (n ? n : 1);

		if (o + need >= size)
			break;
		if (plain) {
			memcpy(out + o, s, n);
			o += n;
		} else if (cp == '\\' && n) {
			out[o++] = '\\';
			out[o++] = '\\';
		} else {
			for (size_t i = 0; i < (n ? n : 1); i++) {
				out[o++] = '\\';
				out[o++] = 'x';
				out[o++] = hex[s[i] >> 4];
				out[o++] = hex[s[i] & 15];
			}
		}
		s += n ? n : 1;
	}
	out[o] = '\0';
	return o;
}

char *pathenc_escape(const char *bytes)
{
	size_t size = PATHENC_ESCAPED_MAX(strlen(bytes));
	char *out = malloc(size);

	if (out)
		pathenc_escape_to(bytes, out, size);
	return out;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Strict on purpose: a stray backslash is an error, never a guess at what was meant. */
int pathenc_unescape(const char *text, char **out, size_t *bad_at)
{
	char *buf = malloc(strlen(text) + 1), *o = buf;

	*out = NULL;
	if (!buf)
		return -ENOMEM;
	for (const char *s = text; *s; s++) {
		int hi, lo;

		if (*s != '\\') {
			*o++ = *s;
		} else if (s[1] == '\\') {
			*o++ = '\\';
			s++;
		} else if (s[1] == 'x' && (hi = hexval(s[2])) >= 0 && (lo = hexval(s[3])) >= 0 &&
			   (hi | lo)) {
			*o++ = (char)(hi << 4 | lo);
			s += 3;
		} else {
			if (bad_at)
				*bad_at = (size_t)(s - text);
			free(buf);
			return -EINVAL;
		}
	}
	*o = '\0';
	*out = buf;
	return 0;
}
