/*
 * libFuzzer target: the human escaping of file names. Escaping any name and
 * unescaping the text gives the name back; the text never holds a raw control
 * byte; a cut escaping (escape_to into a short buffer) is a prefix of the
 * whole; and any text that unescapes gives bytes that go round again.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pathenc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *name = malloc(size + 1), *esc, *back = NULL, *again = NULL, *cut;
	size_t at, limit;

	if (!name)
		return 0;
	memcpy(name, data, size);
	name[size] = '\0';
	esc = pathenc_escape(name);
	if (!esc)
		goto out;
	for (const unsigned char *p = (const unsigned char *)esc; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			abort();
	if (pathenc_unescape(esc, &back, &at) != 0 || strcmp(back, name))
		abort();
	free(back);
	back = NULL;

	limit = size ? data[0] : 0;
	cut = malloc(limit + 1);
	if (cut) {
		size_t n = pathenc_escape_to(name, cut, limit + 1);
		if (n != strlen(cut) || n > limit || strncmp(cut, esc, n))
			abort();
		free(cut);
	}

	/* The input as text: refused or read; what is read goes round again. */
	if (pathenc_unescape(name, &back, &at) == 0) {
		char *e2 = pathenc_escape(back);
		if (e2 && (pathenc_unescape(e2, &again, &at) != 0 || strcmp(again, back)))
			abort();
		free(e2);
	} else if (back || at > size) {
		abort();
	}
out:
	free(again);
	free(back);
	free(esc);
	free(name);
	return 0;
}
