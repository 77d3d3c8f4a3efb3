#include "coltab.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

/* A flex column gives up its width down to this before any column goes. */
#define COLTAB_SOFT 16
/* ... and down to this when nothing else can give. */
#define COLTAB_MIN 6

struct coltab {
	const struct coltab_col *cols;
	size_t ncols, nrows, cap;
	char **cells; /* row-major; row 0 is the header */
	int *w;
	bool *shown;
};

struct coltab *coltab_create(const struct coltab_col *cols, size_t ncols)
{
	struct coltab *t = calloc(1, sizeof(*t));
	const char **head = calloc(ncols, sizeof(*head));

	if (t)
		*t = (struct coltab){ .cols = cols, .ncols = ncols };
	if (!t || !head || !(t->w = calloc(ncols, sizeof(*t->w))) ||
	    !(t->shown = calloc(ncols, sizeof(*t->shown)))) {
		free(head);
		coltab_destroy(t);
		return NULL;
	}
	for (size_t i = 0; i < ncols; i++) {
		head[i] = cols[i].head;
		t->shown[i] = true;
	}
	if (coltab_add(t, head) < 0) {
		free(head);
		coltab_destroy(t);
		return NULL;
	}
	free(head);
	return t;
}

void coltab_destroy(struct coltab *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->w);
	free(t->shown);
	free(t);
}

int coltab_add(struct coltab *t, const char *const *cells)
{
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 8;
		char **v = realloc(t->cells, cap * t->ncols * sizeof(*v));
		if (!v)
			return -ENOMEM;
		t->cells = v;
		t->cap = cap;
	}
	for (size_t i = 0; i < t->ncols; i++) {
		char *c = strdup(cells[i] ? cells[i] : "");
		if (!c) {
			while (i--)
				free(t->cells[t->nrows * t->ncols + i]);
			return -ENOMEM;
		}
		t->cells[t->nrows * t->ncols + i] = c;
	}
	t->nrows++;
	return 0;
}

/*
 * The character at s (at most len bytes): returns its bytes (at least 1) and
 * puts its columns in *w, as wcwidth(3) says in the current locale (2 for
 * CJK, 0 for a combining mark). A byte that starts no valid UTF-8 sequence,
 * and a character the locale cannot measure, take one column each.
 */
static size_t char_at(const char *s, size_t len, int *w)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = u[0] < 0x80 ? 1 : u[0] >= 0xc2 && u[0] < 0xe0 ? 2 : u[0] >= 0xe0 && u[0] < 0xf0 ? 3
		 : u[0] >= 0xf0 && u[0] < 0xf5 ? 4 : 0;
	wchar_t c;
	int cw;

	*w = 1;
	if (n == 0 || n > len)
		return 1;
	c = n == 1 ? u[0] : u[0] & (0x7f >> n);
	for (size_t i = 1; i < n; i++) {
		if ((u[i] & 0xc0) != 0x80)
			return 1;
		c = (c << 6) | (u[i] & 0x3f);
	}
	cw = wcwidth(c);
	*w = cw >= 0 ? cw : 1;
	return n;
}

/* Columns taken by the first len bytes of s. */
static int span_width(const char *s, size_t len)
{
	int n = 0, w;

	for (size_t i = 0; i < len && s[i]; n += w)
		i += char_at(s + i, len - i, &w);
	return n;
}

int coltab_width(const char *s)
{
	return span_width(s, strlen(s));
}

/* Bytes of the longest start of s that takes at most n columns (with its marks). */
static size_t prefix_bytes(const char *s, int n)
{
	size_t b = 0, len = strlen(s);
	int w;

	while (s[b]) {
		size_t c = char_at(s + b, len - b, &w);

		if (w > n)
			break;
		n -= w;
		b += c;
	}
	return b;
}

/* Bytes of the shortest start of s that takes at least n columns (with its marks). */
static size_t prefix_past(const char *s, int n)
{
	size_t b = 0, len = strlen(s);
	int w;

	while (s[b]) {
		size_t c = char_at(s + b, len - b, &w);

		if (n <= 0 && w > 0)
			break;
		n -= w;
		b += c;
	}
	return b;
}

void coltab_cut(const char *s, int w, const char *ellipsis, char *buf, size_t len)
{
	int have = coltab_width(s), el = coltab_width(ellipsis), head, tail;
	const char *end;

	if (have <= w || w <= el) {
		size_t b = have <= w ? strlen(s) : prefix_bytes(s, w);
		snprintf(buf, len, "%.*s", (int)b, s);
		return;
	}
	/* The end of a path names the file: it keeps the larger half. */
	head = (w - el) / 2;
	tail = w - el - head;
	end = s + prefix_past(s, have - tail); /* a wide character never straddles the cut */
	snprintf(buf, len, "%.*s%s%s", (int)prefix_bytes(s, head), s, ellipsis, end);
}

static int gap_of(const struct coltab *t, size_t i)
{
	return t->cols[i].gap > 0 ? t->cols[i].gap : 1;
}

static int total(const struct coltab *t)
{
	int sum = 0;
	bool first = true;

	for (size_t i = 0; i < t->ncols; i++) {
		if (!t->shown[i])
			continue;
		sum += t->w[i] + (first ? 0 : gap_of(t, i));
		first = false;
	}
	return sum;
}

