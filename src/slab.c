#include "slab.h"

#include <stdint.h>
#include <stdlib.h>

#if defined(__SANITIZE_ADDRESS__)
#define SLAB_PASSTHROUGH 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLAB_PASSTHROUGH 1
#endif
#endif

#define SLAB_MAX 256
#define SLAB_CLASSES (SLAB_MAX / 8)
#define SLAB_CHUNK (256 * 1024)

struct slab_chunk {
	struct slab_chunk *next;
	char data[];
};

struct slab {
	void *free_list[SLAB_CLASSES + 1];
	struct slab_chunk *chunks;
	char *cur;
	size_t left;
};

struct slab *slab_create(void)
{
	return calloc(1, sizeof(struct slab));
}

void slab_destroy(struct slab *s)
{
	if (!s)
		return;
	while (s->chunks) {
		struct slab_chunk *next = s->chunks->next;
		free(s->chunks);
		s->chunks = next;
	}
	free(s);
}

static size_t slab_round(size_t size)
{
	return (size + 7) & ~(size_t)7;
}

void *slab_alloc(struct slab *s, size_t size)
{
	size_t r = slab_round(size), cls = r / 8;
	void *p;

#ifdef SLAB_PASSTHROUGH
	r = SLAB_MAX + 1;
#endif
	if (r > SLAB_MAX)
		return malloc(size);
	if (s->free_list[cls]) {
		p = s->free_list[cls];
		s->free_list[cls] = *(void **)p;
		return p;
	}
	if (s->left < r) {
		struct slab_chunk *c = malloc(sizeof(*c) + SLAB_CHUNK);
		if (!c)
			return NULL;
		c->next = s->chunks;
		s->chunks = c;
		s->cur = c->data;
		s->left = SLAB_CHUNK;
	}
	p = s->cur;
	s->cur += r;
	s->left -= r;
	return p;
}

void slab_free(struct slab *s, void *p, size_t size)
{
	size_t r = slab_round(size);

#ifdef SLAB_PASSTHROUGH
	r = SLAB_MAX + 1;
#endif
	if (!p)
		return;
	if (r > SLAB_MAX) {
		free(p);
		return;
	}
	*(void **)p = s->free_list[r / 8];
	s->free_list[r / 8] = p;
}
