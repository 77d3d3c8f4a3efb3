#ifndef SWEEPD_U64MAP_H
#define SWEEPD_U64MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An open-addressing map from uint64_t to non-NULL pointers. */
struct u64map;

struct u64map *u64map_create(void);
void u64map_destroy(struct u64map *m);
void *u64map_get(const struct u64map *m, uint64_t key);
/* Sets key to val (non-NULL); returns 0 or -ENOMEM. */
int u64map_put(struct u64map *m, uint64_t key, void *val);
void u64map_del(struct u64map *m, uint64_t key);
size_t u64map_len(const struct u64map *m);
/* Calls fn for every entry; fn must not change the map. */
void u64map_foreach(struct u64map *m, void (*fn)(uint64_t key, void *val, void *ud), void *ud);
/*
 * Removes every entry drop(key, val, ud) says true of (drop must not change
 * the map); gone(key, val, ud), when not NULL, is told of each just before it
 * goes, and may free what val points to. 0, or -ENOMEM with nothing removed
 * and gone never called.
 */
int u64map_drop_if(struct u64map *m, bool (*drop)(uint64_t key, void *val, void *ud),
		   void (*gone)(uint64_t key, void *val, void *ud), void *ud);

#endif
