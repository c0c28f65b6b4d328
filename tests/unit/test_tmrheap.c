/* The heap timers that replace libre's list (design/timers.md): libre's own
 * loop and libre's own timer users must run on them unchanged. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <re.h>
#include "core/tmrheap.h"

extern struct list *tmrl_get(void);

enum { N = 4000, BIG = 20000 };

struct fire {
	struct tmr t;
	uint64_t due;      /* tmr->jfs when started */
	uint64_t seq;      /* test-wide start order */
	bool armed;        /* what the model expects tmr_isrunning() to say */
	unsigned fired;
	unsigned order;
};

static struct {
	struct fire f[BIG];
	unsigned log[BIG];
	unsigned nlog;
	uint64_t seq;
	uint64_t last_due, last_seq;
	unsigned armed;
	unsigned budget;   /* restarts left for handlers in the random test */
	bool early, disorder, unexpected;
} g;

static void reset(void)
{
	memset(&g, 0, sizeof(g));
	srand(7);
}

static void wait_ms(uint64_t ms)
{
	const uint64_t until = tmr_jiffies() + ms + 1;

	while (tmr_jiffies() < until)
		(void)usleep(500);
}

static void model_start(struct fire *f, uint64_t delay, tmr_h *h)
{
	if (!f->armed)
		g.armed++;
	tmr_start(&f->t, delay, h, f);
	f->armed = true;
	f->due = f->t.jfs;
	f->seq = ++g.seq;
}

static void model_cancel(struct fire *f)
{
	if (f->armed)
		g.armed--;
	tmr_cancel(&f->t);
	f->armed = false;
}

/* Records a firing and checks it against everything fired before:
 * (expiry, start order) strictly increases, and nothing fires early. */
static void model_fired(struct fire *f)
{
	if (tmr_jiffies() < f->due)
		g.early = true;
	if (!f->armed || tmr_isrunning(&f->t))
		g.unexpected = true;
	if (f->due < g.last_due ||
	    (f->due == g.last_due && f->seq <= g.last_seq))
		g.disorder = true;
	g.last_due = f->due;
	g.last_seq = f->seq;
	f->armed = false;
	g.armed--;
	f->fired++;
	if (g.nlog < BIG)
		g.log[g.nlog++] = f->order;
}

static void stop_h(void *arg)
{
	(void)arg;
	re_cancel();
}

static void fire_h(void *arg)
{
	model_fired(arg);
	if (!g.armed)
		re_cancel();
}

/* Runs libre's own loop until a handler calls re_cancel() or max_ms pass;
 * returns false on the time-out. */
static struct tmr guard;

static bool run_loop(uint64_t max_ms)
{
	bool in_time;

	tmr_init(&guard);
	tmr_start(&guard, max_ms, stop_h, NULL);
	assert_int_equal(re_main(NULL), 0);
	in_time = tmr_isrunning(&guard);
	tmr_cancel(&guard);
	return in_time;
}

static void assert_no_timers_left(void)
{
	assert_int_equal(tmr_next_timeout(tmrl_get()), 0);
}

static void test_selftest_sees_libre_calling_our_timers(void **state)
{
	(void)state;
	assert_int_equal(tmrheap_selftest(), 0);
}

static void test_random_starts_and_cancels_fire_in_order_never_early(void **state)
{
	unsigned expected = 0;
	(void)state;

	reset();
	for (unsigned i = 0; i < N; i++) {
		tmr_init(&g.f[i].t);
		g.f[i].order = i;
		model_start(&g.f[i], (uint64_t)(rand() % 60), fire_h);
	}
	for (unsigned k = 0; k < N; k++) {
		struct fire *f = &g.f[rand() % N];

		if (rand() % 2)
			model_cancel(f);
		else
			model_start(f, (uint64_t)(rand() % 60), fire_h);
	}
	for (unsigned i = 0; i < N; i++)
		expected += g.f[i].armed;

	assert_true(run_loop(2000));
	assert_false(g.early);
	assert_false(g.disorder);
	assert_false(g.unexpected);
	assert_int_equal(g.nlog, expected);
	for (unsigned i = 0; i < N; i++) {
		assert_true(g.f[i].fired <= 1);
		assert_false(tmr_isrunning(&g.f[i].t));
	}
	assert_no_timers_left();
}

