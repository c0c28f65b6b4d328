/* Unit tests for the dialplan API components' reply parser and their
 * [api] configuration. The request/reply exchange on a call is exercised by
 * tests/system/test_trunkapi.py. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "core/cfg.h"
#include "pbx/apps/dpapi.h"

static int parse(enum dpapi_kind kind, const char *body, struct dpapi_reply *rep,
		 char *why, size_t whysz)
{
	why[0] = '\0';
	return dpapi_reply_parse(kind, body, strlen(body), rep, why, whysz);
}

static void test_trunk_reply_as_documented(void **state)
{
	struct dpapi_reply r;
	char why[200];
	(void)state;

	assert_int_equal(parse(DPAPI_TRUNK, "{\"ok\":\"1\",\"trunk\":\"itsp-main\","
			       "\"extension\":\"09123334455\",\"call_limit\":\"300\"}", &r,
			       why, sizeof(why)), 0);
	assert_string_equal(r.trunk, "itsp-main");
	assert_string_equal(r.extension, "09123334455");
	assert_int_equal(r.call_limit, 300);
}

static void test_ok_and_numbers_may_be_integers(void **state)
{
	struct dpapi_reply r;
	char why[200];
	(void)state;

	assert_int_equal(parse(DPAPI_TRUNK, "{\"ok\":1,\"trunk\":\"t1\",\"extension\":912,"
			       "\"call_limit\":60}", &r, why, sizeof(why)), 0);
	assert_string_equal(r.extension, "912");
	assert_int_equal(r.call_limit, 60);
	assert_int_equal(parse(DPAPI_EXTEN, "{\"ok\":true,\"extension\":\"205\"}", &r, why,
			       sizeof(why)), 0);
	assert_string_equal(r.extension, "205");
	assert_string_equal(r.trunk, "");
}

static void test_call_limit_absent_empty_or_zero_is_none(void **state)
{
	static const char *const bodies[] = {
		"{\"ok\":\"1\",\"extension\":\"205\"}",
		"{\"ok\":\"1\",\"extension\":\"205\",\"call_limit\":\"\"}",
		"{\"ok\":\"1\",\"extension\":\"205\",\"call_limit\":0}",
		"{\"ok\":\"1\",\"extension\":\"205\",\"call_limit\":null}",
	};
	struct dpapi_reply r;
	char why[200];
	(void)state;

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		assert_int_equal(parse(DPAPI_EXTEN, bodies[i], &r, why, sizeof(why)), 0);
		assert_int_equal(r.call_limit, 0);
	}
}

struct bad { enum dpapi_kind kind; const char *body, *why; };

static void test_bad_replies_fail_with_a_reason(void **state)
{
	static const struct bad cases[] = {
		{ DPAPI_TRUNK, "", "not JSON" },
		{ DPAPI_TRUNK, "<html>oops</html>", "not JSON" },
		{ DPAPI_TRUNK, "[1,2]", "not a JSON object" },
		{ DPAPI_TRUNK, "{\"ok\":0}", "ok is not 1" },
		{ DPAPI_TRUNK, "{\"ok\":\"0\",\"trunk\":\"t\",\"extension\":\"1\"}", "ok is not 1" },
		{ DPAPI_TRUNK, "{\"trunk\":\"t\",\"extension\":\"1\"}", "ok is not 1" },
		{ DPAPI_TRUNK, "{\"ok\":2,\"trunk\":\"t\",\"extension\":\"1\"}", "ok is not 1" },
		{ DPAPI_TRUNK, "{\"ok\":\"1\",\"extension\":\"1\"}", "trunk is missing" },
		{ DPAPI_TRUNK, "{\"ok\":\"1\",\"trunk\":\"t\"}", "extension is missing" },
		{ DPAPI_EXTEN, "{\"ok\":\"1\"}", "extension is missing" },
		{ DPAPI_EXTEN, "{\"ok\":\"1\",\"extension\":[1]}", "extension is not a string" },
		{ DPAPI_EXTEN, "{\"ok\":\"1\",\"extension\":\"\"}", "is empty" },
		{ DPAPI_EXTEN, "{\"ok\":\"1\",\"extension\":-5}", "extension is not a string" },
		/* a dial string must not be extended by the reply */
		{ DPAPI_EXTEN, "{\"ok\":\"1\",\"extension\":\"205&SIP/206\"}", "has characters" },
		{ DPAPI_EXTEN, "{\"ok\":\"1\",\"extension\":\"205,1,L(1)\"}", "has characters" },
		{ DPAPI_TRUNK, "{\"ok\":\"1\",\"trunk\":\"a/b\",\"extension\":\"1\"}",
		  "has characters" },
		{ DPAPI_TRUNK, "{\"ok\":\"1\",\"trunk\":\"t\",\"extension\":\"1@evil\"}",
		  "has characters" },
		{ DPAPI_EXTEN, "{\"ok\":\"1\",\"extension\":\"1\",\"call_limit\":\"5m\"}",
		  "not a whole number" },
		{ DPAPI_EXTEN, "{\"ok\":\"1\",\"extension\":\"1\",\"call_limit\":-1}", "out of range" },
		{ DPAPI_EXTEN, "{\"ok\":\"1\",\"extension\":\"1\",\"call_limit\":\"99999999999\"}",
		  "out of range" },
		{ DPAPI_EXTEN, "{\"ok\":\"1\",\"extension\":\"1\",\"call_limit\":1.5}",
		  "not a whole number" },
		{ DPAPI_EXTEN, "{\"ok\":\"1\",\"ok\":\"1\",\"extension\":\"1\"}", "not JSON" },
	};
	struct dpapi_reply r;
	char why[200];
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&r, 'x', sizeof(r));
		if (parse(cases[i].kind, cases[i].body, &r, why, sizeof(why)) != EBADMSG)
			fail_msg("accepted %s", cases[i].body);
		if (!strstr(why, cases[i].why))
			fail_msg("%s: reason '%s' lacks '%s'", cases[i].body, why, cases[i].why);
		/* nothing half-filled escapes */
		assert_string_equal(r.extension, "");
		assert_string_equal(r.trunk, "");
		assert_int_equal(r.call_limit, 0);
	}
}

