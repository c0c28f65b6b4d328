/* say: prompt lists as Asterisk's English say.c builds them, and that every
 * name exists in the installed asterisk-core-sounds. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "media/say.h"

#define SOUNDS_EN "/usr/share/asterisk/sounds/en"

static void expect_number(const char *number, const char *files)
{
	char buf[512];

	assert_int_equal(say_number_files(buf, sizeof(buf), number, "en"), 0);
	assert_string_equal(buf, files);
}

static void test_say_number_small_values_follow_asterisk_en(void **state)
{
	(void)state;
	expect_number("0", "digits/0");
	expect_number("7", "digits/7");
	expect_number("13", "digits/13");
	expect_number("20", "digits/20");
	expect_number("21", "digits/20&digits/1");
	expect_number("100", "digits/1&digits/hundred");
	expect_number("115", "digits/1&digits/hundred&digits/15");
	expect_number("999", "digits/9&digits/hundred&digits/90&digits/9");
}

static void test_say_number_thousands_and_millions(void **state)
{
	(void)state;
	expect_number("1000", "digits/1&digits/thousand");
	expect_number("1001", "digits/1&digits/thousand&digits/1");
	expect_number("12345", "digits/12&digits/thousand&digits/3&digits/hundred"
		      "&digits/40&digits/5");
	expect_number("1000000", "digits/1&digits/million");
	expect_number("2000300", "digits/2&digits/million&digits/3&digits/hundred");
	expect_number("3000000000", "digits/3&digits/billion");
}

static void test_say_number_sign_and_leading_zeros(void **state)
{
	(void)state;
	expect_number("-5", "digits/minus&digits/5");
	expect_number("007", "digits/7");
	expect_number("-0", "digits/0");
	expect_number("000", "digits/0");
}

static void test_say_number_rejects_bad_input(void **state)
{
	char buf[64];
	(void)state;

	assert_int_equal(say_number_files(buf, sizeof(buf), "abc", "en"), EINVAL);
	assert_int_equal(say_number_files(buf, sizeof(buf), "", "en"), EINVAL);
	assert_int_equal(say_number_files(buf, sizeof(buf), "-", "en"), EINVAL);
	assert_int_equal(say_number_files(buf, sizeof(buf), "12a", "en"), EINVAL);
	assert_int_equal(say_number_files(buf, sizeof(buf), " 12", "en"), EINVAL);
	assert_int_equal(say_number_files(buf, sizeof(buf), "99999999999999999999", "en"),
			 EINVAL);
}

static void test_say_number_languages(void **state)
{
	char buf[64];
	(void)state;

	assert_int_equal(say_number_files(buf, sizeof(buf), "42", "fa"), ENOTSUP);
	assert_int_equal(say_number_files(buf, sizeof(buf), "42", "de"), ENOTSUP);
	assert_int_equal(say_number_files(buf, sizeof(buf), "42", NULL), 0);
	assert_string_equal(buf, "digits/40&digits/2");
	assert_int_equal(say_number_files(buf, sizeof(buf), "42", ""), 0);
	assert_string_equal(buf, "digits/40&digits/2");
	assert_int_equal(say_number_files(buf, sizeof(buf), "42", "en_US"), 0);
	assert_string_equal(buf, "digits/40&digits/2");
}

static void test_say_buffer_too_small(void **state)
{
	char buf[64];
	(void)state;

	/* "digits/40&digits/2" needs 19 bytes with the NUL. */
	assert_int_equal(say_number_files(buf, 18, "42", "en"), ENAMETOOLONG);
	assert_int_equal(say_number_files(buf, 19, "42", "en"), 0);
	assert_string_equal(buf, "digits/40&digits/2");
	assert_int_equal(say_digits_files(buf, 10, "12", "en"), ENAMETOOLONG);
	assert_int_equal(say_digits_files(buf, 17, "12", "en"), ENAMETOOLONG);
	assert_int_equal(say_digits_files(buf, 18, "12", "en"), 0);
	assert_string_equal(buf, "digits/1&digits/2");
}

static void test_say_digits_symbols_and_letters(void **state)
{
	char buf[256];
	(void)state;

	assert_int_equal(say_digits_files(buf, sizeof(buf), "12*#", "en"), 0);
	assert_string_equal(buf, "digits/1&digits/2&digits/star&digits/pound");
	assert_int_equal(say_digits_files(buf, sizeof(buf), "aZ-0", "fa"), 0);
	assert_string_equal(buf, "letters/a&letters/z&letters/dash&digits/0");
	/* Asterisk skips what it has no prompt for. */
	assert_int_equal(say_digits_files(buf, sizeof(buf), "1 !2", "en"), 0);
	assert_string_equal(buf, "digits/1&digits/2");
	assert_int_equal(say_digits_files(buf, sizeof(buf), "", "en"), EINVAL);
	assert_int_equal(say_digits_files(buf, sizeof(buf), "!?", "en"), EINVAL);
}

/* Every '&'-separated name must be a recorded prompt. */
static void assert_prompts_exist(const char *files)
{
	char list[512], path[600];
	char *save = NULL;

	assert_true(strlen(files) < sizeof(list));
	strcpy(list, files);
	for (char *name = strtok_r(list, "&", &save); name; name = strtok_r(NULL, "&", &save)) {
		snprintf(path, sizeof(path), "%s/%s.wav", SOUNDS_EN, name);
		if (access(path, R_OK) != 0)
			fail_msg("missing prompt %s", path);
	}
}

static void test_say_prompts_exist_in_asterisk_sounds(void **state)
{
	static const char *const large[] = {
		"12345", "99999", "100000", "999999", "1000000", "1234567", "987654321",
		"1000000000", "999999999999", "-42",
	};
	struct stat st;
	char number[32], buf[512];
	(void)state;

	if (stat(SOUNDS_EN "/digits", &st) != 0)
		skip();
	for (int n = 0; n <= 1200; n++) {
		snprintf(number, sizeof(number), "%d", n);
		assert_int_equal(say_number_files(buf, sizeof(buf), number, "en"), 0);
		assert_prompts_exist(buf);
	}
	for (size_t i = 0; i < sizeof(large) / sizeof(large[0]); i++) {
		assert_int_equal(say_number_files(buf, sizeof(buf), large[i], "en"), 0);
		assert_prompts_exist(buf);
	}
	assert_int_equal(say_digits_files(buf, sizeof(buf),
					  "0123456789*#-abcdefghijklmnopqrstuvwxyz", "en"), 0);
	assert_prompts_exist(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_say_number_small_values_follow_asterisk_en),
		cmocka_unit_test(test_say_number_thousands_and_millions),
		cmocka_unit_test(test_say_number_sign_and_leading_zeros),
		cmocka_unit_test(test_say_number_rejects_bad_input),
		cmocka_unit_test(test_say_number_languages),
		cmocka_unit_test(test_say_buffer_too_small),
		cmocka_unit_test(test_say_digits_symbols_and_letters),
		cmocka_unit_test(test_say_prompts_exist_in_asterisk_sounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
