/* Asterisk extension patterns (ast_extension_match) and context ordering
 * (ast_extension_cmp); expected values checked against Asterisk's main/pbx.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include "pbx/pattern.h"

static void test_pattern_literal_is_exact_and_case_sensitive(void **state)
{
	(void)state;
	assert_true(pattern_match("100", "100"));
	assert_false(pattern_match("100", "1000"));
	assert_false(pattern_match("100", "10"));
	assert_false(pattern_match("100", ""));
	assert_true(pattern_match("s", "s"));
	assert_false(pattern_match("s", "S"));
	assert_true(pattern_match("#", "#"));
}

static void test_pattern_h_i_t_are_literals(void **state)
{
	(void)state;
	assert_true(pattern_match("h", "h"));
	assert_true(pattern_match("i", "i"));
	assert_true(pattern_match("t", "t"));
	assert_false(pattern_match("h", "H"));
	assert_false(pattern_match("_X", "t"));
	assert_true(pattern_match("_.", "h"));          /* '.' admits any character */
}

static void test_pattern_literal_ignores_dashes(void **state)
{
	(void)state;
	assert_true(pattern_match("555-1234", "5551234"));
	assert_true(pattern_match("5551234", "555-1234"));
	assert_false(pattern_match("555-1234", "555123"));
}

static void test_pattern_matches_x(void **state)
{
	(void)state;
	assert_true(pattern_match("_1XXX", "1234"));
	assert_true(pattern_match("_1XXX", "1000"));
	assert_false(pattern_match("_1XXX", "123"));
	assert_false(pattern_match("_1XXX", "12345"));
	assert_false(pattern_match("_1XXX", "12a4"));
	assert_true(pattern_match("_1xxx", "1999"));
}

static void test_pattern_matches_nxx(void **state)
{
	(void)state;
	assert_true(pattern_match("_NXX", "200"));
	assert_true(pattern_match("_NXX", "999"));
	assert_false(pattern_match("_NXX", "100"));
	assert_false(pattern_match("_NXX", "000"));
	assert_true(pattern_match("_nxx", "299"));
}

static void test_pattern_matches_z(void **state)
{
	(void)state;
	assert_true(pattern_match("_Z", "1"));
	assert_true(pattern_match("_Z", "9"));
	assert_false(pattern_match("_Z", "0"));
	assert_true(pattern_match("_z0", "10"));
}

static void test_pattern_literal_chars_in_pattern_are_case_sensitive(void **state)
{
	(void)state;
	assert_true(pattern_match("_aX", "a1"));
	assert_false(pattern_match("_aX", "A1"));
	assert_false(pattern_match("_[ab]", "A"));
}

static void test_pattern_matches_sets_and_ranges(void **state)
{
	(void)state;
	assert_true(pattern_match("_[1-3]00", "200"));
	assert_false(pattern_match("_[1-3]00", "400"));
	assert_true(pattern_match("_[15-7]X", "61"));
	assert_true(pattern_match("_[15-7]X", "11"));
	assert_false(pattern_match("_[15-7]X", "41"));
	assert_true(pattern_match("_[*#]", "#"));
	assert_true(pattern_match("_[]1", "1"));        /* empty set is skipped */
	assert_false(pattern_match("_[12", "1"));       /* unterminated never matches */
	assert_false(pattern_match("_[12", "["));
}

static void test_pattern_ignores_dashes(void **state)
{
	(void)state;
	assert_true(pattern_match("_1-2-3", "123"));
	assert_true(pattern_match("_NXX-XXXX", "555-1234"));
	assert_true(pattern_match("_NXX-XXXX", "5551234"));
}

static void test_pattern_dot_needs_one_or_more(void **state)
{
	(void)state;
	assert_true(pattern_match("_9.", "95551234"));
	assert_true(pattern_match("_9.", "91"));
	assert_false(pattern_match("_9.", "9"));
	assert_true(pattern_match("_X.", "01"));
	assert_true(pattern_match("_X.", "1abc"));
	assert_true(pattern_match("_1.5", "1xyz"));     /* '.' ends matching */
}

