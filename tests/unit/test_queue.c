/* Queue strategies as pure functions (asterisk-semantics.md §7.3) and the
 * joinempty/leavewhenempty words (§7.5). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>
#include "pbx/qstrategy.h"
#include "pbx/queue.h"

#define N 4

static void all_usable(struct qcand *c, size_t n)
{
	memset(c, 0, n * sizeof(*c));
	for (size_t i = 0; i < n; i++)
		c[i].usable = true;
}

static size_t pick1(enum qstrategy s, const struct qcand *c, size_t n, size_t rr)
{
	size_t out[N];

	assert_int_equal(qstrategy_pick(s, c, n, rr, NULL, NULL, out, N), 1);
	return out[0];
}

static void test_parse_names_and_alias(void **state)
{
	enum qstrategy s;

	(void)state;
	assert_int_equal(qstrategy_parse("ringall", &s), 0);
	assert_int_equal(s, QSTRATEGY_RINGALL);
	assert_int_equal(qstrategy_parse("RRMEMORY", &s), 0);
	assert_int_equal(s, QSTRATEGY_RRMEMORY);
	assert_int_equal(qstrategy_parse("roundrobin", &s), 0);
	assert_int_equal(s, QSTRATEGY_RRMEMORY);
	assert_int_equal(qstrategy_parse("rrordered", &s), 0);
	assert_int_equal(s, QSTRATEGY_RRMEMORY);
	assert_int_equal(qstrategy_parse("wrandom", &s), 0);
	assert_string_equal(qstrategy_name(s), "wrandom");
	assert_int_equal(qstrategy_parse("bogus", &s), EINVAL);
	assert_int_equal(qstrategy_parse("", &s), EINVAL);
	assert_int_equal(qstrategy_parse(NULL, &s), EINVAL);
}

static void test_ringall_rings_lowest_penalty_level(void **state)
{
	struct qcand c[N];
	size_t out[N];

	(void)state;
	all_usable(c, N);
	c[1].penalty = 1;
	assert_int_equal(qstrategy_pick(QSTRATEGY_RINGALL, c, N, 0, NULL, NULL, out, N), 3);
	assert_int_equal(out[0], 0);
	assert_int_equal(out[1], 2);
	assert_int_equal(out[2], 3);
	/* the lower level busy: the next level rings */
	c[0].usable = c[2].usable = c[3].usable = false;
	assert_int_equal(qstrategy_pick(QSTRATEGY_RINGALL, c, N, 0, NULL, NULL, out, N), 1);
	assert_int_equal(out[0], 1);
	c[1].usable = false;
	assert_int_equal(qstrategy_pick(QSTRATEGY_RINGALL, c, N, 0, NULL, NULL, out, N), 0);
}

static void test_linear_takes_first_usable(void **state)
{
	struct qcand c[N];

	(void)state;
	all_usable(c, N);
	assert_int_equal(pick1(QSTRATEGY_LINEAR, c, N, 2), 0);   /* rr position ignored */
	c[0].usable = false;
	assert_int_equal(pick1(QSTRATEGY_LINEAR, c, N, 0), 1);
	c[2].penalty = 0;
	c[1].penalty = 3;
	assert_int_equal(pick1(QSTRATEGY_LINEAR, c, N, 0), 2);   /* penalty tier first */
}

static void test_rrmemory_starts_at_remembered_position_and_wraps(void **state)
{
	struct qcand c[N];

	(void)state;
	all_usable(c, N);
	assert_int_equal(pick1(QSTRATEGY_RRMEMORY, c, N, 0), 0);
	assert_int_equal(pick1(QSTRATEGY_RRMEMORY, c, N, 1), 1);
	assert_int_equal(pick1(QSTRATEGY_RRMEMORY, c, N, 3), 3);
	assert_int_equal(pick1(QSTRATEGY_RRMEMORY, c, N, 4), 0);   /* wraps */
	c[3].usable = false;
	assert_int_equal(pick1(QSTRATEGY_RRMEMORY, c, N, 3), 0);
	c[0].penalty = 2;
	assert_int_equal(pick1(QSTRATEGY_RRMEMORY, c, N, 3), 1);
}

