/* Unit tests for store/cbdef: API-defined callbacks added (names unique),
 * updated, removed and listed in order. */
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
#include "store/cbdef.h"
#include "store/store.h"
#include "store_fixture.h"

struct seen {
	unsigned n;
	char line[4][128];
};

static int seen_h(const struct cbdef_rec *r, void *arg)
{
	struct seen *s = arg;

	if (s->n < 4)
		snprintf(s->line[s->n], sizeof(s->line[0]), "%s %s %s", r->id, r->name, r->conf);
	++s->n;
	return 0;
}

static void test_add_update_remove_list(void **state)
{
	struct store *st = *state;
	char a[32], b[32], want[128];
	struct seen s = { 0 };

	assert_int_equal(cbdef_add(st, "web", "{\"code\":\"502\"}", a, sizeof(a)), 0);
	assert_int_equal(strlen(a), 24);
	assert_int_equal(cbdef_add(st, "web", "{}", b, sizeof(b)), EEXIST);
	assert_int_equal(cbdef_add(st, "", "{}", b, sizeof(b)), EINVAL);
	assert_int_equal(cbdef_add(st, "web2", "{}", b, sizeof(b)), 0);
	assert_int_equal(cbdef_update(st, a, "{\"code\":\"503\"}"), 0);
	assert_int_equal(cbdef_update(st, "nosuch", "{}"), ENOENT);
	assert_int_equal(cbdef_list(st, seen_h, &s), 0);
	assert_int_equal(s.n, 2);
	snprintf(want, sizeof(want), "%s web {\"code\":\"503\"}", a);
	assert_string_equal(s.line[0], want);
	snprintf(want, sizeof(want), "%s web2 {}", b);
	assert_string_equal(s.line[1], want);
	assert_int_equal(cbdef_remove(st, a), 0);
	assert_int_equal(cbdef_remove(st, a), ENOENT);
	memset(&s, 0, sizeof(s));
	assert_int_equal(cbdef_list(st, seen_h, &s), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.line[0], want);
}

#define T(f) cmocka_unit_test_setup_teardown(f, store_fix_mem_setup, store_fix_mem_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_add_update_remove_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
