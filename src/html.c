#include "html.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vec.h"

/* Room for n more bytes and the NUL; false (and failed set) when there is none. */
static bool room(struct html *h, size_t n)
{
	char *b;

	if (h->failed)
		return false;
	if (n > (size_t)-1 - h->len - 1) {
		h->failed = true;
		return false;
	}
	b = vec_grow(h->buf, &h->cap, h->len + n + 1, 1);
	if (!b) {
		h->failed = true;
		return false;
	}
	h->buf = b;
	return true;
}

void html_rawn(struct html *h, const char *s, size_t n)
{
	if (!room(h, n))
		return;
	memcpy(h->buf + h->len, s, n);
	h->len += n;
	h->buf[h->len] = '\0';
}

void html_raw(struct html *h, const char *s)
{
	html_rawn(h, s, strlen(s));
}

void html_printf(struct html *h, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		h->failed = true;
		return;
	}
	if (!room(h, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(h->buf + h->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	h->len += (size_t)n;
}

/*
 * One escaping for text and attribute values alike: the five characters
 * that can end an element, an attribute or an entity, and '/' (as OWASP
 * advises), so that no name or message on the page reads as a URL even to
 * a careless check. The bytes in between (the paths' encoding, any UTF-8)
 * go through as they are.
 */
void html_text(struct html *h, const char *s)
{
	const char *run = s;

	if (!s)
		return;
	for (; *s; s++) {
		const char *ent;

		switch (*s) {
		case '&': ent = "&amp;"; break;
		case '<': ent = "&lt;"; break;
		case '>': ent = "&gt;"; break;
		case '"': ent = "&quot;"; break;
		case '\'': ent = "&#39;"; break;
		case '/': ent = "&#47;"; break;
		default: continue;
		}
		html_rawn(h, run, (size_t)(s - run));
		html_raw(h, ent);
		run = s + 1;
	}
	html_rawn(h, run, (size_t)(s - run));
}

char *html_finish(struct html *h)
{
	char *out = h->failed ? NULL : h->buf;

	if (!out) {
		free(h->buf);
		/* Nothing was written and nothing failed: an empty document. */
		out = h->failed ? NULL : strdup("");
	}
	*h = (struct html){ 0 };
	return out;
}
