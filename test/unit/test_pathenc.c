#include <errno.h>
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

/* Human escaping: escape gives want, unescape gives the bytes back, no raw control byte. */
static void esc_roundtrip(const char *bytes, const char *want)
{
	char *esc = pathenc_escape(bytes), *back = NULL;
	size_t at = 99;

	assert_non_null(esc);
	if (want)
		assert_string_equal(esc, want);
	for (const unsigned char *p = (const unsigned char *)esc; *p; p++)
		assert_true(*p >= 0x20 && *p != 0x7f);
	assert_int_equal(pathenc_unescape(esc, &back, &at), 0);
	assert_string_equal(back, bytes);
	free(esc);
	free(back);
}

static void escape_plain_and_chinese_unchanged(void **state)
{
	(void)state;
	esc_roundtrip("/srv/out/plain file.mp4", "/srv/out/plain file.mp4");
	esc_roundtrip("数字人 视频.mp4", "数字人 视频.mp4");
	esc_roundtrip("quote\"s'", "quote\"s'");
	esc_roundtrip("", "");
	/* A private-use character, valid UTF-8: shown as it is. */
	esc_roundtrip("\xee\xbe\x80pua", "\xee\xbe\x80pua");
}

static void escape_controls_and_backslash(void **state)
{
	(void)state;
	esc_roundtrip("x\nsweepd: error: FORGED LINE.log", "x\\x0asweepd: error: FORGED LINE.log");
	esc_roundtrip("\x1b[31mred\x1b]0;title\x07", "\\x1b[31mred\\x1b]0;title\\x07");
	esc_roundtrip("tab\there\r\x7f", "tab\\x09here\\x0d\\x7f");
	/* A literal backslash-x-f-f and the byte 0xff print differently. */
	esc_roundtrip("lit\\xff.txt", "lit\\\\xff.txt");
	esc_roundtrip("lit\xff.txt", "lit\\xff.txt");
	esc_roundtrip("\\", "\\\\");
	/* Invalid UTF-8: a lone continuation, a truncated sequence, an overlong form, a surrogate. */
	esc_roundtrip("\x80", "\\x80");
	esc_roundtrip("a\xe4\xb8", "a\\xe4\\xb8");
	esc_roundtrip("\xc0\xaf", "\\xc0\\xaf");
	esc_roundtrip("\xed\xa0\x80", "\\xed\\xa0\\x80");
}

static void escape_terminal_and_bidi_characters(void **state)
{
	(void)state;
	/* U+009B, the 8-bit CSI; U+202E right-to-left override; U+2028 line separator. */
	esc_roundtrip("a\xc2\x9b" "31mb", "a\\xc2\\x9b31mb");
	esc_roundtrip("evil\xe2\x80\xaegpj.exe", "evil\\xe2\\x80\\xaegpj.exe");
	esc_roundtrip("one\xe2\x80\xa8two", "one\\xe2\\x80\\xa8two");
	esc_roundtrip("\xe2\x81\xa6x\xe2\x81\xa9", "\\xe2\\x81\\xa6x\\xe2\\x81\\xa9");
	/* Neighbours that are plain text stay: U+00A0, U+2030. */
	esc_roundtrip("\xc2\xa0\xe2\x80\xb0", "\xc2\xa0\xe2\x80\xb0");
}

static void escape_every_byte_and_random_names(void **state)
{
	char buf[64];
	uint32_t x = 12345;

	(void)state;
	for (int b = 1; b < 256; b++) {
		buf[0] = 'a';
		buf[1] = (char)b;
		buf[2] = '\0';
		esc_roundtrip(buf, NULL);
	}
	for (int k = 0; k < 20000; k++) {
		size_t n = 1 + k % 40;
		for (size_t i = 0; i < n; i++) {
			x = x * 1103515245u + 12345u;
			buf[i] = (char)(1 + (x >> 16) % 255);
		}
		buf[n] = '\0';
		esc_roundtrip(buf, NULL);
	}
}

static void escape_to_never_cuts_an_escape(void **state)
{
	char out[8];

	(void)state;
	assert_int_equal(pathenc_escape_to("\xff\xff", out, 6), 4);
	assert_string_equal(out, "\\xff");
	assert_int_equal(pathenc_escape_to("ab\\", out, 4), 2);
	assert_string_equal(out, "ab");
	assert_int_equal(pathenc_escape_to("数字", out, 5), 3);
	assert_string_equal(out, "数");
	assert_int_equal(pathenc_escape_to("abc", out, 1), 0);
	assert_string_equal(out, "");
}

static void unescape_refuses_stray_backslashes(void **state)
{
	static const struct {
		const char *text;
		size_t at;
	} bad[] = {
		{"a\\q", 1}, {"end\\", 3}, {"\\x0", 0}, {"\\x", 0}, {"ok\\\\\\xg0", 4},
		{"\\x00", 0}, {"\\n", 0}, {"\\x1", 0},
	};
	char *out = (char *)1;
	size_t at;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		at = 99;
		assert_int_equal(pathenc_unescape(bad[i].text, &out, &at), -EINVAL);
		assert_null(out);
		assert_int_equal(at, bad[i].at);
	}
	/* Upper-case hex is read too; raw bytes without a backslash pass as they are. */
	assert_int_equal(pathenc_unescape("A\\xFF\\x0A\n\xfe", &out, &at), 0);
	assert_string_equal(out, "A\xff\n\n\xfe");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(valid_utf8_unchanged),
		cmocka_unit_test(invalid_bytes_escaped),
		cmocka_unit_test(escape_range_is_escaped_too),
		cmocka_unit_test(every_byte_roundtrips),
		cmocka_unit_test(escape_plain_and_chinese_unchanged),
		cmocka_unit_test(escape_controls_and_backslash),
		cmocka_unit_test(escape_terminal_and_bidi_characters),
		cmocka_unit_test(escape_every_byte_and_random_names),
		cmocka_unit_test(escape_to_never_cuts_an_escape),
		cmocka_unit_test(unescape_refuses_stray_backslashes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