/* Handlers restart themselves and cancel or restart random others. */
static void meddle_h(void *arg)
{
	struct fire *f = arg;
	struct fire *o = &g.f[rand() % N];

	model_fired(f);
	if (g.budget && rand() % 3 == 0) {
		g.budget--;
		model_start(f, (uint64_t)(rand() % 20), meddle_h);
	}
	if (rand() % 3 == 0)
		model_cancel(o);
	else if (g.budget && rand() % 2) {
		g.budget--;
		model_start(o, (uint64_t)(rand() % 20), meddle_h);
	}
	if (!g.armed)
		re_cancel();
}

static void test_handlers_restarting_and_cancelling_keep_order(void **state)
{
	unsigned total = 0;
	(void)state;

	reset();
	g.budget = 3000;
	for (unsigned i = 0; i < N; i++) {
		tmr_init(&g.f[i].t);
		model_start(&g.f[i], (uint64_t)(rand() % 40), meddle_h);
	}
	assert_true(run_loop(3000));
	assert_int_equal(g.budget, 0);
	assert_false(g.early);
	assert_false(g.disorder);
	assert_false(g.unexpected);
	for (unsigned i = 0; i < N; i++) {
		assert_false(g.f[i].armed);
		assert_false(tmr_isrunning(&g.f[i].t));
		total += g.f[i].fired;
	}
	assert_int_equal(total, g.nlog);
	assert_no_timers_left();
}

static void test_many_timers_cancelled_in_random_order_leave_nothing(void **state)
{
	char buf[256];
	unsigned *perm = malloc(BIG * sizeof(*perm));
	(void)state;

	assert_non_null(perm);
	reset();
	for (unsigned i = 0; i < BIG; i++) {
		tmr_init(&g.f[i].t);
		model_start(&g.f[i], 60000 + (uint64_t)(rand() % 1000), fire_h);
		perm[i] = i;
	}
	(void)re_snprintf(buf, sizeof(buf), "%H", tmr_status, NULL);
	assert_non_null(strstr(buf, "Timers (20000"));
	for (unsigned i = BIG - 1; i > 0; i--) {
		unsigned j = (unsigned)rand() % (i + 1), x = perm[i];

		perm[i] = perm[j];
		perm[j] = x;
	}
	/* the earliest left must stay at the top while others go */
	for (unsigned i = 0; i < BIG - 1; i++) {
		uint64_t min = UINT64_MAX;

		model_cancel(&g.f[perm[i]]);
		if (i % 1000)
			continue;
		for (unsigned k = i + 1; k < BIG; k++) {
			if (g.f[perm[k]].due < min)
				min = g.f[perm[k]].due;
		}
		assert_true(tmr_next_timeout(tmrl_get()) + tmr_jiffies()
			    >= min);
		assert_true(tmr_next_timeout(tmrl_get()) + tmr_jiffies()
			    <= min + 5);
	}
	(void)re_snprintf(buf, sizeof(buf), "%H", tmr_status, NULL);
	assert_non_null(strstr(buf, "Timers (1,"));
	model_cancel(&g.f[perm[BIG - 1]]);
	(void)re_snprintf(buf, sizeof(buf), "%H", tmr_status, NULL);
	assert_string_equal(buf, "");
	assert_no_timers_left();
	free(perm);
}

static void test_equal_expiries_fire_in_start_order(void **state)
{
	(void)state;
	reset();
	for (unsigned i = 0; i < 100; i++) {
		tmr_init(&g.f[i].t);
		g.f[i].order = i;
		model_start(&g.f[i], 20, fire_h);
	}
	/* a restart moves the timer behind the others */
	model_start(&g.f[0], 20, fire_h);
	assert_true(run_loop(500));
	assert_int_equal(g.nlog, 100);
	for (unsigned i = 0; i < 99; i++)
		assert_int_equal(g.log[i], i + 1);
	assert_int_equal(g.log[99], 0);
	assert_no_timers_left();
}

