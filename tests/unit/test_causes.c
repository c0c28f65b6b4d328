/* Q.850 <-> SIP status tables (asterisk-semantics.md §3.2, §3.3). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "sip/causes.h"

static void test_causes_busy_round_trips(void **state)
{
	(void)state;
	assert_int_equal(causes_from_sip(486), 17);
	assert_int_equal(causes_to_sip(17, NULL), 486);
	assert_int_equal(causes_from_sip(600), 17);
}

static void test_causes_unknown_number_is_404(void **state)
{
	const char *reason = NULL;
	(void)state;
	assert_int_equal(causes_to_sip(1, &reason), 404);
	assert_string_equal(reason, "Not Found");
	assert_int_equal(causes_from_sip(404), 1);
}

static void test_causes_unavailable_and_no_answer_are_480(void **state)
{
	(void)state;
	assert_int_equal(causes_to_sip(19, NULL), 480);
	assert_int_equal(causes_to_sip(20, NULL), 480);
	assert_int_equal(causes_from_sip(480), 19);
	assert_int_equal(causes_from_sip(408), 18);
}

static void test_causes_normal_clearing_declines(void **state)
{
	(void)state;
	assert_int_equal(causes_to_sip(16, NULL), 603);
	assert_int_equal(causes_to_sip(0, NULL), 603);
}

static void test_causes_classes_fall_back(void **state)
{
	(void)state;
	assert_int_equal(causes_from_sip(499), 127);
	assert_int_equal(causes_from_sip(599), 34);
	assert_int_equal(causes_from_sip(699), 127);
	assert_int_equal(causes_from_sip(503), 34);
	assert_int_equal(causes_to_sip(34, NULL), 503);
	assert_int_equal(causes_from_sip(200), 16);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_causes_busy_round_trips),
		cmocka_unit_test(test_causes_unknown_number_is_404),
		cmocka_unit_test(test_causes_unavailable_and_no_answer_are_480),
		cmocka_unit_test(test_causes_normal_clearing_declines),
		cmocka_unit_test(test_causes_classes_fall_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
