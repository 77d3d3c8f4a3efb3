#ifndef SWEEPD_UNITS_H
#define SWEEPD_UNITS_H

#include <stdint.h>

/* Parsers for the config's value syntax. Each returns 0 or -EINVAL. */

/* "512K", "300M", "1.5T", "123" (bytes); binary units K M G T P. */
int units_parse_size(const char *s, uint64_t *out);
/* "90s", "15m", "1h", "7d", "2w", "123" (seconds). */
int units_parse_duration(const char *s, int64_t *out);
/* "85%" or "85.5%"; 0 to 100. */
int units_parse_percent(const char *s, double *out);

/* Human forms for display: "1.5G", "6d 23h". Write into buf, return buf. */
/*
 * What a file of size bytes with blocks (512-byte units) holds on disk: its
 * allocated bytes when fewer than its size (a sparse file, a log with a hole),
 * else its size (a last block not full, or preallocated past its end).
 */
uint64_t units_data_bytes(uint64_t size, uint64_t blocks);
const char *units_format_size(uint64_t bytes, char *buf, int len);
const char *units_format_age(int64_t seconds, char *buf, int len);

#endif
