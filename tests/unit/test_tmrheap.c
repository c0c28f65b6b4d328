/* The heap timers that replace libre's list (design/timers.md). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "core/tmrheap.h"

extern struct list *tmrl_get(void);

enum { N = 3000 };

struct fire {
	struct tmr t;
	uint64_t due;       /* jiffies when it should fire */
	unsigned order;     /* start order */
	int fired;
};

static struct {
	struct fire f[N];
	unsigned log[N];
	unsigned nlog;
	uint64_t last_due;
	bool early;
} g;

static void fire_h(void *arg)
{
	struct fire *f = arg;

	if (tmr_jiffies() < f->due)
		g.early = true;
	f->fired++;
	g.log[g.nlog++] = f->order;
}

static void stop_h(void *arg)
{
	(void)arg;
	re_cancel();
}

static void run_until_idle(uint64_t max_ms)
{
	struct tmr guard;

	tmr_init(&guard);
	tmr_start(&guard, max_ms, stop_h, NULL);
	(void)re_main(NULL);
	tmr_cancel(&guard);
}

static void test_tmrheap_selftest_sees_interposition(void **state)
{
	(void)state;
	assert_int_equal(tmrheap_selftest(), 0);
}

static void test_tmrheap_random_starts_and_cancels_never_fire_early(void **state)
{
	unsigned cancelled = 0;
	(void)state;

	memset(&g, 0, sizeof(g));
	srand(7);
	for (unsigned i = 0; i < N; i++) {
		uint64_t d = (uint64_t)(rand() % 200);
		tmr_init(&g.f[i].t);
		g.f[i].order = i;
		g.f[i].due = tmr_jiffies() + d;
		tmr_start(&g.f[i].t, d, fire_h, &g.f[i]);
	}
	for (unsigned i = 0; i < N; i += 3) {
		tmr_cancel(&g.f[i].t);
		if (i % 7 != 1)   /* those are started again below */
			cancelled++;
	}
	/* restarting a running timer moves it */
	for (unsigned i = 1; i < N; i += 7) {
		g.f[i].due = tmr_jiffies() + 50;
		tmr_start(&g.f[i].t, 50, fire_h, &g.f[i]);
	}
	run_until_idle(400);
	assert_false(g.early);
	for (unsigned i = 0; i < N; i++) {
		assert_int_equal(g.f[i].fired, i % 3 == 0 && i % 7 != 1 ? 0 : 1);
		assert_false(tmr_isrunning(&g.f[i].t));
	}
	assert_int_equal(g.nlog, N - cancelled);
}

static void test_tmrheap_fires_ties_in_start_order(void **state)
{
	(void)state;
	memset(&g, 0, sizeof(g));
	for (unsigned i = 0; i < 100; i++) {
		tmr_init(&g.f[i].t);
		g.f[i].order = i;
		tmr_start(&g.f[i].t, 20, fire_h, &g.f[i]);
	}
	run_until_idle(200);
	assert_int_equal(g.nlog, 100);
	for (unsigned i = 0; i < 100; i++)
		assert_int_equal(g.log[i], i);
}

static void test_tmrheap_fires_in_expiry_order(void **state)
{
	(void)state;
	memset(&g, 0, sizeof(g));
	for (unsigned i = 0; i < 50; i++) {
		tmr_init(&g.f[i].t);
		g.f[i].order = 49 - i;
		tmr_start(&g.f[i].t, (49 - i) * 3, fire_h, &g.f[i]);
	}
	run_until_idle(400);
	assert_int_equal(g.nlog, 50);
	for (unsigned i = 0; i < 50; i++)
		assert_int_equal(g.log[i], i);
}

static struct tmr chain_t, other_t;
static unsigned chain_n;

static void other_h(void *arg)
{
	(void)arg;
	fail_msg("a timer cancelled inside a handler fired");
}

static void chain_h(void *arg)
{
	(void)arg;
	/* restart itself and cancel another from inside the handler */
	tmr_cancel(&other_t);
	if (++chain_n < 10)
		tmr_start(&chain_t, 0, chain_h, NULL);
}

static void test_tmrheap_restart_and_cancel_inside_handler(void **state)
{
	(void)state;
	chain_n = 0;
	tmr_init(&chain_t);
	tmr_init(&other_t);
	tmr_start(&chain_t, 1, chain_h, NULL);
	tmr_start(&other_t, 30, other_h, NULL);
	run_until_idle(100);
	assert_int_equal(chain_n, 10);
}

static void test_tmrheap_next_timeout_semantics(void **state)
{
	struct tmr t;
	struct list *l = tmrl_get();
	(void)state;

	assert_int_equal(tmr_next_timeout(l), 0);   /* no timers: block */
	tmr_init(&t);
	tmr_start(&t, 1000, fire_h, &g.f[0]);
	assert_true(tmr_next_timeout(l) > 900 && tmr_next_timeout(l) <= 1000);
	assert_true(tmr_get_expire(&t) > 900);
	tmr_start(&t, 0, fire_h, &g.f[0]);
	assert_int_equal(tmr_next_timeout(l), 1);   /* due: 1, never 0 */
	tmr_cancel(&t);
	assert_int_equal(tmr_next_timeout(l), 0);
	assert_int_equal(tmr_get_expire(&t), 0);
}

static int setup(void **state)
{
	(void)state;
	return libre_init();
}

static int teardown(void **state)
{
	(void)state;
	libre_close();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tmrheap_selftest_sees_interposition),
		cmocka_unit_test(test_tmrheap_random_starts_and_cancels_never_fire_early),
		cmocka_unit_test(test_tmrheap_fires_ties_in_start_order),
		cmocka_unit_test(test_tmrheap_fires_in_expiry_order),
		cmocka_unit_test(test_tmrheap_restart_and_cancel_inside_handler),
		cmocka_unit_test(test_tmrheap_next_timeout_semantics),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
