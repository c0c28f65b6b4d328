/* Unit tests for dest: the destination forms (accepted and refused with a
 * reason), module existence checks, an extension's exits by DIALSTATUS,
 * dial codes, and cbconf's next/error keys. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>
#include <re.h>
#include "pbx/cbconf.h"
#include "pbx/dest.h"

static void test_syntax(void **state)
{
	static const char *const good[] = {
		"hangup", "HANGUP", "callback:sales", "queue:support", "exten:600", "exten:*72",
		"goto:other,700",
	};
	static const struct { const char *dest, *why; } bad[] = {
		{ "", "empty" }, { "voicemail:1", "expected hangup" }, { "sales", "expected hangup" },
		{ "exten:", "expected exten:NUMBER" }, { "callback:", "expected callback:NAME" },
		{ "callback:a b", "expected callback:NAME" }, { "goto:ctx", "goto:CONTEXT,EXTEN" },
		{ "goto:,1", "goto:CONTEXT,EXTEN" }, { "goto:a,b,c", "goto:CONTEXT,EXTEN" },
	};
	char why[200];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		assert_int_equal(dest_syntax(good[i], why, sizeof(why)), 0);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		why[0] = '\0';
		assert_int_equal(dest_syntax(bad[i].dest, why, sizeof(why)), EINVAL);
		assert_non_null(strstr(why, bad[i].why));
	}
}

static bool exists_h(const char *name, void *arg)
{
	(void)arg;
	return !strcmp(name, "sales");
}

static int lookup_h(const char *key, bool by_code, const char **name, const char **next,
		    const char **error, void *arg)
{
	(void)arg;
	if (strcmp(key, by_code ? "7500" : "sales"))
		return ENOENT;
	*name = "sales";
	*next = "exten:600";
	*error = "hangup";
	return 0;
}

static void test_module_checks_codes_and_user_exits(void **state)
{
	const struct dest_kind k = {
		.prefix = "callback", .app = "Callback", .status_var = "CALLBACKSTATUS",
		.ok = "REGISTERED", .exists = exists_h, .lookup = lookup_h,
	};
	struct dests *d = NULL;
	char why[200], data[64];

	(void)state;
	assert_int_equal(dest_alloc(&d), 0);
	assert_int_equal(dest_kind_add(d, &k), 0);
	assert_int_equal(dest_kind_add(d, &k), EEXIST);
	assert_int_equal(dest_check(d, "callback:sales", why, sizeof(why)), 0);
	assert_int_equal(dest_check(d, "callback:nosuch", why, sizeof(why)), ENOENT);
	assert_non_null(strstr(why, "no callback named 'nosuch'"));
	assert_int_equal(dest_check(d, "queue:q", why, sizeof(why)), EINVAL);   /* no kind */
	assert_int_equal(dest_check(d, "goto:a,b", why, sizeof(why)), 0);

	assert_string_equal(dest_code_app("7500", data, sizeof(data), d), "Destination");
	assert_string_equal(data, "callback:sales");
	assert_null(dest_code_app("7501", data, sizeof(data), d));

	assert_int_equal(dest_user_set(d, "1002", "callback:sales", NULL, "hangup"), 0);
	assert_string_equal(dest_dial_exit("SIP/1002", "BUSY"), "callback:sales");
	assert_string_equal(dest_dial_exit("PJSIP/1002", "CHANUNAVAIL"), "hangup");
	assert_null(dest_dial_exit("SIP/1002", "NOANSWER"));
	assert_null(dest_dial_exit("SIP/1002", "CONGESTION"));
	assert_null(dest_dial_exit("SIP/1002&SIP/1003", "BUSY"));   /* not one user */
	assert_null(dest_dial_exit("SIP/prov/1002", "BUSY"));       /* a trunk */
	assert_null(dest_dial_exit("SIP/10021", "BUSY"));
	assert_null(dest_dial_exit("IAX2/1002", "BUSY"));
	/* Set again: replaced; all empty: gone. */
	assert_int_equal(dest_user_set(d, "1002", NULL, "exten:9", NULL), 0);
	assert_null(dest_dial_exit("SIP/1002", "BUSY"));
	assert_string_equal(dest_dial_exit("SIP/1002", "NOANSWER"), "exten:9");
	assert_int_equal(dest_user_set(d, "1002", "", NULL, NULL), 0);
	assert_null(dest_dial_exit("SIP/1002", "NOANSWER"));
	mem_deref(d);
	app_unregister_all();
}

static const char *kv_get(const char *key, void *arg)
{
	const char *const *kv = arg;
	size_t n = strlen(key);

	for (; *kv; kv++)
		if (!strncmp(*kv, key, n) && (*kv)[n] == '=')
			return *kv + n + 1;
	return NULL;
}

static void test_cbconf_exits(void **state)
{
	const char *ok[] = { "code=1", "target=2", "next=exten:600", NULL };
	const char *badn[] = { "code=1", "target=2", "next=somewhere", NULL };
	const char *bade[] = { "code=1", "target=2", "error=goto:x", NULL };
	struct callback_conf cf;
	char why[200];

	(void)state;
	assert_int_equal(cbconf_parse(&cf, "s", kv_get, (void *)ok, why, sizeof(why)), 0);
	assert_string_equal(cf.next, "exten:600");
	assert_null(cf.error);
	assert_true(cbconf_key_known("next") && cbconf_key_known("error"));
	assert_int_equal(cbconf_parse(&cf, "s", kv_get, (void *)badn, why, sizeof(why)), EINVAL);
	assert_non_null(strstr(why, "next: expected hangup"));
	assert_int_equal(cbconf_parse(&cf, "s", kv_get, (void *)bade, why, sizeof(why)), EINVAL);
	assert_non_null(strstr(why, "error: expected goto:CONTEXT,EXTEN"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_module_checks_codes_and_user_exits),
		cmocka_unit_test(test_cbconf_exits),
	};
	int err = libre_init();

	if (err)
		return 1;
	err = cmocka_run_group_tests(tests, NULL, NULL);
	libre_close();
	return err;
}
