/* libFuzzer target: any bytes as archive.idx lines must apply or be refused cleanly. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "archive_index.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct archive_index *ix = archive_index_create();
	char *text = malloc(size + 1), *save = NULL;

	if (ix && text) {
		memcpy(text, data, size);
		text[size] = '\0';
		for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			archive_index_apply(ix, line);
		for (struct archive_entry *e = archive_index_next(ix, NULL); e;
		     e = archive_index_next(ix, e))
			free(archive_index_line(e, true));
	}
	free(text);
	archive_index_destroy(ix);
	return 0;
}