static void test_leastrecent_prefers_never_then_oldest(void **state)
{
	struct qcand c[N];

	(void)state;
	all_usable(c, N);
	c[0].last_end_us = 500;
	c[1].last_end_us = 100;
	c[2].last_end_us = 300;
	c[3].last_end_us = 0;                      /* never called */
	assert_int_equal(pick1(QSTRATEGY_LEASTRECENT, c, N, 0), 3);
	c[3].usable = false;
	assert_int_equal(pick1(QSTRATEGY_LEASTRECENT, c, N, 0), 1);
}

static void test_fewestcalls_prefers_fewest_ties_in_order(void **state)
{
	struct qcand c[N];

	(void)state;
	all_usable(c, N);
	c[0].calls = 3;
	c[1].calls = 1;
	c[2].calls = 1;
	c[3].calls = 2;
	assert_int_equal(pick1(QSTRATEGY_FEWESTCALLS, c, N, 0), 1);
	c[1].calls = 5;
	assert_int_equal(pick1(QSTRATEGY_FEWESTCALLS, c, N, 0), 2);
}

static uint32_t fixed_rand(void *arg)
{
	uint32_t **p = arg;
	return *(*p)++;
}

static void test_random_uses_rnd_within_penalty_tier(void **state)
{
	struct qcand c[N];
	uint32_t vals[] = { 9, 2, 7, 5 }, *p = vals;
	size_t out[N];

	(void)state;
	all_usable(c, N);
	assert_int_equal(qstrategy_pick(QSTRATEGY_RANDOM, c, N, 0, fixed_rand, &p, out, N), 1);
	assert_int_equal(out[0], 1);              /* lowest random draw */
	c[1].penalty = 1;                         /* out of the best tier: never drawn */
	p = vals;
	assert_int_equal(qstrategy_pick(QSTRATEGY_RANDOM, c, N, 0, fixed_rand, &p, out, N), 1);
	assert_int_equal(out[0], 2);              /* members 0, 2, 3 draw 9, 2, 7 */
}

static void test_wrandom_weights_by_penalty_no_tiers(void **state)
{
	struct qcand c[2];
	uint32_t vals[] = { 1500, 1200 }, *p = vals;
	size_t out[2];

	(void)state;
	all_usable(c, 2);
	c[0].penalty = 0;    /* metric 1500 % 1000 = 500 */
	c[1].penalty = 1;    /* metric 1200 % 2000 = 1200 */
	assert_int_equal(qstrategy_pick(QSTRATEGY_WRANDOM, c, 2, 0, fixed_rand, &p, out, 2), 1);
	assert_int_equal(out[0], 0);
	vals[0] = 999;       /* 999 */
	vals[1] = 30;        /* 30: the higher penalty still wins a low draw */
	p = vals;
	assert_int_equal(qstrategy_pick(QSTRATEGY_WRANDOM, c, 2, 0, fixed_rand, &p, out, 2), 1);
	assert_int_equal(out[0], 1);
}

static void test_nothing_usable_picks_nothing(void **state)
{
	struct qcand c[N];
	size_t out[N];

	(void)state;
	memset(c, 0, sizeof(c));
	for (int s = QSTRATEGY_RINGALL; s <= QSTRATEGY_WRANDOM; s++)
		assert_int_equal(qstrategy_pick((enum qstrategy)s, c, N, 0, NULL, NULL, out, N), 0);
	assert_int_equal(qstrategy_pick(QSTRATEGY_LINEAR, c, 0, 0, NULL, NULL, out, N), 0);
}

