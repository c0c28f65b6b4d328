/* RTP pool and relay: real UDP sockets on 127.0.0.1 driven by libre's loop. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include <unistd.h>
#include <re.h>
#include "media/rtp.h"

struct phone {
	struct udp_sock *us;
	struct sa addr;
	unsigned rx;
	char last[32];
};

static void phone_recv(const struct sa *src, struct mbuf *mb, void *arg)
{
	struct phone *p = arg;
	size_t n = mbuf_get_left(mb);
	(void)src;

	p->rx++;
	memset(p->last, 0, sizeof(p->last));
	memcpy(p->last, mbuf_buf(mb), n < sizeof(p->last) - 1 ? n : sizeof(p->last) - 1);
	re_cancel();
}

static void phone_open(struct phone *p)
{
	memset(p, 0, sizeof(*p));
	assert_int_equal(sa_set_str(&p->addr, "127.0.0.1", 0), 0);
	assert_int_equal(udp_listen(&p->us, &p->addr, phone_recv, p), 0);
	assert_int_equal(udp_local_get(p->us, &p->addr), 0);
}

static void phone_send(struct phone *p, const struct sa *dst, const char *text)
{
	struct mbuf *mb = mbuf_alloc(64);
	assert_non_null(mb);
	mbuf_write_str(mb, text);
	mb->pos = 0;
	assert_int_equal(udp_send(p->us, dst, mb), 0);
	mem_deref(mb);
}

static void timeout_h(void *arg)
{
	(void)arg;
	re_cancel();
}

static void run_loop(void)
{
	struct tmr t;
	tmr_init(&t);
	tmr_start(&t, 2000, timeout_h, NULL);
	(void)re_main(NULL);
	tmr_cancel(&t);
}

static struct rtppool *pool_new(void)
{
	struct rtppool *pool = NULL;
	struct sa a;

	assert_int_equal(sa_set_str(&a, "127.0.0.1", 0), 0);
	/* A range of our own, so that parallel runs and benches don't collide;
	 * the pool itself skips ports that are taken. */
	uint16_t base = (uint16_t)(50000 + (getpid() % 400) * 20);
	assert_int_equal(rtppool_alloc(&pool, &a, base, base + 19), 0);
	return pool;
}

static void test_rtp_relays_both_ways_and_latches(void **state)
{
	struct rtppool *pool = pool_new();
	struct rtpep *a = NULL, *b = NULL;
	struct phone pa, pb;
	struct sa wrong;
	struct rtp_stats st;
	(void)state;

	phone_open(&pa);
	phone_open(&pb);
	assert_int_equal(rtpep_alloc(&a, pool), 0);
	assert_int_equal(rtpep_alloc(&b, pool), 0);
	assert_true(sa_port(rtpep_laddr(a)) % 2 == 0);
	assert_int_not_equal(sa_port(rtpep_laddr(a)), sa_port(rtpep_laddr(b)));
	/* A's SDP lies (NAT): latching must learn its real address. */
	assert_int_equal(sa_set_str(&wrong, "127.0.0.1", 9), 0);
	rtpep_set_raddr(a, &wrong, NULL);
	rtpep_set_raddr(b, &pb.addr, NULL);
	rtpep_link(a, b);
	rtpep_link(b, a);

	phone_send(&pa, rtpep_laddr(a), "hello-b");
	run_loop();
	assert_int_equal(pb.rx, 1);
	assert_string_equal(pb.last, "hello-b");

	phone_send(&pb, rtpep_laddr(b), "hello-a");
	run_loop();
	assert_int_equal(pa.rx, 1);
	assert_string_equal(pa.last, "hello-a");

	rtpep_stats(a, &st);
	assert_int_equal(st.rx_pkts, 1);
	assert_int_equal(rtppool_in_use(pool), 2);
	mem_deref(a);
	mem_deref(b);
	assert_int_equal(rtppool_in_use(pool), 0);
	mem_deref(pa.us);
	mem_deref(pb.us);
	mem_deref(pool);
}

/* A reused pair ignores its previous remote for a while: the last call's
 * packets still in flight must not reach, or be latched by, the next one. */
static void test_rtp_reused_port_drops_the_previous_remote(void **state)
{
	struct rtppool *pool = pool_new();
	struct rtpep *a = NULL, *b = NULL, *a2 = NULL;
	struct phone old, fresh, pb;
	uint16_t port;
	(void)state;

	phone_open(&old);
	phone_open(&fresh);
	phone_open(&pb);
	assert_int_equal(rtpep_alloc(&a, pool), 0);
	assert_int_equal(rtpep_alloc(&b, pool), 0);
	rtpep_set_raddr(a, &old.addr, NULL);
	rtpep_set_raddr(b, &pb.addr, NULL);
	rtpep_link(a, b);
	port = sa_port(rtpep_laddr(a));
	a = mem_deref(a);
	assert_int_equal(rtpep_alloc(&a2, pool), 0);     /* the only free pair */
	assert_int_equal(sa_port(rtpep_laddr(a2)), port);
	rtpep_link(a2, b);

	phone_send(&old, rtpep_laddr(a2), "stale");
	phone_send(&fresh, rtpep_laddr(a2), "fresh");
	run_loop();
	assert_int_equal(pb.rx, 1);
	assert_string_equal(pb.last, "fresh");
	mem_deref(a2);
	mem_deref(b);
	mem_deref(old.us);
	mem_deref(fresh.us);
	mem_deref(pb.us);
	mem_deref(pool);
}

static void test_rtp_unlinked_endpoint_drops(void **state)
{
	struct rtppool *pool = pool_new();
	struct rtpep *a = NULL;
	struct phone pa;
	struct rtp_stats st;
	(void)state;

	phone_open(&pa);
	assert_int_equal(rtpep_alloc(&a, pool), 0);
	phone_send(&pa, rtpep_laddr(a), "nobody");
	{
		struct tmr t;
		tmr_init(&t);
		tmr_start(&t, 200, timeout_h, NULL);
		(void)re_main(NULL);
		tmr_cancel(&t);
	}
	rtpep_stats(a, &st);
	assert_int_equal(st.rx_pkts, 1);
	assert_int_equal(st.dropped, 1);
	mem_deref(a);
	mem_deref(pa.us);
	mem_deref(pool);
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

static void test_rtp_full_pool_refuses_then_reuses_a_released_pair(void **state)
{
	struct rtppool *pool = pool_new();
	struct rtpep *ep[10] = { 0 }, *extra = NULL;
	unsigned n = 0;

	(void)state;
	while (n < 10 && !rtpep_alloc(&ep[n], pool))
		n++;
	assert_true(n >= 8);                     /* another program may hold a pair */
	assert_int_equal(rtpep_alloc(&extra, pool), EADDRINUSE);
	assert_int_equal(rtpep_alloc(&extra, pool), EADDRINUSE);   /* and again, at once */
	assert_int_equal(rtppool_in_use(pool), n);
	ep[0] = mem_deref(ep[0]);
	assert_int_equal(rtpep_alloc(&extra, pool), 0);             /* the released pair */
	assert_int_equal(rtppool_in_use(pool), n);
	mem_deref(extra);
	for (unsigned i = 1; i < n; i++)
		mem_deref(ep[i]);
	mem_deref(pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rtp_relays_both_ways_and_latches),
		cmocka_unit_test(test_rtp_reused_port_drops_the_previous_remote),
		cmocka_unit_test(test_rtp_unlinked_endpoint_drops),
		cmocka_unit_test(test_rtp_full_pool_refuses_then_reuses_a_released_pair),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