static void test_fires_in_expiry_order_not_start_order(void **state)
{
	(void)state;
	reset();
	for (unsigned i = 0; i < 50; i++) {
		tmr_init(&g.f[i].t);
		g.f[i].order = 49 - i;
		model_start(&g.f[i], (49 - i) * 2, fire_h);
	}
	assert_true(run_loop(500));
	assert_int_equal(g.nlog, 50);
	/* started latest-first; the model checks expiry order */
	assert_false(g.disorder);
	assert_false(g.early);
	assert_false(g.unexpected);
	assert_no_timers_left();
}

static void record_h(void *arg)
{
	struct fire *f = arg;

	f->fired++;
	g.log[g.nlog++] = f->order;
}

static void start_zero_h(void *arg)
{
	record_h(arg);
	tmr_start(&g.f[9].t, 0, record_h, &g.f[9]);
}

static void test_zero_delay_fires_after_every_timer_already_due(void **state)
{
	(void)state;
	reset();
	for (unsigned i = 0; i < 10; i++) {
		tmr_init(&g.f[i].t);
		g.f[i].order = i;
	}
	tmr_start(&g.f[2].t, 1, start_zero_h, &g.f[2]);
	tmr_start(&g.f[1].t, 3, record_h, &g.f[1]);
	tmr_start(&g.f[3].t, 3, record_h, &g.f[3]);
	tmr_start(&g.f[4].t, 1000, record_h, &g.f[4]);
	wait_ms(5);
	tmr_start(&g.f[5].t, 0, record_h, &g.f[5]);
	tmr_start(&g.f[6].t, 0, record_h, &g.f[6]);

	while (g.nlog < 6)
		tmr_poll(tmrl_get());
	/* 2 is due first; the 0 ms timer it starts (9) comes after all the
	 * due ones, which includes 5 and 6 started before it */
	assert_int_equal(g.log[0], 2);
	assert_int_equal(g.log[1], 1);
	assert_int_equal(g.log[2], 3);
	assert_int_equal(g.log[3], 5);
	assert_int_equal(g.log[4], 6);
	assert_int_equal(g.log[5], 9);
	assert_int_equal(g.f[4].fired, 0);
	assert_true(tmr_isrunning(&g.f[4].t));
	tmr_cancel(&g.f[4].t);
	assert_no_timers_left();
}

static void cancel_next_h(void *arg)
{
	struct fire *f = arg;

	record_h(f);
	tmr_cancel(&g.f[f->order + 1].t);
}

static void not_running_in_own_handler_h(void *arg)
{
	struct fire *f = arg;

	record_h(f);
	if (tmr_isrunning(&f->t) || tmr_get_expire(&f->t))
		g.unexpected = true;
}

static void test_handler_can_cancel_a_timer_due_in_the_same_poll(void **state)
{
	(void)state;
	reset();
	for (unsigned i = 0; i < 3; i++) {
		tmr_init(&g.f[i].t);
		g.f[i].order = i;
	}
	tmr_start(&g.f[0].t, 1, cancel_next_h, &g.f[0]);
	tmr_start(&g.f[1].t, 1, record_h, &g.f[1]);
	tmr_start(&g.f[2].t, 2, not_running_in_own_handler_h, &g.f[2]);
	wait_ms(3);
	tmr_poll(tmrl_get());
	assert_int_equal(g.nlog, 2);
	assert_int_equal(g.log[0], 0);
	assert_int_equal(g.log[1], 2);
	assert_int_equal(g.f[1].fired, 0);
	assert_false(g.unexpected);
	assert_no_timers_left();
}

struct owned {
	struct tmr t;
	unsigned *fired;
};

static void owned_destructor(void *arg)
{
	struct owned *o = arg;

	tmr_cancel(&o->t);
}

static void free_self_h(void *arg)
{
	struct owned *o = arg;

	++*o->fired;
	mem_deref(o);   /* the handler may free the timer's memory */
}

static unsigned chain_n;
static struct tmr chain_t, victim_t;

static void victim_h(void *arg)
{
	(void)arg;
	fail_msg("a timer cancelled inside a handler fired");
}

