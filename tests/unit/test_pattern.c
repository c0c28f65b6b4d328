/* Asterisk extension patterns and context ordering. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include "pbx/pattern.h"

static void test_pattern_literal_is_exact(void **state)
{
	(void)state;
	assert_true(pattern_match("100", "100"));
	assert_false(pattern_match("100", "1000"));
	assert_true(pattern_match("h", "h"));
	assert_false(pattern_match("h", "H"));
}

static void test_pattern_matches_x_z_n(void **state)
{
	(void)state;
	assert_true(pattern_match("_1XXX", "1234"));
	assert_false(pattern_match("_1XXX", "123"));
	assert_true(pattern_match("_NXX", "200"));
	assert_false(pattern_match("_NXX", "100"));
	assert_true(pattern_match("_Z", "1"));
	assert_false(pattern_match("_Z", "0"));
	assert_true(pattern_match("_nxx", "299"));
}

static void test_pattern_dot_needs_one_bang_allows_none(void **state)
{
	(void)state;
	assert_true(pattern_match("_9.", "95551234"));
	assert_false(pattern_match("_9.", "9"));
	assert_true(pattern_match("_9!", "9"));
	assert_true(pattern_match("_X.", "01"));
}

static void test_pattern_sets_and_ranges(void **state)
{
	(void)state;
	assert_true(pattern_match("_[1-3]00", "200"));
	assert_false(pattern_match("_[1-3]00", "400"));
	assert_true(pattern_match("_[15-7]X", "61"));
	assert_false(pattern_match("_[15-7]X", "41"));
	assert_true(pattern_match("_1-2-3", "123"));
}

static int cmp(const void *a, const void *b)
{
	return pattern_cmp(*(const char *const *)a, *(const char *const *)b);
}

static void test_pattern_sorts_specific_first(void **state)
{
	const char *keys[] = { "_X.", "_9NXX.", "100", "_1XX", "_NXX", "_[12]XX" };
	(void)state;

	qsort(keys, 6, sizeof(keys[0]), cmp);
	assert_string_equal(keys[0], "100");
	assert_string_equal(keys[1], "_1XX");
	assert_string_equal(keys[2], "_9NXX.");
	assert_string_equal(keys[3], "_[12]XX");
	assert_string_equal(keys[4], "_NXX");
	assert_string_equal(keys[5], "_X.");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pattern_literal_is_exact),
		cmocka_unit_test(test_pattern_matches_x_z_n),
		cmocka_unit_test(test_pattern_dot_needs_one_bang_allows_none),
		cmocka_unit_test(test_pattern_sets_and_ranges),
		cmocka_unit_test(test_pattern_sorts_specific_first),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
