#ifndef SWEEPD_SLAB_H
#define SWEEPD_SLAB_H

#include <stddef.h>

/*
 * Size-class allocator for the table's many small records: no per-object
 * header and 8-byte rounding instead of malloc's 16, which is most of the
 * memory a tracked file costs. Under AddressSanitizer it falls through to
 * malloc so that every object stays checked.
 */
struct slab;

struct slab *slab_create(void);
void slab_destroy(struct slab *s);
void *slab_alloc(struct slab *s, size_t size);
void slab_free(struct slab *s, void *p, size_t size);

#endif