/* The widest shown flex column wider than floor; ncols when none. */
static size_t widest_flex(const struct coltab *t, int floor)
{
	size_t best = t->ncols;

	for (size_t i = 0; i < t->ncols; i++)
		if (t->shown[i] && t->cols[i].flex && t->w[i] > floor &&
		    (best == t->ncols || t->w[i] > t->w[best]))
			best = i;
	return best;
}

/* The shown column that goes first: the lowest priority, the rightmost of equals. */
static size_t least_needed(const struct coltab *t)
{
	size_t best = t->ncols;

	for (size_t i = 0; i < t->ncols; i++)
		if (t->shown[i] && t->cols[i].prio > 0 &&
		    (best == t->ncols || t->cols[i].prio <= t->cols[best].prio))
			best = i;
	return best;
}

/*
 * Too wide: names and paths give up width down to COLTAB_SOFT, then the
 * least important columns go, then names and paths down to COLTAB_MIN; what
 * is left over goes back to names and paths, up to their whole width.
 */
void coltab_fit(struct coltab *t, int width)
{
	int spare;
	size_t i;

	for (i = 0; i < t->ncols; i++) {
		t->w[i] = 0;
		for (size_t r = 0; r < t->nrows; r++) {
			int n = coltab_width(t->cells[r * t->ncols + i]);
			t->w[i] = n > t->w[i] ? n : t->w[i];
		}
		t->shown[i] = t->w[i] > 0; /* a column with nothing in it takes no room */
	}
	if (width <= 0)
		return;
	while (total(t) > width) {
		if ((i = widest_flex(t, COLTAB_SOFT)) < t->ncols)
			t->w[i]--;
		else if ((i = least_needed(t)) < t->ncols)
			t->shown[i] = false;
		else if ((i = widest_flex(t, COLTAB_MIN)) < t->ncols)
			t->w[i]--;
		else
			break;
	}
	spare = width - total(t);
	for (i = 0; i < t->ncols && spare > 0; i++) {
		int whole = 0, more;

		if (!t->shown[i] || !t->cols[i].flex)
			continue;
		for (size_t r = 0; r < t->nrows; r++) {
			int n = coltab_width(t->cells[r * t->ncols + i]);
			whole = n > whole ? n : whole;
		}
		more = whole - t->w[i] < spare ? whole - t->w[i] : spare;
		if (more > 0) {
			t->w[i] += more;
			spare -= more;
		}
	}
}

bool coltab_shown(const struct coltab *t, size_t i)
{
	return i < t->ncols && t->shown[i];
}

void coltab_print(const struct coltab *t, FILE *out, const char *ellipsis)
{
	size_t last = 0;

	for (size_t i = 0; i < t->ncols; i++)
		if (t->shown[i])
			last = i;
	for (size_t r = 0; r < t->nrows; r++) {
		bool first = true;

		for (size_t i = 0; i < t->ncols; i++) {
			const char *s = t->cells[r * t->ncols + i];
			char *cut = NULL;
			size_t len;
			int pad;

			if (!t->shown[i])
				continue;
			if (!first)
				fprintf(out, "%*s", gap_of(t, i), "");
			first = false;
			if (coltab_width(s) > t->w[i]) {
				len = strlen(s) + strlen(ellipsis) + 1;
				if ((cut = malloc(len)))
					coltab_cut(s, t->w[i], ellipsis, cut, len);
				s = cut ? cut : "";
			}
			pad = t->w[i] - coltab_width(s);
			if (t->cols[i].left)
				fprintf(out, "%s%*s", s, i == last ? 0 : pad, "");
			else
				fprintf(out, "%*s%s", pad, "", s);
			free(cut);
		}
		fputc('\n', out);
	}
}

void coltab_wrap(FILE *out, const char *text, int width, int indent)
{
	const char *p = text;
	bool fresh = true;
	int col = 0;

	if (width <= 0 || coltab_width(text) <= width) {
		fprintf(out, "%s\n", text);
		return;
	}
	if (indent > width / 2)
		indent = width / 2;
	while (*p == ' ')
		p++;
	while (*p) {
		const char *q = strchr(p, ' ');
		size_t len = q ? (size_t)(q - p) : strlen(p), done = 0;
		int ww = span_width(p, len);

		if (!fresh && col + 1 + ww > width) {
			fprintf(out, "\n%*s", indent, "");
			col = indent;
			fresh = true;
		}
		if (!fresh) {
			fputc(' ', out);
			col++;
		}
		/* A word longer than a line: broken where the line ends. */
		while (done < len) {
			int left = span_width(p + done, len - done), room = width - col, w;
			int n = left < room ? left : room;
			size_t b = prefix_bytes(p + done, n);

			if (b > len - done)
				b = len - done;
			if (!b && col > indent) {
				/* A wide character with one column left: it starts the next line. */
				fprintf(out, "\n%*s", indent, "");
				col = indent;
				continue;
			}
			if (!b)
				b = char_at(p + done, len - done, &w);
			fprintf(out, "%.*s", (int)b, p + done);
			col += span_width(p + done, b);
			done += b;
			if (done < len) {
				fprintf(out, "\n%*s", indent, "");
				col = indent;
			}
		}
		fresh = false;
		p += len;
		while (*p == ' ')
			p++;
	}
	fputc('\n', out);
}
