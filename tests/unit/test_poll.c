/* Unit tests for store/poll: survey rows written and searched as
 * reports/poll/search needs them. */
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
#include "store/poll.h"
#include "store/store.h"
#include "store_fixture.h"

struct seen {
	unsigned n;
	char ids[8][32];
	int64_t points[8];
	char dates[8][32];
};

static int seen_h(const struct poll_rec *r, void *arg)
{
	struct seen *s = arg;

	if (s->n < 8) {
		snprintf(s->ids[s->n], sizeof(s->ids[0]), "%s", r->id);
		s->points[s->n] = r->point;
		snprintf(s->dates[s->n], sizeof(s->dates[0]), "%s", r->date);
	}
	++s->n;
	return 0;
}

static void add(struct store *st, const char *uid, const char *src, const char *label,
		int64_t point, const char *date, char *id)
{
	const struct poll_rec r = { .uniqueid = uid, .src = src, .dst = "1002", .point = point,
				    .label = label, .qnum = "", .date = date };
	char buf[32];

	assert_int_equal(poll_add(st, &r, id ? id : buf, 32), 0);
}

static uint64_t count(struct store *st, const struct poll_query *q, struct seen *s)
{
	uint64_t total = 0;

	memset(s, 0, sizeof(*s));
	assert_int_equal(poll_search(st, q, &total, seen_h, s), 0);
	return total;
}

static void test_poll_add_gives_an_id_and_reads_back(void **state)
{
	struct store *st = *state;
	struct poll_query q = { 0 };
	struct seen s;
	char id[32];

	add(st, "1.1", "1001", "support", 4, NULL, id);
	assert_int_equal(strlen(id), 24);
	assert_int_equal(count(st, &q, &s), 1);
	assert_string_equal(s.ids[0], id);
	assert_int_equal(s.points[0], 4);
	assert_int_equal(strlen(s.dates[0]), 19);     /* now, "YYYY-MM-DD HH:MM:SS" */
}

static void test_poll_add_refuses_a_row_without_uniqueid(void **state)
{
	struct poll_rec r = { .uniqueid = "", .point = 1 };
	char id[32];

	assert_int_equal(poll_add(*state, &r, id, sizeof(id)), EINVAL);
	r.uniqueid = "1.1";
	assert_int_equal(poll_add(*state, &r, id, 10), EINVAL);     /* no room for the id */
}

static void test_poll_search_filters_exact_and_alike(void **state)
{
	struct store *st = *state;
	struct poll_query q = { .label = "sup" };
	struct seen s;

	add(st, "1.1", "1001", "support", 4, "2024-05-30 10:00:00", NULL);
	add(st, "1.2", "1003", "sales", 2, "2024-05-30 11:00:00", NULL);
	add(st, "1.3", "1001", "50%_off", 5, "2024-05-31 09:00:00", NULL);
	assert_int_equal(count(st, &q, &s), 0);
	q.alike = true;
	assert_int_equal(count(st, &q, &s), 1);
	/* LIKE wildcards in the value are literal. */
	q = (struct poll_query){ .label = "%_", .alike = true };
	assert_int_equal(count(st, &q, &s), 1);
	assert_int_equal(s.points[0], 5);
	q = (struct poll_query){ .src = "1001", .uniqueid = "1.1" };
	assert_int_equal(count(st, &q, &s), 1);
	assert_int_equal(s.points[0], 4);
}

static void test_poll_search_window_includes_the_to_minute_and_day(void **state)
{
	struct store *st = *state;
	struct poll_query q = { .from = "2024-05-30 10:00", .to = "2024-05-30 10:59" };
	struct seen s;

	add(st, "1.1", "1001", "a", 1, "2024-05-30 09:59:59", NULL);
	add(st, "1.2", "1001", "a", 2, "2024-05-30 10:59:30", NULL);
	add(st, "1.3", "1001", "a", 3, "2024-05-30 23:59:59", NULL);
	add(st, "1.4", "1001", "a", 4, "2024-05-31 00:00:00", NULL);
	assert_int_equal(count(st, &q, &s), 1);
	assert_int_equal(s.points[0], 2);
	q = (struct poll_query){ .from = "2024-05-30", .to = "2024-05-30" };
	assert_int_equal(count(st, &q, &s), 3);
}

static void test_poll_search_sorts_and_pages(void **state)
{
	struct store *st = *state;
	struct poll_query q = { .sort = "date", .desc = true, .start = 1, .count = 2 };
	struct seen s;
	uint64_t total;

	add(st, "1.1", "1001", "a", 1, "2024-05-30 10:00:00", NULL);
	add(st, "1.2", "1001", "a", 2, "2024-05-30 11:00:00", NULL);
	add(st, "1.3", "1001", "a", 3, "2024-05-30 12:00:00", NULL);
	add(st, "1.4", "1001", "a", 4, "2024-05-30 12:00:00", NULL);
	total = count(st, &q, &s);
	assert_int_equal(total, 4);
	assert_int_equal(s.n, 2);
	/* Same date: the later row first when descending. */
	assert_int_equal(s.points[0], 3);
	assert_int_equal(s.points[1], 2);
	q = (struct poll_query){ .sort = "point" };
	count(st, &q, &s);
	assert_int_equal(s.points[0], 1);
	assert_int_equal(s.points[3], 4);
	q.sort = "secret";
	assert_int_equal(poll_search(st, &q, &total, seen_h, &s), EINVAL);
}

static void test_poll_add_rolls_back_with_the_transaction(void **state)
{
	struct store *st = *state;
	struct poll_query q = { 0 };
	struct seen s;

	assert_int_equal(store_begin(st), 0);
	add(st, "1.1", "1001", "a", 1, NULL, NULL);
	store_rollback(st);
	assert_int_equal(count(st, &q, &s), 0);
}

static void test_poll_last_gives_the_latest_score_of_a_channel(void **state)
{
	struct store *st = *state;
	struct seen s = { 0 };

	add(st, "1.1", "1001", "a", 1, NULL, NULL);
	add(st, "1.1", "1001", "b", 3, NULL, NULL);
	add(st, "1.2", "1001", "a", 5, NULL, NULL);
	assert_int_equal(poll_last(st, "1.1", seen_h, &s), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.points[0], 3);
	assert_int_equal(poll_last(st, "9.9", seen_h, &s), ENOENT);
}

#define T(f) cmocka_unit_test_setup_teardown(f, store_fix_mem_setup, store_fix_mem_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_poll_add_gives_an_id_and_reads_back),
		T(test_poll_add_refuses_a_row_without_uniqueid),
		T(test_poll_search_filters_exact_and_alike),
		T(test_poll_search_window_includes_the_to_minute_and_day),
		T(test_poll_search_sorts_and_pages),
		T(test_poll_add_rolls_back_with_the_transaction),
		T(test_poll_last_gives_the_latest_score_of_a_channel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
