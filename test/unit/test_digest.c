#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "digest.h"

static void hex_of(bool md5, const char *s, char *out)
{
	struct digest *d = digest_new(md5);
	unsigned char raw[DIGEST_MAX];
	size_t n;

	assert_non_null(d);
	digest_update(d, s, strlen(s));
	n = digest_final(d, raw);
	assert_int_equal(n, md5 ? 16 : 32);
	digest_hex(raw, n, out);
	digest_free(d);
}

/* The known vectors (FIPS 180-2, RFC 1321) of "" and "abc". */
static void known_vectors(void **state)
{
	char hex[DIGEST_HEX_MAX];

	(void)state;
	hex_of(false, "", hex);
	assert_string_equal(hex,
			    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	hex_of(false, "abc", hex);
	assert_string_equal(hex,
			    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	hex_of(true, "", hex);
	assert_string_equal(hex, "d41d8cd98f00b204e9800998ecf8427e");
	hex_of(true, "abc", hex);
	assert_string_equal(hex, "900150983cd24fb0d6963f7d28e17f72");
	assert_int_equal(digest_hex_of(false, "abc", 3, hex), 0);
	assert_string_equal(hex,
			    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(digest_hex_of(true, NULL, 0, hex), 0);
	assert_string_equal(hex, "d41d8cd98f00b204e9800998ecf8427e");
}

/* In pieces, as a file read part by part: the same as in one go. */
static void in_pieces(void **state)
{
	struct digest *d = digest_new(false);
	unsigned char raw[DIGEST_MAX];
	char hex[DIGEST_HEX_MAX];

	(void)state;
	assert_non_null(d);
	digest_update(d, "a", 1);
	digest_update(d, "", 0);
	digest_update(d, "bc", 2);
	digest_hex(raw, digest_final(d, raw), hex);
	digest_free(d);
	assert_string_equal(hex,
			    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	digest_free(NULL);
}

/* Content-MD5 is the base64 of the raw MD5 (RFC 4648's vectors, then MD5("")'s). */
static void base64(void **state)
{
	static const struct {
		const char *in, *out;
	} v[] = { { "", "" },
		  { "f", "Zg==" },
		  { "fo", "Zm8=" },
		  { "foo", "Zm9v" },
		  { "foob", "Zm9vYg==" },
		  { "fooba", "Zm9vYmE=" },
		  { "foobar", "Zm9vYmFy" } };
	unsigned char raw[DIGEST_MAX];
	char out[64];
	struct digest *d;

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t n = digest_base64((const unsigned char *)v[i].in, strlen(v[i].in), out);

		assert_string_equal(out, v[i].out);
		assert_int_equal(n, strlen(v[i].out));
	}
	d = digest_new(true);
	assert_non_null(d);
	digest_base64(raw, digest_final(d, raw), out);
	digest_free(d);
	assert_string_equal(out, "1B2M2Y8AsgTpgAmY7PhCfg==");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(known_vectors),
		cmocka_unit_test(in_pieces),
		cmocka_unit_test(base64),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
