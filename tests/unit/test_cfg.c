/* The INI configuration reader: values, overrides, and file:line errors. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "core/cfg.h"

static char path[64];

static const char *write_conf(const char *text)
{
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/test_cfg_%d.conf", (int)getpid());
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

static void test_cfg_reads_sections_keys_and_comments(void **state)
{
	struct cfg *c = NULL;
	char err[256] = "";
	(void)state;

	write_conf("; comment\n[sip]\nbind = 127.0.0.1   ; trailing comment\n"
		   "port=5070\n# another\n[Store]\npath = var/a#b.db\n");
	assert_int_equal(cfg_load(&c, path, NULL, 0, err, sizeof(err)), 0);
	assert_string_equal(cfg_get(c, "sip", "bind"), "127.0.0.1");
	assert_string_equal(cfg_get(c, "store", "path"), "var/a#b.db");
	assert_null(cfg_get(c, "sip", "missing"));
	assert_string_equal(cfg_get_str(c, "sip", "missing", "dflt"), "dflt");
	cfg_free(c);
}

static void test_cfg_override_wins_and_is_located(void **state)
{
	struct cfg *c = NULL;
	char err[256] = "";
	char *ov[] = { "sip.port=6000", "user 1001.password=x=y" };
	uint32_t port;
	(void)state;

	write_conf("[sip]\nport = 5060\n");
	assert_int_equal(cfg_load(&c, path, ov, 2, err, sizeof(err)), 0);
	assert_int_equal(cfg_get_u32(c, "sip", "port", 1, 1, 65535, &port, err, sizeof(err)), 0);
	assert_int_equal(port, 6000);
	assert_string_equal(cfg_where(c, "sip", "port"), "-s sip.port=6000");
	assert_string_equal(cfg_get(c, "user 1001", "password"), "x=y");
	cfg_free(c);
}

static void test_cfg_bad_integer_names_file_and_line(void **state)
{
	struct cfg *c = NULL;
	char err[256] = "", want[128];
	uint32_t v;
	(void)state;

	write_conf("[sip]\n\nport = lots\n");
	assert_int_equal(cfg_load(&c, path, NULL, 0, err, sizeof(err)), 0);
	assert_int_equal(cfg_get_u32(c, "sip", "port", 5060, 1, 65535, &v, err, sizeof(err)),
			 EINVAL);
	snprintf(want, sizeof(want), "%s:3: sip.port: expected integer 1..65535", path);
	assert_non_null(strstr(err, want));
	cfg_free(c);
}

static void test_cfg_range_and_bool(void **state)
{
	struct cfg *c = NULL;
	char err[256] = "";
	uint32_t v;
	bool b;
	(void)state;

	write_conf("[t]\nbig = 70000\nyes = on\nno = False\nbad = maybe\n");
	assert_int_equal(cfg_load(&c, path, NULL, 0, err, sizeof(err)), 0);
	assert_int_equal(cfg_get_u32(c, "t", "big", 1, 1, 65535, &v, err, sizeof(err)), EINVAL);
	assert_int_equal(cfg_get_u32(c, "t", "absent", 42, 1, 65535, &v, err, sizeof(err)), 0);
	assert_int_equal(v, 42);
	assert_int_equal(cfg_get_bool(c, "t", "yes", false, &b, err, sizeof(err)), 0);
	assert_true(b);
	assert_int_equal(cfg_get_bool(c, "t", "no", true, &b, err, sizeof(err)), 0);
	assert_false(b);
	assert_int_equal(cfg_get_bool(c, "t", "bad", true, &b, err, sizeof(err)), EINVAL);
	assert_non_null(strstr(err, ":5: t.bad: expected yes or no"));
	cfg_free(c);
}

static void test_cfg_syntax_errors_refuse_to_load(void **state)
{
	static const struct { const char *text; const char *what; } bad[] = {
		{ "[sip]\nno equals sign here\n", ":2: expected 'key = value'" },
		{ "[sip\nport = 1\n", ":1: bad section header" },
		{ "port = 1\n", ":1: key 'port' outside any [section]" },
		{ "[sip]\nport = 1\nport = 2\n", ":3: duplicate key 'port'" },
		{ "[sip]\n = 5\n", ":2: missing key" },
	};
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cfg *c = NULL;
		char err[256] = "";

		write_conf(bad[i].text);
		assert_int_equal(cfg_load(&c, path, NULL, 0, err, sizeof(err)), EINVAL);
		assert_null(c);
		assert_non_null(strstr(err, path));
		assert_non_null(strstr(err, bad[i].what));
	}
}

static void test_cfg_missing_file_and_bad_override(void **state)
{
	struct cfg *c = NULL;
	char err[256] = "";
	char *ov[] = { "nodot=1" };
	(void)state;

	assert_int_equal(cfg_load(&c, "/nonexistent/tamas.conf", NULL, 0, err, sizeof(err)),
			 ENOENT);
	assert_non_null(strstr(err, "/nonexistent/tamas.conf: No such file"));
	assert_int_equal(cfg_load(&c, NULL, ov, 1, err, sizeof(err)), EINVAL);
	assert_non_null(strstr(err, "-s nodot=1: expected section.key=value"));
}

static int count_h(const struct cfg *c, const char *section, const char *name, void *arg)
{
	char *out = arg;
	(void)c;
	(void)section;
	strcat(out, name);
	strcat(out, ",");
	return 0;
}

static void test_cfg_visits_prefixed_sections_in_file_order(void **state)
{
	struct cfg *c = NULL;
	char err[256] = "", seen[64] = "";
	(void)state;

	write_conf("[user 1002]\npassword = a\n[sip]\nport = 1\n[user 1001]\npassword = b\n"
		   "[username]\nx = 1\n");
	assert_int_equal(cfg_load(&c, path, NULL, 0, err, sizeof(err)), 0);
	assert_int_equal(cfg_apply_sections(c, "user", count_h, seen), 0);
	assert_string_equal(seen, "1002,1001,");
	cfg_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_cfg_reads_sections_keys_and_comments, teardown),
		cmocka_unit_test_teardown(test_cfg_override_wins_and_is_located, teardown),
		cmocka_unit_test_teardown(test_cfg_bad_integer_names_file_and_line, teardown),
		cmocka_unit_test_teardown(test_cfg_range_and_bool, teardown),
		cmocka_unit_test_teardown(test_cfg_syntax_errors_refuse_to_load, teardown),
		cmocka_unit_test_teardown(test_cfg_missing_file_and_bad_override, teardown),
		cmocka_unit_test_teardown(test_cfg_visits_prefixed_sections_in_file_order, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