static void test_overlong_fields_are_refused(void **state)
{
	char body[512], why[200];
	struct dpapi_reply r;
	(void)state;

	snprintf(body, sizeof(body), "{\"ok\":\"1\",\"trunk\":\"%0100d\",\"extension\":\"1\"}",
		 0);
	assert_int_equal(parse(DPAPI_TRUNK, body, &r, why, sizeof(why)), EBADMSG);
	assert_non_null(strstr(why, "trunk is too long"));
}

static int load_timeout(char *ov0, char *ov1, uint32_t *ms, char *err, size_t errsz)
{
	char *ov[] = { ov0, ov1 };
	size_t n = ov1 ? 2 : ov0 ? 1 : 0;
	struct dpapi_conf cf = { 0 };
	struct cfg *c = NULL;
	int e = cfg_load(&c, NULL, ov, n, err, errsz);

	assert_int_equal(e, 0);
	e = dpapi_conf_load(&cf, c, err, errsz);
	cfg_free(c);
	*ms = cf.timeout_ms;
	return e;
}

static void test_timeout_default_sections_and_bad_values(void **state)
{
	char err[256];
	uint32_t ms;
	(void)state;

	assert_int_equal(load_timeout(NULL, NULL, &ms, err, sizeof(err)), 0);
	assert_int_equal(ms, 1000);
	assert_int_equal(load_timeout("api.client_api_caller_timeout=5", NULL, &ms, err,
				      sizeof(err)), 0);
	assert_int_equal(ms, 5000);
	assert_int_equal(load_timeout("client_api_service.client_api_caller_timeout=3", NULL,
				      &ms, err, sizeof(err)), 0);
	assert_int_equal(ms, 3000);
	/* [api] wins over [client_api_service] */
	assert_int_equal(load_timeout("client_api_service.client_api_caller_timeout=3",
				      "api.client_api_caller_timeout=2", &ms, err, sizeof(err)), 0);
	assert_int_equal(ms, 2000);
	assert_int_equal(load_timeout("api.client_api_caller_timeout=0", NULL, &ms, err,
				      sizeof(err)), EINVAL);
	assert_non_null(strstr(err, "api.client_api_caller_timeout"));
	assert_int_equal(load_timeout("api.client_api_caller_timeout=1.5", NULL, &ms, err,
				      sizeof(err)), EINVAL);
	assert_int_equal(load_timeout("api.client_api_caller_timeout=301", NULL, &ms, err,
				      sizeof(err)), EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trunk_reply_as_documented),
		cmocka_unit_test(test_ok_and_numbers_may_be_integers),
		cmocka_unit_test(test_call_limit_absent_empty_or_zero_is_none),
		cmocka_unit_test(test_bad_replies_fail_with_a_reason),
		cmocka_unit_test(test_overlong_fields_are_refused),
		cmocka_unit_test(test_timeout_default_sections_and_bad_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