static void test_pattern_bang_allows_zero_or_more(void **state)
{
	(void)state;
	assert_true(pattern_match("_9!", "9"));
	assert_true(pattern_match("_9!", "95551234"));
	assert_false(pattern_match("_9!", ""));
	assert_true(pattern_match("_!", ""));
}

static void test_pattern_matches_its_own_text(void **state)
{
	(void)state;
	assert_true(pattern_match("_X.", "_X."));
	assert_true(pattern_match("_NXX", "_nxx"));
	assert_false(pattern_match("_X.", "_N."));
}

static int cmp(const void *a, const void *b)
{
	return pattern_cmp(*(const char *const *)a, *(const char *const *)b);
}

static void assert_sorted(const char **keys, const char *const *want, size_t n)
{
	qsort(keys, n, sizeof(keys[0]), cmp);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(keys[i], want[i]);
}

static void test_pattern_sorts_literals_first_then_specific_patterns(void **state)
{
	const char *keys[] = { "_X.", "_9NXX.", "100", "_1XX", "_NXX", "_[12]XX", "t", "h" };
	const char *const want[] = { "100", "h", "t", "_1XX", "_9NXX.", "_[12]XX", "_NXX",
				     "_X." };
	(void)state;

	assert_sorted(keys, want, 8);
}

static void test_pattern_sorts_classes_by_size(void **state)
{
	const char *keys[] = { "_X", "_Z", "_[13]", "_N", "_5", "_[12]", "_[a-k]" };
	const char *const want[] = { "_5", "_[12]", "_[13]", "_N", "_Z", "_X", "_[a-k]" };
	(void)state;

	assert_sorted(keys, want, 7);
	assert_int_equal(pattern_cmp("_Z", "_[1-9]"), 0);
	assert_int_equal(pattern_cmp("_X", "_[0-9]"), 0);
}

/* Asterisk scores the end of a pattern after '.' and '!', so a longer pattern
 * sorts before its own prefix. */
static void test_pattern_sorts_longer_before_prefix(void **state)
{
	const char *keys[] = { "_X", "_X!", "_X.", "_1XX", "_1XXX" };
	const char *const want[] = { "_1XXX", "_1XX", "_X.", "_X!", "_X" };
	(void)state;

	assert_sorted(keys, want, 5);
}

static void test_pattern_cmp_ignores_dashes_and_is_antisymmetric(void **state)
{
	(void)state;
	assert_int_equal(pattern_cmp("1-00", "100"), 0);
	assert_int_equal(pattern_cmp("_NXX-XXXX", "_NXXXXXX"), 0);
	assert_int_equal(pattern_cmp("100", "_X"), -1);
	assert_int_equal(pattern_cmp("_X", "100"), 1);
	assert_int_equal(pattern_cmp("100", "101"), -1);
	assert_int_equal(pattern_cmp("101", "100"), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pattern_literal_is_exact_and_case_sensitive),
		cmocka_unit_test(test_pattern_h_i_t_are_literals),
		cmocka_unit_test(test_pattern_literal_ignores_dashes),
		cmocka_unit_test(test_pattern_matches_x),
		cmocka_unit_test(test_pattern_matches_nxx),
		cmocka_unit_test(test_pattern_matches_z),
		cmocka_unit_test(test_pattern_literal_chars_in_pattern_are_case_sensitive),
		cmocka_unit_test(test_pattern_matches_sets_and_ranges),
		cmocka_unit_test(test_pattern_ignores_dashes),
		cmocka_unit_test(test_pattern_dot_needs_one_or_more),
		cmocka_unit_test(test_pattern_bang_allows_zero_or_more),
		cmocka_unit_test(test_pattern_matches_its_own_text),
		cmocka_unit_test(test_pattern_sorts_literals_first_then_specific_patterns),
		cmocka_unit_test(test_pattern_sorts_classes_by_size),
		cmocka_unit_test(test_pattern_sorts_longer_before_prefix),
		cmocka_unit_test(test_pattern_cmp_ignores_dashes_and_is_antisymmetric),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
