/* calllimit: Dial's L(x[:y[:z]]) argument and Simotel's beeper settings. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "pbx/calllimit.h"

static void test_parse_limit_warning_repeat(void **state)
{
	struct calllimit_spec sp;

	(void)state;
	assert_int_equal(calllimit_parse(&sp, "60000:10000:2000"), 0);
	assert_true(sp.limit_ms == 60000 && sp.warn_ms == 10000 && sp.repeat_ms == 2000);
	assert_string_equal(sp.warn_file, "beep");
	assert_true(sp.play_caller);
	assert_false(sp.play_callee);
	assert_int_equal(calllimit_parse(&sp, "5000"), 0);
	assert_true(sp.limit_ms == 5000 && sp.warn_ms == 0 && sp.repeat_ms == 0);
}

static void test_parse_refuses_bad_arguments(void **state)
{
	const char *bad[] = { "", "0", "0:100", "abc", "100:", ":100", "100:x", "1:2:3:4",
			      "-5", "100;200", "99999999999999999999999" };
	struct calllimit_spec sp;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(calllimit_parse(&sp, bad[i]), EINVAL);
	assert_int_equal(calllimit_parse(NULL, "100"), EINVAL);
	assert_int_equal(calllimit_parse(&sp, NULL), EINVAL);
}

static void test_parse_warning_beyond_limit(void **state)
{
	struct calllimit_spec sp;

	(void)state;
	/* brought below the limit by whole repeats */
	assert_int_equal(calllimit_parse(&sp, "10000:12000:5000"), 0);
	assert_int_equal(sp.warn_ms, 7000);
	/* no repeat: no warning at all */
	assert_int_equal(calllimit_parse(&sp, "10000:10000"), 0);
	assert_int_equal(sp.warn_ms, 0);
}

static void test_from_secs_applies_beeper_conf(void **state)
{
	struct calllimit_conf cf;
	struct calllimit_spec sp;

	(void)state;
	calllimit_conf_default(&cf);
	assert_true(cf.beeper && cf.time_to_end_s == 20 && cf.repeat_s == 10);
	calllimit_from_secs(&sp, 120, &cf);
	assert_true(sp.limit_ms == 120000 && sp.warn_ms == 20000 && sp.repeat_ms == 10000);
	assert_true(sp.play_caller && sp.play_callee);
	assert_string_equal(sp.warn_file, "beep");
	/* a window longer than the call warns at once */
	calllimit_from_secs(&sp, 5, &cf);
	assert_int_equal(sp.warn_ms, 4000);
	cf.beeper = false;
	calllimit_from_secs(&sp, 120, &cf);
	assert_true(sp.limit_ms == 120000 && sp.warn_ms == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_limit_warning_repeat),
		cmocka_unit_test(test_parse_refuses_bad_arguments),
		cmocka_unit_test(test_parse_warning_beyond_limit),
		cmocka_unit_test(test_from_secs_applies_beeper_conf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
