#include "digest.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>

struct digest {
	EVP_MD_CTX *ctx;
};

struct digest *digest_new(bool md5)
{
	struct digest *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->ctx = EVP_MD_CTX_new();
	if (!d->ctx || !EVP_DigestInit_ex(d->ctx, md5 ? EVP_md5() : EVP_sha256(), NULL)) {
		digest_free(d);
		return NULL;
	}
	return d;
}

void digest_update(struct digest *d, const void *buf, size_t n)
{
	/* Fails only on a context that was never set up, which digest_new refuses. */
	if (n)
		EVP_DigestUpdate(d->ctx, buf, n);
}

size_t digest_final(struct digest *d, unsigned char *out)
{
	unsigned int n = 0;

	if (!EVP_DigestFinal_ex(d->ctx, out, &n))
		return 0;
	return n;
}

void digest_free(struct digest *d)
{
	if (!d)
		return;
	EVP_MD_CTX_free(d->ctx);
	free(d);
}

void digest_hex(const unsigned char *raw, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[2 * n] = '\0';
}

size_t digest_base64(const unsigned char *raw, size_t n, char *out)
{
	/* EVP_EncodeBlock writes the NUL too, and no newlines. */
	return (size_t)EVP_EncodeBlock((unsigned char *)out, raw, (int)n);
}

int digest_hex_of(bool md5, const void *buf, size_t n, char *out)
{
	struct digest *d = digest_new(md5);
	unsigned char raw[DIGEST_MAX];
	size_t len;

	if (!d)
		return -ENOMEM;
	digest_update(d, buf, n);
	len = digest_final(d, raw);
	digest_free(d);
	if (!len)
		return -ENOMEM;
	digest_hex(raw, len, out);
	return 0;
}
