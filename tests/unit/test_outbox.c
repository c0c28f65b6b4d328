/* Unit tests for outbox: due selection, order per call key, backoff, failure
 * bookkeeping, transactions and persistence across a store reopen. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>
#include "store/outbox.h"
#include "store/store.h"
#include "store_fixture.h"

static int setup(void **state)
{
	return store_fix_setup(state, "outbox", "tamas.db", true);
}

static int64_t put(struct store_fix *f, const char *event, const char *key, const char *body)
{
	struct outbox_new ev = { .event = event, .call_key = key, .url = "http://127.0.0.1:9/h",
				 .method = "POST", .style = "g4", .body = body };
	int64_t id = 0;

	assert_int_equal(outbox_enqueue(f->st, &ev, &id), 0);
	assert_true(id > 0);
	return id;
}

/* Collected rows of one fetch/apply. */
struct got {
	unsigned n;
	int64_t id[16];
	char body[16][64];
	char key[16][32];
	char method[16][8], style[16][8];
	uint32_t attempts[16];
	int64_t next_at[16];
	char last_error[16][256];
};

static int collect_h(const struct outbox_row *r, void *arg)
{
	struct got *g = arg;

	if (g->n >= 16)
		return E2BIG;
	g->id[g->n] = r->id;
	snprintf(g->body[g->n], sizeof(g->body[0]), "%s", r->body);
	snprintf(g->key[g->n], sizeof(g->key[0]), "%s", r->call_key);
	snprintf(g->method[g->n], sizeof(g->method[0]), "%s", r->method);
	snprintf(g->style[g->n], sizeof(g->style[0]), "%s", r->style);
	snprintf(g->last_error[g->n], sizeof(g->last_error[0]), "%s",
		 r->last_error ? r->last_error : "(null)");
	g->attempts[g->n] = r->attempts;
	g->next_at[g->n] = r->next_at;
	g->n++;
	return 0;
}

static struct got due(struct store_fix *f, int64_t now, unsigned max)
{
	struct got g = {0};

	assert_int_equal(outbox_fetch_due(f->st, now, max, collect_h, &g), 0);
	return g;
}

static unsigned pending(struct store_fix *f)
{
	unsigned n = 99;

	assert_int_equal(outbox_count_pending(f->st, &n), 0);
	return n;
}

static void test_enqueued_row_is_due_at_once_with_its_fields(void **state)
{
	struct store_fix *f = *state;
	int64_t id = put(f, "Cdr", "1717.1", "{\"event_name\":\"Cdr\"}");
	struct got g = due(f, 1, 10);

	assert_int_equal(g.n, 1);
	assert_int_equal(g.id[0], id);
	assert_string_equal(g.body[0], "{\"event_name\":\"Cdr\"}");
	assert_string_equal(g.key[0], "1717.1");
	assert_int_equal(g.attempts[0], 0);
	assert_int_equal(g.next_at[0], 0);
	assert_string_equal(g.last_error[0], "(null)");
	assert_int_equal(pending(f), 1);
}

static void test_only_oldest_row_of_a_call_key_is_due(void **state)
{
	struct store_fix *f = *state;
	int64_t a1 = put(f, "IncomingCall", "A", "a1");
	int64_t b1 = put(f, "IncomingCall", "B", "b1");
	int64_t a2 = put(f, "Cdr", "A", "a2");
	struct got g = due(f, 1000, 10);

	assert_int_equal(g.n, 2);
	assert_int_equal(g.id[0], a1);
	assert_int_equal(g.id[1], b1);
	assert_int_equal(outbox_mark_delivered(f->st, a1), 0);
	g = due(f, 1000, 10);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.id[0], b1);     /* (next_at, id): b1 is older than a2 */
	assert_int_equal(g.id[1], a2);
}

static void test_failed_row_holds_back_later_rows_of_its_call_until_due(void **state)
{
	struct store_fix *f = *state;
	int64_t a1 = put(f, "NewState", "A", "a1");
	int64_t a2 = put(f, "NewState", "A", "a2");
	int64_t b1 = put(f, "NewState", "B", "b1");
	struct got g;

	assert_int_equal(outbox_mark_failed(f->st, a1, 5000, "HTTP 503"), 0);
	g = due(f, 4999, 10);
	assert_int_equal(g.n, 1);          /* a2 waits behind a1, not due yet */
	assert_int_equal(g.id[0], b1);
	g = due(f, 5000, 10);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.id[0], b1);
	assert_int_equal(g.id[1], a1);
	assert_int_equal(outbox_mark_delivered(f->st, a1), 0);
	g = due(f, 5000, 10);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.id[0], a2);     /* never tried (next_at 0) goes first */
	assert_int_equal(g.id[1], b1);
}

