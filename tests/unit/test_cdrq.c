/* Unit tests for cdrq's written hook: what the hook stores (the Cdr
 * webhook's outbox row) commits with the CDR rows or not at all. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <re.h>
#include "pbx/chan.h"
#include "store/cdrq.h"
#include "store/outbox.h"
#include "store/store.h"

struct fix {
	struct store *st;
	struct cdrq *q;
	int fail_with;          /* the hook's return value */
	unsigned calls;
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	char err[256];

	if (!f || libre_init())
		return -1;
	if (store_open(&f->st, ":memory:", err, sizeof(err)))
		return -1;
	if (cdrq_alloc(&f->q, f->st, 1000, 256))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	f->fail_with = 0;
	mem_deref(f->q);
	store_close(f->st);
	free(f);
	libre_close();
	return 0;
}

static int written_h(const struct cdr_rec *rec, void *arg)
{
	struct fix *f = arg;
	struct outbox_new ev = { .event = "Cdr", .call_key = rec->linkedid,
				 .url = "http://127.0.0.1:9/", .body = rec->uniqueid };
	int err;

	++f->calls;
	err = outbox_enqueue(f->st, &ev, NULL);
	return err ? err : f->fail_with;
}

static int line_count_h(const char *line, void *arg)
{
	(void)line;
	++*(unsigned *)arg;
	return 0;
}

static unsigned cdr_rows(struct fix *f)
{
	unsigned n = 0;

	assert_int_equal(store_cdr_tail(f->st, 1000, line_count_h, &n), 0);
	return n;
}

static unsigned outbox_rows(struct fix *f)
{
	unsigned n = 99;

	assert_int_equal(outbox_count_pending(f->st, &n), 0);
	return n;
}

static void push(struct fix *f, const char *id)
{
	struct cdr_rec r = { .start_us = 1000000, .end_us = 2000000, .src = "1001",
			     .dst = "1002", .disposition = "ANSWERED", .uniqueid = id,
			     .linkedid = id };

	assert_int_equal(cdrq_push(f->q, &r), 0);
}

static void test_hook_runs_once_per_record_in_the_group(void **state)
{
	struct fix *f = *state;

	cdrq_set_written_h(f->q, written_h, f);
	push(f, "1.1");
	push(f, "1.2");
	assert_int_equal(cdrq_flush(f->q), 0);
	assert_int_equal(f->calls, 2);
	assert_int_equal(cdr_rows(f), 2);
	assert_int_equal(outbox_rows(f), 2);
	assert_int_equal(cdrq_pending(f->q), 0);
}

static void test_hook_failure_rolls_back_rows_and_outbox_and_retries(void **state)
{
	struct fix *f = *state;

	cdrq_set_written_h(f->q, written_h, f);
	push(f, "2.1");
	push(f, "2.2");
	f->fail_with = EIO;
	assert_int_equal(cdrq_flush(f->q), EIO);
	assert_int_equal(cdr_rows(f), 0);
	assert_int_equal(outbox_rows(f), 0);
	assert_int_equal(cdrq_pending(f->q), 2);
	f->fail_with = 0;
	assert_int_equal(cdrq_flush(f->q), 0);
	/* exactly one CDR row and one event per record, not one per try */
	assert_int_equal(cdr_rows(f), 2);
	assert_int_equal(outbox_rows(f), 2);
}

static void test_without_hook_only_cdr_rows(void **state)
{
	struct fix *f = *state;

	push(f, "3.1");
	assert_int_equal(cdrq_flush(f->q), 0);
	assert_int_equal(cdr_rows(f), 1);
	assert_int_equal(outbox_rows(f), 0);
	assert_int_equal(f->calls, 0);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_hook_runs_once_per_record_in_the_group),
		T(test_hook_failure_rolls_back_rows_and_outbox_and_retries),
		T(test_without_hook_only_cdr_rows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
