#ifndef SWEEPD_DIGEST_H
#define SWEEPD_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

/*
 * SHA-256 and MD5 from libcrypto (EVP), and the spellings S3 wants of them:
 * lower-case hex (x-amz-content-sha256, ETags) and base64 (Content-MD5).
 */

#define DIGEST_MAX 32			    /* the raw bytes of the longer one, SHA-256 */
#define DIGEST_HEX_MAX (2 * DIGEST_MAX + 1) /* its hex, with the NUL */

struct digest;

/* An MD5 (md5) or SHA-256 under way; NULL when libcrypto cannot make one. */
struct digest *digest_new(bool md5);
void digest_update(struct digest *d, const void *buf, size_t n);
/* The raw digest into out (DIGEST_MAX bytes of room), its length returned; d is spent. */
size_t digest_final(struct digest *d, unsigned char *out);
void digest_free(struct digest *d);

/* raw's n bytes as 2n lower-case hex digits and a NUL. */
void digest_hex(const unsigned char *raw, size_t n, char *out);
/* raw's n bytes in base64 (4 * ((n + 2) / 3) characters and a NUL); the length returned. */
size_t digest_base64(const unsigned char *raw, size_t n, char *out);

/* The hex digest of buf in one go, into out (DIGEST_HEX_MAX); -ENOMEM. */
int digest_hex_of(bool md5, const void *buf, size_t n, char *out);

#endif