static void test_fetch_respects_max(void **state)
{
	struct store_fix *f = *state;
	char key[8];

	for (int i = 0; i < 5; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		put(f, "Cdr", key, "x");
	}
	assert_int_equal(due(f, 1, 3).n, 3);
	assert_int_equal(due(f, 1, 0).n, 0);
	assert_int_equal(due(f, 1, 100).n, 5);
}

static void test_failure_counts_attempts_and_keeps_truncated_error(void **state)
{
	struct store_fix *f = *state;
	int64_t id = put(f, "Cdr", "A", "x");
	char longerr[400];
	struct got g = {0};

	memset(longerr, 'e', sizeof(longerr) - 1);
	longerr[sizeof(longerr) - 1] = '\0';
	assert_int_equal(outbox_mark_failed(f->st, id, 10, "connect refused"), 0);
	assert_int_equal(outbox_mark_failed(f->st, id, 20, longerr), 0);
	assert_int_equal(outbox_apply(f->st, collect_h, &g), 0);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.attempts[0], 2);
	assert_int_equal(g.next_at[0], 20);
	assert_int_equal(strlen(g.last_error[0]), 200);
	assert_int_equal(pending(f), 1);
}

static void test_next_due_is_earliest_future_head(void **state)
{
	struct store_fix *f = *state;
	int64_t a1 = put(f, "Cdr", "A", "a1");
	int64_t b1 = put(f, "Cdr", "B", "b1");
	int64_t at = 0;

	(void)put(f, "Cdr", "B", "b2");
	/* all due now: nothing in the future */
	assert_int_equal(outbox_next_due(f->st, 100, &at), ENOENT);
	assert_int_equal(outbox_mark_failed(f->st, a1, 900, "x"), 0);
	assert_int_equal(outbox_mark_failed(f->st, b1, 700, "x"), 0);
	assert_int_equal(outbox_next_due(f->st, 100, &at), 0);
	assert_int_equal(at, 700);
	assert_int_equal(outbox_next_due(f->st, 700, &at), 0);
	assert_int_equal(at, 900);
	assert_int_equal(outbox_mark_delivered(f->st, a1), 0);
	assert_int_equal(outbox_mark_delivered(f->st, b1), 0);
	/* b2 (never tried, next_at 0) is due, not in the future */
	assert_int_equal(outbox_next_due(f->st, 100, &at), ENOENT);
}

static void test_missing_row_is_enoent(void **state)
{
	struct store_fix *f = *state;

	assert_int_equal(outbox_mark_delivered(f->st, 12345), ENOENT);
	assert_int_equal(outbox_mark_failed(f->st, 12345, 1, "x"), ENOENT);
}

static void test_bad_input_is_einval_and_stores_nothing(void **state)
{
	struct store_fix *f = *state;
	struct outbox_new ev = { .event = "Cdr", .url = "http://x/", .body = "{}" };

	ev.event = "";
	assert_int_equal(outbox_enqueue(f->st, &ev, NULL), EINVAL);
	ev.event = "Cdr";
	ev.url = NULL;
	assert_int_equal(outbox_enqueue(f->st, &ev, NULL), EINVAL);
	ev.url = "http://x/";
	ev.body = NULL;
	assert_int_equal(outbox_enqueue(f->st, &ev, NULL), EINVAL);
	assert_int_equal(outbox_enqueue(NULL, &ev, NULL), EINVAL);
	assert_int_equal(outbox_fetch_due(f->st, 1, 1, NULL, NULL), EINVAL);
	assert_int_equal(pending(f), 0);
}

static void test_defaults_for_method_style_and_key(void **state)
{
	struct store_fix *f = *state;
	struct outbox_new ev = { .event = "Ping", .url = "http://x/", .body = "{}" };
	struct got g = {0};

	assert_int_equal(outbox_enqueue(f->st, &ev, NULL), 0);
	assert_int_equal(outbox_apply(f->st, collect_h, &g), 0);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.key[0], "");
	assert_string_equal(g.method[0], "POST");
	assert_string_equal(g.style[0], "rest");
}

