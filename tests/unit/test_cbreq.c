/* Unit tests for store/cbreq: callback requests registered (a caller's
 * pending one merged), due for the automatic call, attempted, finished,
 * handled by an operator, searched. */
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
#include "store/cbreq.h"
#include "store/store.h"
#include "store_fixture.h"

struct seen {
	unsigned n;
	char id[8][32], number[8][32], status[8][16];
	int64_t attempts[8];
};

static int seen_h(const struct cbreq_rec *r, void *arg)
{
	struct seen *s = arg;

	if (s->n < 8) {
		snprintf(s->id[s->n], sizeof(s->id[0]), "%s", r->id);
		snprintf(s->number[s->n], sizeof(s->number[0]), "%s", r->number);
		snprintf(s->status[s->n], sizeof(s->status[0]), "%s", r->status);
		s->attempts[s->n] = r->attempts;
	}
	++s->n;
	return 0;
}

static void reg(struct store *st, const char *cb, const char *caller, const char *number,
		int64_t due, char *id, bool want_merged)
{
	const struct cbreq_rec r = { .callback = cb, .caller = caller, .number = number,
				     .target = "1002", .uniqueid = "u", .due = due };
	bool merged = !want_merged;

	assert_int_equal(cbreq_register(st, &r, id, 32, &merged), 0);
	assert_int_equal(merged, want_merged);
}

static void test_register_merges_a_callers_pending_request(void **state)
{
	struct store *st = *state;
	char a[32], b[32], c[32], d[32];
	struct cbreq_query q = { 0 };
	struct seen s = { 0 };
	uint64_t total = 0;

	reg(st, "sales", "1001", "1001", 0, a, false);
	reg(st, "sales", "1001", "0912", 0, b, true);
	assert_string_equal(a, b);
	reg(st, "support", "1001", "1001", 0, c, false);   /* another callback */
	reg(st, "sales", "1005", "1005", 0, d, false);     /* another caller */
	assert_int_equal(cbreq_search(st, &q, &total, seen_h, &s), 0);
	assert_int_equal(total, 3);
	q.callback = "sales";
	q.caller = "1001";
	memset(&s, 0, sizeof(s));
	assert_int_equal(cbreq_search(st, &q, &total, seen_h, &s), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.number[0], "0912");
	/* Once handled, a new request is a new row. */
	assert_int_equal(cbreq_finish(st, a, CBREQ_DONE, ""), 0);
	reg(st, "sales", "1001", "1001", 0, b, false);
	assert_string_not_equal(a, b);
}

static void test_register_refuses_missing_fields(void **state)
{
	struct store *st = *state;
	const struct cbreq_rec r = { .callback = "sales", .caller = "1001", .number = "" };
	char id[32];

	assert_int_equal(cbreq_register(st, &r, id, sizeof(id), NULL), EINVAL);
	assert_int_equal(cbreq_register(st, NULL, id, sizeof(id), NULL), EINVAL);
}

