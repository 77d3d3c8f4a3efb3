/* libFuzzer target: encoding any file name and decoding it gives the name back. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pathenc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *name = malloc(size + 1), *enc, *dec;

	if (!name)
		return 0;
	memcpy(name, data, size);
	name[size] = '\0';
	enc = pathenc_encode(name);
	dec = enc ? pathenc_decode(enc) : NULL;
	if (dec && strcmp(dec, name))
		abort();
	free(dec);
	/* Decoding arbitrary input must not crash either. */
	dec = pathenc_decode(name);
	free(dec);
	free(enc);
	free(name);
	return 0;
}