static void test_enqueue_follows_the_open_transaction(void **state)
{
	struct store_fix *f = *state;

	assert_int_equal(store_begin(f->st), 0);
	put(f, "Cdr", "A", "rolled back");
	store_rollback(f->st);
	assert_int_equal(pending(f), 0);
	assert_int_equal(store_begin(f->st), 0);
	put(f, "Cdr", "A", "committed");
	assert_int_equal(store_commit(f->st), 0);
	assert_int_equal(pending(f), 1);
}

static void test_rows_and_their_state_survive_reopen(void **state)
{
	struct store_fix *f = *state;
	int64_t a1 = put(f, "Cdr", "A", "a1");
	int64_t a2 = put(f, "Cdr", "A", "a2");
	struct got g;

	assert_int_equal(outbox_mark_failed(f->st, a1, 3000, "HTTP 500"), 0);
	store_close(f->st);
	f->st = NULL;
	store_fix_open(f);
	assert_int_equal(pending(f), 2);
	assert_int_equal(due(f, 2999, 10).n, 0);
	g = due(f, 3000, 10);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.id[0], a1);
	assert_int_equal(g.attempts[0], 1);
	assert_string_equal(g.last_error[0], "HTTP 500");
	assert_int_equal(outbox_mark_delivered(f->st, a1), 0);
	g = due(f, 3000, 10);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.id[0], a2);
}

static void test_handler_error_stops_the_walk(void **state)
{
	struct store_fix *f = *state;
	struct got g = {0};

	for (int i = 0; i < 20; i++) {
		char key[8];
		snprintf(key, sizeof(key), "k%d", i);
		put(f, "Cdr", key, "x");
	}
	assert_int_equal(outbox_fetch_due(f->st, 1, 100, collect_h, &g), E2BIG);
	assert_int_equal(g.n, 16);
}

static void test_backoff_doubles_to_the_cap(void **state)
{
	(void)state;
	assert_int_equal(outbox_backoff_ms(1, 1000, 300000, 0), 1000);
	assert_int_equal(outbox_backoff_ms(2, 1000, 300000, 0), 2000);
	assert_int_equal(outbox_backoff_ms(3, 1000, 300000, 0), 4000);
	assert_int_equal(outbox_backoff_ms(9, 1000, 300000, 0), 256000);
	assert_int_equal(outbox_backoff_ms(10, 1000, 300000, 0), 300000);
	assert_int_equal(outbox_backoff_ms(1000000, 1000, 300000, 0), 300000);
	/* a zero attempt count behaves as the first retry */
	assert_int_equal(outbox_backoff_ms(0, 1000, 300000, 0), 1000);
	/* max below min: min wins */
	assert_int_equal(outbox_backoff_ms(5, 500, 100, 0), 500);
}

static void test_backoff_jitter_stays_within_a_quarter_below(void **state)
{
	uint32_t lo = UINT32_MAX, hi = 0;

	(void)state;
	for (uint32_t rnd = 0; rnd < 5000; rnd += 7) {
		uint32_t d = outbox_backoff_ms(3, 1000, 300000, rnd * 2654435761u);
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	assert_true(lo >= 3000);
	assert_true(hi <= 4000);
	assert_true(hi - lo > 500);      /* it does spread */
	for (uint32_t rnd = 0; rnd < 1000; rnd++)
		assert_true(outbox_backoff_ms(40, 1000, 300000, rnd * 2654435761u) <= 300000);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, store_fix_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_enqueued_row_is_due_at_once_with_its_fields),
		T(test_only_oldest_row_of_a_call_key_is_due),
		T(test_failed_row_holds_back_later_rows_of_its_call_until_due),
		T(test_fetch_respects_max),
		T(test_failure_counts_attempts_and_keeps_truncated_error),
		T(test_next_due_is_earliest_future_head),
		T(test_missing_row_is_enoent),
		T(test_bad_input_is_einval_and_stores_nothing),
		T(test_defaults_for_method_style_and_key),
		T(test_enqueue_follows_the_open_transaction),
		T(test_rows_and_their_state_survive_reopen),
		T(test_handler_error_stops_the_walk),
		cmocka_unit_test(test_backoff_doubles_to_the_cap),
		cmocka_unit_test(test_backoff_jitter_stays_within_a_quarter_below),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
