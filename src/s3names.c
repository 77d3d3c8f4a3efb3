#include "s3names.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

/* s encoded into out at *at; slash: '/' kept as it is. */
static int encode(const char *s, bool slash, char *out, size_t outlen, size_t *at)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		bool keep = unreserved(*p) || (slash && *p == '/');

		if (*at + (keep ? 1 : 3) >= outlen)
			return -ENAMETOOLONG;
		if (keep) {
			out[(*at)++] = (char)*p;
		} else {
			out[(*at)++] = '%';
			out[(*at)++] = hex[*p >> 4];
			out[(*at)++] = hex[*p & 15];
		}
	}
	out[*at] = '\0';
	return 0;
}

int s3_key_encode(const char *key, char *out, size_t outlen)
{
	size_t at = 0;

	if (!outlen)
		return -ENAMETOOLONG;
	out[0] = '\0';
	return encode(key, true, out, outlen, &at);
}

struct encoded {
	char *name, *value;
};

static int by_name_then_value(const void *a, const void *b)
{
	const struct encoded *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->value, y->value);
}

/* One part of a parameter encoded into a buffer of its own (3 bytes a byte at most). */
static char *encoded(const char *s)
{
	size_t len = strlen(s) * 3 + 1, at = 0;
	char *out = malloc(len);

	if (out && encode(s, false, out, len, &at) < 0) {
		free(out);
		out = NULL;
	}
	return out;
}

int s3_query(const struct s3_param *params, size_t n, char *out, size_t outlen)
{
	struct encoded *v = n ? calloc(n, sizeof(*v)) : NULL;
	size_t at = 0;
	int r = 0;

	if (!outlen)
		return -ENAMETOOLONG;
	out[0] = '\0';
	if (n && !v)
		return -ENOMEM;
	for (size_t i = 0; i < n && !r; i++)
		if (!(v[i].name = encoded(params[i].name)) ||
		    !(v[i].value = encoded(params[i].value ? params[i].value : "")))
			r = -ENOMEM;
	if (!r && n)
		qsort(v, n, sizeof(*v), by_name_then_value);
	for (size_t i = 0; i < n && !r; i++) {
		size_t need = strlen(v[i].name) + 1 + strlen(v[i].value) + (i ? 1 : 0);

		if (at + need >= outlen) {
			r = -ENAMETOOLONG;
			break;
		}
		at += (size_t)sprintf(out + at, "%s%s=%s", i ? "&" : "", v[i].name, v[i].value);
	}
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].value);
	}
	free(v);
	if (r)
		out[0] = '\0';
	return r;
}
