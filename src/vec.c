#include "vec.h"

#include <stdint.h>
#include <stdlib.h>

void *vec_grow(void *buf, size_t *cap, size_t need, size_t elem)
{
	size_t n = *cap ? *cap * 2 : 16;
	void *grown;

	if (need <= *cap)
		return buf;
	if (n < need)
		n = need;
	if (n > SIZE_MAX / elem)
		return NULL;
	grown = realloc(buf, n * elem);
	if (grown)
		*cap = n;
	return grown;
}
