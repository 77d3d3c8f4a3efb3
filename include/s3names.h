#ifndef SWEEPD_S3NAMES_H
#define SWEEPD_S3NAMES_H

#include <stddef.h>

/*
 * Names in S3 requests, spelled the one way SigV4 signs them. libcurl 7.88
 * signs what it is given (CURLOPT_AWS_SIGV4) but neither encodes object keys
 * nor sorts query strings: a key or query spelled otherwise than the server
 * spells it when it checks the signature gets 403 SignatureDoesNotMatch. So
 * keys and queries are built here, already canonical. Pure: no I/O.
 */

/*
 * key percent-encoded for a URL path: every byte but the unreserved ones
 * (A-Z a-z 0-9 - . _ ~) and '/' as %XX (upper case), as SigV4's canonical
 * URI has them. The bytes of a name are not text: any byte, UTF-8 or not, is
 * encoded. 0, or -ENAMETOOLONG when it does not fit in outlen (with its NUL).
 */
int s3_key_encode(const char *key, char *out, size_t outlen);

struct s3_param {
	const char *name;
	const char *value; /* "" for a flag such as "uploads" (written "uploads=") */
};

/*
 * A canonical query string: each name and value encoded as s3_key_encode
 * does but '/' too, joined as name=value (the '=' always there, "uploads="),
 * sorted by encoded name then value, separated by '&'. n may be 0 (""). 0,
 * -ENAMETOOLONG, or -ENOMEM.
 */
int s3_query(const struct s3_param *params, size_t n, char *out, size_t outlen);

#endif
