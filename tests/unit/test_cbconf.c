/* Unit tests for cbconf: defaults, durations in seconds or hh:mm:ss, and
 * errors that name the key they are about (config and API share them). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>
#include "pbx/cbconf.h"

/* "key=value" pairs, NULL-terminated. */
static const char *kv_get(const char *key, void *arg)
{
	const char *const *kv = arg;
	size_t n = strlen(key);

	for (; *kv; kv++)
		if (!strncmp(*kv, key, n) && (*kv)[n] == '=')
			return *kv + n + 1;
	return NULL;
}

static int parse(const char *const *kv, struct callback_conf *cf, char *why, size_t whysz)
{
	return cbconf_parse(cf, "sales", kv_get, (void *)kv, why, whysz);
}

static void test_defaults_and_durations(void **state)
{
	const char *kv[] = { "code=7500", "target=1002", "min_wait=01:00:00",
			     "retry_wait=2:30", "intro=callback-intro", NULL };
	struct callback_conf cf;
	char why[128] = "";

	(void)state;
	assert_int_equal(parse(kv, &cf, why, sizeof(why)), 0);
	assert_string_equal(cf.name, "sales");
	assert_string_equal(cf.code, "7500");
	assert_true(cf.active);
	assert_false(cf.auto_call);
	assert_int_equal(cf.retries, 3);
	assert_int_equal(cf.min_wait_s, 3600);
	assert_int_equal(cf.retry_wait_s, 150);
	assert_null(cf.context);
	assert_string_equal(cf.prompt[CB_PROMPT_INTRO], "callback-intro");
	assert_string_equal(cf.prompt[CB_PROMPT_AFTER], "");
}

static void test_prompts_and_their_older_names(void **state)
{
	const char *kv[] = { "code=7500", "target=1002", "enter=tts:Enter the number, then #",
			     "confirm=cb-check", "registered=cb-after", "is=tts:is", NULL };
	struct callback_conf cf;
	char why[128] = "";

	(void)state;
	assert_int_equal(parse(kv, &cf, why, sizeof(why)), 0);
	assert_string_equal(cf.prompt[CB_PROMPT_ENTER], "tts:Enter the number, then #");
	assert_string_equal(cf.prompt[CB_PROMPT_CHECK], "cb-check");
	assert_string_equal(cf.prompt[CB_PROMPT_AFTER], "cb-after");
	assert_string_equal(cf.prompt[CB_PROMPT_IS], "tts:is");
	assert_string_equal(cf.prompt[CB_PROMPT_BEFORE], "");
	assert_string_equal(callback_prompt_key[CB_PROMPT_ENTERED], "entered");
}

static void bad(const char *const *kv, const char *want)
{
	struct callback_conf cf;
	char why[128] = "";

	assert_int_equal(parse(kv, &cf, why, sizeof(why)), EINVAL);
	assert_non_null(strstr(why, want));
}

static void test_errors_name_the_key(void **state)
{
	(void)state;
	bad((const char *[]){ "target=1002", NULL }, "code: is required");
	bad((const char *[]){ "code=1", NULL }, "target: is required");
	bad((const char *[]){ "code=1", "target=2", "active=maybe", NULL }, "active: expected");
	bad((const char *[]){ "code=1", "target=2", "retries=0", NULL }, "retries: expected 1..");
	bad((const char *[]){ "code=1", "target=2", "retries=3x", NULL }, "retries: expected a");
	bad((const char *[]){ "code=1", "target=2", "min_wait=1:75", NULL }, "min_wait:");
	bad((const char *[]){ "code=1", "target=2", "min_wait=1:2:3:4", NULL }, "min_wait:");
	bad((const char *[]){ "code=1", "target=2", "retry_wait=-5", NULL }, "retry_wait:");
	bad((const char *[]){ "code=1", "target=2", "is=tts:", NULL }, "is: tts: needs a text");
	bad((const char *[]){ "code=1", "target=2", "wrong=a,b", NULL }, "wrong: expected a");
	bad((const char *[]){ "code=1", "target=2", "intro=Read(x)", NULL }, "intro: expected");
	bad((const char *[]){ "code=1", "target=2", "check=a", "confirm=b", NULL },
	    "confirm: an older name of check");
	assert_true(cbconf_key_known("Intro"));
	assert_true(cbconf_key_known("registered"));
	assert_true(cbconf_key_known("before"));
	assert_false(cbconf_key_known("colour"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_and_durations),
		cmocka_unit_test(test_errors_name_the_key),
		cmocka_unit_test(test_prompts_and_their_older_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