static void chain_h(void *arg)
{
	(void)arg;
	tmr_cancel(&victim_t);
	if (++chain_n < 10)
		tmr_start(&chain_t, 0, chain_h, NULL);
	else	/* late enough for every self-freeing timer */
		tmr_start(&chain_t, 5, stop_h, NULL);
}

static void test_handler_restarts_itself_and_frees_timers(void **state)
{
	unsigned freed_fired = 0;
	(void)state;

	chain_n = 0;
	tmr_init(&chain_t);
	tmr_init(&victim_t);
	for (unsigned i = 0; i < 20; i++) {
		struct owned *o = mem_zalloc(sizeof(*o), owned_destructor);

		assert_non_null(o);
		o->fired = &freed_fired;
		tmr_start(&o->t, i % 3, free_self_h, o);
	}
	tmr_start(&chain_t, 1, chain_h, NULL);
	tmr_start(&victim_t, 30, victim_h, NULL);
	assert_true(run_loop(1000));
	assert_int_equal(chain_n, 10);
	assert_int_equal(freed_fired, 20);
	assert_false(tmr_isrunning(&victim_t));
	assert_no_timers_left();
}

static void test_next_timeout_is_zero_only_without_timers(void **state)
{
	struct list *l = tmrl_get();
	struct tmr *t = &g.f[2].t, *u = &g.f[3].t;
	uint64_t to;
	(void)state;

	reset();
	assert_int_equal(tmr_next_timeout(l), 0);
	tmr_start(t, 1000, record_h, &g.f[0]);
	to = tmr_next_timeout(l);
	assert_true(to > 500 && to <= 1000);
	tmr_start(u, 300, record_h, &g.f[1]);
	to = tmr_next_timeout(l);
	assert_true(to > 100 && to <= 300);
	tmr_start(u, 0, record_h, &g.f[1]);
	assert_int_equal(tmr_next_timeout(l), 1);
	tmr_start(u, 1, record_h, &g.f[1]);
	wait_ms(3);
	assert_int_equal(tmr_next_timeout(l), 1);   /* overdue: 1, never 0 */
	tmr_cancel(u);
	to = tmr_next_timeout(l);
	assert_true(to > 500 && to <= 1000);
	tmr_cancel(t);
	assert_int_equal(tmr_next_timeout(l), 0);
	assert_int_equal(g.nlog, 0);
}

static void test_get_expire_counts_down_and_is_zero_when_stopped(void **state)
{
	struct tmr *t = &g.f[2].t;
	uint64_t e;
	(void)state;

	reset();
	assert_int_equal(tmr_get_expire(t), 0);
	assert_int_equal(tmr_get_expire(NULL), 0);
	tmr_start(t, 500, record_h, &g.f[0]);
	e = tmr_get_expire(t);
	assert_true(e > 250 && e <= 500);
	assert_true(tmr_isrunning(t));
	tmr_start(t, 2, record_h, &g.f[0]);
	assert_true(tmr_get_expire(t) <= 2);
	wait_ms(3);
	assert_int_equal(tmr_get_expire(t), 0);    /* overdue */
	assert_true(tmr_isrunning(t));
	tmr_poll(tmrl_get());
	assert_int_equal(g.f[0].fired, 1);
	assert_false(tmr_isrunning(t));
	assert_int_equal(tmr_get_expire(t), 0);
	tmr_cancel(t);                             /* idle: harmless */
	tmr_cancel(NULL);
	tmr_start(NULL, 5, record_h, NULL);
	assert_no_timers_left();
}

/* A real libre user of timers: a STUN client transaction retransmits on
 * its own timer and reports ETIMEDOUT when nobody answers. */
struct stun_probe {
	unsigned received;
	int err;
	bool done;
};

static void sink_recv_h(const struct sa *src, struct mbuf *mb, void *arg)
{
	struct stun_probe *p = arg;
	(void)src;
	(void)mb;

	p->received++;
}

static void probe_resp_h(int err, uint16_t scode, const char *reason,
			 const struct stun_msg *msg, void *arg)
{
	struct stun_probe *p = arg;
	(void)scode;
	(void)reason;
	(void)msg;

	p->err = err;
	p->done = true;
	re_cancel();
}