static void test_empty_words(void **state)
{
	unsigned m;
	char why[200];

	(void)state;
	assert_int_equal(queue_empty_parse("", true, &m, why, sizeof(why)), 0);
	assert_int_equal(m, 0);
	assert_int_equal(queue_empty_parse("paused, unavailable", true, &m, why, sizeof(why)), 0);
	assert_int_equal(m, QEMPTY_PAUSED | QEMPTY_UNAVAILABLE);
	assert_int_equal(queue_empty_parse("yes", true, &m, why, sizeof(why)), 0);
	assert_int_equal(m, 0);
	assert_int_equal(queue_empty_parse("yes", false, &m, why, sizeof(why)), 0);
	assert_int_equal(m, QEMPTY_PENALTY | QEMPTY_PAUSED | QEMPTY_INVALID);
	assert_int_equal(queue_empty_parse("no", true, &m, why, sizeof(why)), 0);
	assert_int_equal(m, QEMPTY_PENALTY | QEMPTY_PAUSED | QEMPTY_INVALID);
	assert_int_equal(queue_empty_parse("strict", false, &m, why, sizeof(why)), 0);
	assert_int_equal(m, QEMPTY_PENALTY | QEMPTY_PAUSED | QEMPTY_INVALID |
			 QEMPTY_UNAVAILABLE);
	assert_int_equal(queue_empty_parse("paused,bogus", true, &m, why, sizeof(why)), EINVAL);
	assert_non_null(strstr(why, "bogus"));
}

static void test_members_bad_input(void **state)
{
	struct queue_conf qc = { .name = "sales", .timeout_s = 15, .retry_s = 5 };

	(void)state;
	assert_int_equal(queue_add(&qc), 0);
	assert_int_equal(queue_add(&qc), EEXIST);
	assert_true(queue_exists("SALES"));
	assert_false(queue_exists("nope"));
	assert_int_equal(queue_member_add("nope", "SIP/1001", 0, false, true, NULL), ENOENT);
	assert_int_equal(queue_member_add("sales", "1001", 0, false, true, NULL), EINVAL);
	assert_int_equal(queue_member_add("sales", "SIP/", 0, false, true, NULL), EINVAL);
	assert_int_equal(queue_member_add("sales", "SIP/1001", 0, false, false, NULL), 0);
	assert_int_equal(queue_member_add("sales", "SIP/1001", 0, false, true, NULL), EEXIST);
	assert_int_equal(queue_member_add("sales", "SIP/1002", 0, false, true, NULL), 0);
	assert_int_equal(queue_member_remove("sales", "SIP/1001", NULL), EPERM);  /* static */
	assert_int_equal(queue_member_remove("sales", "SIP/1009", NULL), ESRCH);
	assert_int_equal(queue_member_remove("nope", "SIP/1002", NULL), ENOENT);
	assert_int_equal(queue_member_pause("sales", "SIP/1002", true, "lunch", NULL), 0);
	assert_int_equal(queue_member_pause("sales", "SIP/1002", true, "lunch", NULL), EALREADY);
	assert_int_equal(queue_member_pause(NULL, "SIP/1002", false, NULL, NULL), 0);
	assert_int_equal(queue_member_pause(NULL, "SIP/1009", false, NULL, NULL), ESRCH);
	assert_int_equal(queue_member_pause("nope", "SIP/1002", false, NULL, NULL), ENOENT);
	assert_int_equal(queue_member_remove("sales", "SIP/1002", NULL), 0);
	assert_int_equal(queue_member_remove("sales", "SIP/1002", NULL), ESRCH);
	queue_close();
	assert_false(queue_exists("sales"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_names_and_alias),
		cmocka_unit_test(test_ringall_rings_lowest_penalty_level),
		cmocka_unit_test(test_linear_takes_first_usable),
		cmocka_unit_test(test_rrmemory_starts_at_remembered_position_and_wraps),
		cmocka_unit_test(test_leastrecent_prefers_never_then_oldest),
		cmocka_unit_test(test_fewestcalls_prefers_fewest_ties_in_order),
		cmocka_unit_test(test_random_uses_rnd_within_penalty_tier),
		cmocka_unit_test(test_wrandom_weights_by_penalty_no_tiers),
		cmocka_unit_test(test_nothing_usable_picks_nothing),
		cmocka_unit_test(test_empty_words),
		cmocka_unit_test(test_members_bad_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
