#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pathenc.h"

static void roundtrip(const char *bytes, const char *expect_enc)
{
	char *enc = pathenc_encode(bytes), *dec;

	assert_non_null(enc);
	if (expect_enc)
		assert_string_equal(enc, expect_enc);
	dec = pathenc_decode(enc);
	assert_non_null(dec);
	assert_string_equal(dec, bytes);
	free(enc);
	free(dec);
}

static void valid_utf8_unchanged(void **state)
{
	(void)state;
	roundtrip("plain.mp4", "plain.mp4");
	roundtrip("数字人 视频.mp4", "数字人 视频.mp4");
	roundtrip("quote\"and\nnewline", "quote\"and\nnewline");
	roundtrip("", "");
}

static void invalid_bytes_escaped(void **state)
{
	(void)state;
	/* 0xff -> U+EFFF = EE BF BF; 0x80 -> U+EF80 = EE BE 80. */
	roundtrip("a\xff" "b", "a\xee\xbf\xbf" "b");
	roundtrip("\x80", "\xee\xbe\x80");
	/* A truncated sequence, an overlong form and a surrogate. */
	roundtrip("x\xe4\xb8", NULL);
	roundtrip("\xc0\xaf", NULL);
	roundtrip("\xed\xa0\x80", NULL);
}

static void escape_range_is_escaped_too(void **state)
{
	char *enc;

	(void)state;
	/* A real U+EF80 in a name must not decode to a byte. */
	roundtrip("\xee\xbe\x80", NULL);
	enc = pathenc_encode("\xee\xbe\x80");
	assert_int_equal(strlen(enc), 9);
	free(enc);
}

static void every_byte_roundtrips(void **state)
{
	char buf[3];

	(void)state;
	for (int b = 1; b < 256; b++) {
		buf[0] = (char)b;
		buf[1] = 'z';
		buf[2] = '\0';
		roundtrip(buf, NULL);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(valid_utf8_unchanged),
		cmocka_unit_test(invalid_bytes_escaped),
		cmocka_unit_test(escape_range_is_escaped_too),
		cmocka_unit_test(every_byte_roundtrips),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