static void test_libre_stun_retransmits_and_times_out_on_heap(void **state)
{
	const struct stun_conf conf = {.rto = 5, .rc = 3, .rm = 2, .ti = 100};
	struct stun_probe probe = {0};
	struct udp_sock *sink = NULL, *us = NULL;
	struct stun_ctrans *ct = NULL;
	struct stun *stun = NULL;
	struct sa local, dst;
	uint64_t to;
	(void)state;

	assert_int_equal(sa_set_str(&local, "127.0.0.1", 0), 0);
	assert_int_equal(udp_listen(&sink, &local, sink_recv_h, &probe), 0);
	assert_int_equal(udp_local_get(sink, &dst), 0);
	assert_int_equal(udp_listen(&us, &local, NULL, NULL), 0);
	assert_int_equal(stun_alloc(&stun, &conf, NULL, NULL), 0);
	assert_int_equal(stun_request(&ct, stun, IPPROTO_UDP, us, &dst, 0,
				      STUN_METHOD_BINDING, NULL, 0, false,
				      probe_resp_h, &probe, 0), 0);
	/* libre's own tmr_start put the retransmission timer in our heap */
	to = tmr_next_timeout(tmrl_get());
	assert_true(to >= 1 && to <= conf.rto);

	assert_true(run_loop(2000));
	assert_true(probe.done);
	assert_int_equal(probe.err, ETIMEDOUT);
	assert_int_equal(probe.received, conf.rc);
	mem_deref(stun);
	mem_deref(us);
	mem_deref(sink);
	assert_no_timers_left();
}

struct thread_run {
	struct tmr t;
	pthread_t self;
	bool fired_here;
	int err;
};

static void thread_tmr_h(void *arg)
{
	struct thread_run *r = arg;

	r->fired_here = pthread_equal(pthread_self(), r->self);
	re_cancel();
}

static void *thread_main(void *arg)
{
	struct thread_run *r = arg;

	r->self = pthread_self();
	r->err = re_thread_init();
	if (r->err)
		return NULL;
	tmr_init(&r->t);
	tmr_start(&r->t, 2, thread_tmr_h, r);
	r->err = re_main(NULL);
	re_thread_close();
	return NULL;
}

static void test_each_thread_polls_only_its_own_timers(void **state)
{
	struct thread_run r = {0};
	struct tmr *mine = &g.f[1].t;
	pthread_t th;
	(void)state;

	reset();
	tmr_start(mine, 1, record_h, &g.f[0]);
	assert_int_equal(pthread_create(&th, NULL, thread_main, &r), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(r.err, 0);
	assert_true(r.fired_here);
	assert_false(tmr_isrunning(&r.t));
	/* the thread's loop ran well past 1 ms without touching ours */
	assert_int_equal(g.f[0].fired, 0);
	assert_true(tmr_isrunning(mine));
	wait_ms(2);
	tmr_poll(tmrl_get());
	assert_int_equal(g.f[0].fired, 1);
	assert_no_timers_left();
}

/* A failed test must not leave timers behind for the next one. */
static int cancel_all(void **state)
{
	(void)state;
	for (unsigned i = 0; i < BIG; i++)
		tmr_cancel(&g.f[i].t);
	tmr_cancel(&chain_t);
	tmr_cancel(&victim_t);
	tmr_cancel(&guard);
	return 0;
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

#define T(test) cmocka_unit_test_teardown(test, cancel_all)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_selftest_sees_libre_calling_our_timers),
		T(test_random_starts_and_cancels_fire_in_order_never_early),
		T(test_handlers_restarting_and_cancelling_keep_order),
		T(test_many_timers_cancelled_in_random_order_leave_nothing),
		T(test_equal_expiries_fire_in_start_order),
		T(test_fires_in_expiry_order_not_start_order),
		T(test_zero_delay_fires_after_every_timer_already_due),
		T(test_handler_can_cancel_a_timer_due_in_the_same_poll),
		T(test_handler_restarts_itself_and_frees_timers),
		T(test_next_timeout_is_zero_only_without_timers),
		T(test_get_expire_counts_down_and_is_zero_when_stopped),
		T(test_libre_stun_retransmits_and_times_out_on_heap),
		T(test_each_thread_polls_only_its_own_timers),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