static void test_due_calling_pending_failed_and_operator(void **state)
{
	struct store *st = *state;
	char a[32], b[32];
	struct seen s = { 0 };
	unsigned n = 0;

	reg(st, "sales", "1001", "1001", 100, a, false);
	reg(st, "sales", "1002", "1002", 200, b, false);
	assert_int_equal(cbreq_due(st, 150, seen_h, &s), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.id[0], a);
	assert_int_equal(cbreq_set_calling(st, a, "orig.call.1.000001"), 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(cbreq_due(st, 1000, seen_h, &s), 0);
	assert_int_equal(s.n, 1);              /* a is being called */
	assert_string_equal(s.id[0], b);
	/* A restart finds a calling: pending again, its attempt counted. */
	assert_int_equal(cbreq_reset_calling(st, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(cbreq_set_pending(st, a, 500), 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(cbreq_due(st, 499, seen_h, &s), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(cbreq_finish(st, a, CBREQ_FAILED, ""), 0);
	assert_int_equal(cbreq_finish(st, a, "maybe", ""), EINVAL);
	assert_int_equal(cbreq_finish(st, "nosuch", CBREQ_DONE, ""), ENOENT);
	/* An operator may handle a failed or pending one, once. */
	assert_int_equal(cbreq_mark_done(st, a, "op1"), 0);
	assert_int_equal(cbreq_mark_done(st, a, "op1"), ENOENT);
	assert_int_equal(cbreq_mark_done(st, b, "op2"), 0);
	memset(&s, 0, sizeof(s));
	{
		struct cbreq_query q = { .status = CBREQ_DONE };
		uint64_t total = 0;

		assert_int_equal(cbreq_search(st, &q, &total, seen_h, &s), 0);
		assert_int_equal(total, 2);
		assert_int_equal(s.attempts[0], 1);
	}
}

static void test_called_back_by_an_agent(void **state)
{
	struct store *st = *state;
	char a[32], b[32], c[32];
	struct seen s = { 0 };
	struct cbreq_query q = { .status = CBREQ_DONE };
	uint64_t total = 0;

	reg(st, "sales", "1001", "0912", 0, a, false);
	reg(st, "support", "1001", "0912", 0, b, false);
	reg(st, "sales", "1005", "0935", 0, c, false);
	assert_int_equal(cbreq_set_calling(st, b, "orig.call.1.1"), 0);
	/* A call before the requests: nothing. */
	assert_int_equal(cbreq_called_back(st, "0912", "2000-01-01 00:00:00", "", "1002",
					   seen_h, &s), 0);
	assert_int_equal(s.n, 0);
	/* b's own attempt does not handle b; a is handled. */
	assert_int_equal(cbreq_called_back(st, "0912", "2999-01-01 00:00:00", "orig.call.1.1",
					   "1002", seen_h, &s), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.id[0], a);
	assert_string_equal(s.status[0], CBREQ_DONE);
	/* Another agent's call handles the calling one too; done ones stay. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(cbreq_called_back(st, "0912", "2999-01-01 00:00:00", "", "1003",
					   seen_h, &s), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.id[0], b);
	memset(&s, 0, sizeof(s));
	assert_int_equal(cbreq_search(st, &q, &total, seen_h, &s), 0);
	assert_int_equal(total, 2);
	{
		struct cbreq_query p = { .status = CBREQ_PENDING };

		memset(&s, 0, sizeof(s));
		assert_int_equal(cbreq_search(st, &p, &total, seen_h, &s), 0);
		assert_int_equal(total, 1);        /* c: another number */
		assert_string_equal(s.id[0], c);
	}
	assert_int_equal(cbreq_called_back(st, "", "2999-01-01 00:00:00", "", "1", NULL, NULL),
			 EINVAL);
}

struct tries {
	unsigned n;
	int64_t attempt[4];
	char call_id[4][32], agent[4][16], outcome[4][16], ended[4][24];
};

static int tries_h(const struct cbreq_attempt *a, void *arg)
{
	struct tries *t = arg;

	if (t->n < 4) {
		t->attempt[t->n] = a->attempt;
		snprintf(t->call_id[t->n], sizeof(t->call_id[0]), "%s", a->call_id);
		snprintf(t->agent[t->n], sizeof(t->agent[0]), "%s", a->agent);
		snprintf(t->outcome[t->n], sizeof(t->outcome[0]), "%s", a->outcome);
		snprintf(t->ended[t->n], sizeof(t->ended[0]), "%s", a->ended_at);
	}
	++t->n;
	return 0;
}

static void test_attempts_recorded_and_interrupted_by_a_stop(void **state)
{
	struct store *st = *state;
	char a[32], b[32];
	struct cbreq_attempt at = { .agent = "1002" };
	struct tries t = { 0 };
	struct seen s = { 0 };
	unsigned n = 0;

	reg(st, "sales", "1001", "1001", 0, a, false);
	reg(st, "sales", "1005", "1005", 0, b, false);
	at.req_id = a;
	at.attempt = 1;
	at.call_id = "orig.1";
	assert_int_equal(cbreq_attempt_start(st, &at), 0);
	assert_int_equal(cbreq_attempt_end(st, a, 1, "BUSY"), 0);
	at.attempt = 2;
	at.call_id = "orig.2";
	assert_int_equal(cbreq_set_calling(st, a, "orig.2"), 0);
	assert_int_equal(cbreq_attempt_start(st, &at), 0);
	assert_int_equal(cbreq_attempt_end(st, a, 3, "BUSY"), ENOENT);   /* no such attempt */
	assert_int_equal(cbreq_attempts(st, a, tries_h, &t), 0);
	assert_int_equal(t.n, 2);
	assert_int_equal(t.attempt[0], 1);
	assert_string_equal(t.call_id[0], "orig.1");
	assert_string_equal(t.agent[0], "1002");
	assert_string_equal(t.outcome[0], "BUSY");
	assert_true(t.ended[0][0] != '\0');
	assert_string_equal(t.outcome[1], "");
	assert_string_equal(t.ended[1], "");
	/* A stop while calling: the request is pending again, the attempt over. */
	assert_int_equal(cbreq_reset_calling(st, &n), 0);
	assert_int_equal(n, 1);
	memset(&t, 0, sizeof(t));
	assert_int_equal(cbreq_attempts(st, a, tries_h, &t), 0);
	assert_string_equal(t.outcome[1], CBREQ_INTERRUPTED);
	memset(&t, 0, sizeof(t));
	assert_int_equal(cbreq_attempts(st, b, tries_h, &t), 0);   /* the other has none */
	assert_int_equal(t.n, 0);
	assert_int_equal(cbreq_get(st, a, seen_h, &s), 0);
	assert_string_equal(s.status[0], CBREQ_PENDING);
	assert_int_equal(cbreq_get(st, "nosuch", seen_h, &s), ENOENT);
}

static void test_search_by_operator_target_and_handled_window(void **state)
{
	struct store *st = *state;
	char a[32], b[32];
	struct cbreq_query q = { .target = "1002" };
	struct seen s = { 0 };
	uint64_t total = 0;

	reg(st, "sales", "1001", "1001", 0, a, false);
	reg(st, "sales", "1005", "1005", 0, b, false);
	assert_int_equal(cbreq_mark_done(st, a, "1003"), 0);
	assert_int_equal(cbreq_search(st, &q, &total, seen_h, &s), 0);
	assert_int_equal(total, 2);
	q.operator = "1003";
	memset(&s, 0, sizeof(s));
	assert_int_equal(cbreq_search(st, &q, &total, seen_h, &s), 0);
	assert_int_equal(total, 1);
	assert_string_equal(s.id[0], a);
	/* Only handled requests fall in a handled window, even an open one. */
	q = (struct cbreq_query){ .hto = "2999-01-01" };
	memset(&s, 0, sizeof(s));
	assert_int_equal(cbreq_search(st, &q, &total, seen_h, &s), 0);
	assert_int_equal(total, 1);
	assert_string_equal(s.id[0], a);
	q = (struct cbreq_query){ .hfrom = "2000-01-01", .hto = "2000-01-02" };
	assert_int_equal(cbreq_search(st, &q, &total, seen_h, &s), 0);
	assert_int_equal(total, 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, store_fix_mem_setup, store_fix_mem_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_register_merges_a_callers_pending_request),
		T(test_register_refuses_missing_fields),
		T(test_due_calling_pending_failed_and_operator),
		T(test_called_back_by_an_agent),
		T(test_attempts_recorded_and_interrupted_by_a_stop),
		T(test_search_by_operator_target_and_handled_window),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
