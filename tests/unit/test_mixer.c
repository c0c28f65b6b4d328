/* mixer: three members on real loopback RTP; each hears the others, never
 * itself (Goertzel on the G.711 it receives). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>
#include <spandsp.h>
#include <re.h>
#include "media/mixer.h"
#include "media/mstream.h"
#include "media/rtp.h"

enum { RX_MAX = 8000 };

struct phone {
	struct udp_sock *us;
	struct sa addr;
	int16_t rx[RX_MAX];
	size_t nrx;
	double freq;            /* what this phone says (0: silence) */
	uint16_t seq;
	uint32_t ts;
	size_t phase;
};

static struct tmr tmr_send, tmr_stop;
static struct phone ph[3];
static struct mstream *ms[3];

static void phone_recv(const struct sa *src, struct mbuf *mb, void *arg)
{
	struct phone *p = arg;
	const uint8_t *b = mbuf_buf(mb);
	size_t n = mbuf_get_left(mb);
	(void)src;

	if (n <= 12 || (b[1] & 0x7f) != 0)
		return;
	for (size_t i = 12; i < n && p->nrx < RX_MAX; i++)
		p->rx[p->nrx++] = ulaw_to_linear(b[i]);
}

static void send_tick(void *arg)
{
	(void)arg;
	for (int k = 0; k < 3; k++) {
		struct phone *p = &ph[k];
		uint8_t pkt[12 + 160];
		struct mbuf *mb;

		if (!p->freq)
			continue;
		memset(pkt, 0, 12);
		pkt[0] = 0x80;
		pkt[2] = (uint8_t)(p->seq >> 8);
		pkt[3] = (uint8_t)p->seq++;
		pkt[4] = (uint8_t)(p->ts >> 24);
		pkt[5] = (uint8_t)(p->ts >> 16);
		pkt[6] = (uint8_t)(p->ts >> 8);
		pkt[7] = (uint8_t)p->ts;
		pkt[11] = (uint8_t)(k + 1);
		p->ts += 160;
		for (int i = 0; i < 160; i++, p->phase++)
			pkt[12 + i] = linear_to_ulaw((int)(8000 * sin(2 * M_PI * p->freq *
								     (double)p->phase / 8000)));
		mb = mbuf_alloc(sizeof(pkt));
		assert_non_null(mb);
		assert_int_equal(mbuf_write_mem(mb, pkt, sizeof(pkt)), 0);
		mb->pos = 0;
		(void)udp_send(p->us, rtpep_laddr(mstream_rtpep(ms[k])), mb);
		mem_deref(mb);
	}
	tmr_start(&tmr_send, 20, send_tick, NULL);
}

static void stop_h(void *arg)
{
	(void)arg;
	re_cancel();
}

static double goertzel(const int16_t *x, size_t n, double f)
{
	double c = 2 * cos(2 * M_PI * f / 8000), s1 = 0, s2 = 0;

	for (size_t i = 0; i < n; i++) {
		double s0 = x[i] + c * s1 - s2;
		s2 = s1;
		s1 = s0;
	}
	return sqrt(fabs(s1 * s1 + s2 * s2 - c * s1 * s2)) / (double)(n ? n : 1);
}

static void test_each_member_hears_the_others_not_itself(void **state)
{
	struct rtppool *pool = NULL;
	struct mclock *clk = NULL;
	struct mixer *mx = NULL;
	struct sa laddr;
	const double freqs[3] = { 400, 1000, 0 };
	(void)state;

	assert_int_equal(libre_init(), 0);
	tmr_init(&tmr_send);
	tmr_init(&tmr_stop);
	assert_int_equal(sa_set_str(&laddr, "127.0.0.1", 0), 0);
	assert_int_equal(rtppool_alloc(&pool, &laddr, 42000, 42999), 0);
	assert_int_equal(mclock_alloc(&clk), 0);
	assert_int_equal(mixer_alloc(&mx), 0);
	for (int k = 0; k < 3; k++) {
		memset(&ph[k], 0, sizeof(ph[k]));
		ph[k].freq = freqs[k];
		assert_int_equal(sa_set_str(&ph[k].addr, "127.0.0.1", 0), 0);
		assert_int_equal(udp_listen(&ph[k].us, &ph[k].addr, phone_recv, &ph[k]), 0);
		assert_int_equal(udp_local_get(ph[k].us, &ph[k].addr), 0);
		assert_int_equal(mstream_alloc(&ms[k], clk, pool), 0);
		mstream_set_format(ms[k], 0, MCODEC_PCMU, -1);
		rtpep_set_raddr(mstream_rtpep(ms[k]), &ph[k].addr, NULL);
		assert_int_equal(mixer_add(mx, ms[k]), 0);
	}
	tmr_start(&tmr_send, 20, send_tick, NULL);
	tmr_start(&tmr_stop, 1200, stop_h, NULL);
	(void)re_main(NULL);
	tmr_cancel(&tmr_send);
	for (int k = 0; k < 3; k++)
		assert_true(ph[k].nrx >= 4000);      /* ~50 packets each */
	/* skip the first 100 ms (rings filling) */
	{
		const int16_t *a = ph[0].rx + 800, *b = ph[1].rx + 800, *c = ph[2].rx + 800;
		size_t na = ph[0].nrx - 800, nb = ph[1].nrx - 800, nc = ph[2].nrx - 800;
		assert_true(goertzel(c, nc, 400) > 500);    /* C hears A */
		assert_true(goertzel(c, nc, 1000) > 500);   /* and B */
		assert_true(goertzel(a, na, 1000) > 500);   /* A hears B */
		assert_true(goertzel(a, na, 400) < 100);    /* not itself */
		assert_true(goertzel(b, nb, 400) > 500);
		assert_true(goertzel(b, nb, 1000) < 100);
	}
	mem_deref(mx);
	for (int k = 0; k < 3; k++) {
		assert_false(mstream_playing(ms[k]));      /* freeing the mixer stops it */
		mem_deref(ms[k]);
		mem_deref(ph[k].us);
	}
	mem_deref(clk);
	mem_deref(pool);
	libre_close();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_member_hears_the_others_not_itself),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
