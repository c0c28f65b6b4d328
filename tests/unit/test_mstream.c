/* mstream: RFC 4733 detection and generation, clocked sources and the RTP
 * framing a phone sees, on real UDP sockets on 127.0.0.1 and libre's loop. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include <spandsp.h>
#include <re.h>
#include "media/mstream.h"
#include "media/rtp.h"

struct phone {
	struct udp_sock *us;
	struct sa addr;
	uint8_t pkts[64][200];
	size_t lens[64];
	unsigned n;
	unsigned want;
};

struct fix {
	struct rtppool *pool;
	struct mclock *clk;
	struct mstream *ms;
	struct phone ph;
	char digits[32];
	size_t ndig;
	int16_t next;           /* the ramp source's next sample */
	unsigned played;
	bool done;
};

static struct tmr tmr_guard;

static void guard_h(void *arg)
{
	(void)arg;
	re_cancel();
}

static void run_loop(unsigned ms)
{
	tmr_start(&tmr_guard, ms, guard_h, NULL);
	(void)re_main(NULL);
	tmr_cancel(&tmr_guard);
}

static void phone_recv(const struct sa *src, struct mbuf *mb, void *arg)
{
	struct phone *p = arg;
	size_t n = mbuf_get_left(mb);
	(void)src;

	if (p->n < 64 && n <= sizeof(p->pkts[0])) {
		memcpy(p->pkts[p->n], mbuf_buf(mb), n);
		p->lens[p->n++] = n;
	}
	if (p->want && p->n >= p->want)
		re_cancel();
}

static void dtmf_h(char digit, bool inband, void *arg)
{
	struct fix *f = arg;
	(void)inband;

	if (f->ndig < sizeof(f->digits) - 1)
		f->digits[f->ndig++] = digit;
}

static int setup(void **state)
{
	static struct fix f;
	struct sa laddr;

	memset(&f, 0, sizeof(f));
	assert_int_equal(libre_init(), 0);
	tmr_init(&tmr_guard);
	assert_int_equal(sa_set_str(&laddr, "127.0.0.1", 0), 0);
	assert_int_equal(rtppool_alloc(&f.pool, &laddr, 41000, 41999), 0);
	assert_int_equal(mclock_alloc(&f.clk), 0);
	assert_int_equal(mstream_alloc(&f.ms, f.clk, f.pool), 0);
	mstream_set_format(f.ms, 0, MCODEC_PCMU, 101);
	mstream_set_dtmf_handler(f.ms, dtmf_h, &f);
	assert_int_equal(sa_set_str(&f.ph.addr, "127.0.0.1", 0), 0);
	assert_int_equal(udp_listen(&f.ph.us, &f.ph.addr, phone_recv, &f.ph), 0);
	assert_int_equal(udp_local_get(f.ph.us, &f.ph.addr), 0);
	rtpep_set_raddr(mstream_rtpep(f.ms), &f.ph.addr, NULL);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	mem_deref(f->ph.us);
	mem_deref(f->ms);
	mem_deref(f->clk);
	mem_deref(f->pool);
	libre_close();
	return 0;
}

static void send_raw(struct fix *f, const uint8_t *pkt, size_t n)
{
	struct mbuf *mb = mbuf_alloc(n);

	assert_non_null(mb);
	assert_int_equal(mbuf_write_mem(mb, pkt, n), 0);
	mb->pos = 0;
	assert_int_equal(udp_send(f->ph.us, rtpep_laddr(mstream_rtpep(f->ms)), mb), 0);
	mem_deref(mb);
}

/* An RFC 4733 event packet; ext adds a header extension and a CSRC. */
static void send_event(struct fix *f, uint8_t ev, uint32_t ts, uint16_t dur, bool end,
		       bool ext)
{
	uint8_t p[40];
	size_t o = 12;

	memset(p, 0, sizeof(p));
	p[0] = 0x80;
	p[1] = 101;
	p[4] = (uint8_t)(ts >> 24);
	p[5] = (uint8_t)(ts >> 16);
	p[6] = (uint8_t)(ts >> 8);
	p[7] = (uint8_t)ts;
	if (ext) {
		p[0] |= 0x10 | 1;       /* X bit, one CSRC */
		o += 4;                 /* CSRC */
		p[o + 3] = 1;           /* extension: profile 0, length 1 word */
		o += 8;
	}
	p[o] = ev;
	p[o + 1] = (uint8_t)((end ? 0x80 : 0) | 10);
	p[o + 2] = (uint8_t)(dur >> 8);
	p[o + 3] = (uint8_t)dur;
	send_raw(f, p, o + 4);
}

static void test_rfc4733_event_reported_once_per_timestamp(void **state)
{
	struct fix *f = *state;

	for (uint16_t d = 160; d <= 800; d += 160)
		send_event(f, 5, 1000, d, false, false);
	for (int i = 0; i < 3; i++)
		send_event(f, 5, 1000, 800, true, false);
	send_event(f, 11, 2000, 160, false, true);    /* '#' with CSRC + extension */
	send_event(f, 11, 2000, 320, true, true);
	send_event(f, 10, 3000, 160, true, false);    /* '*' */
	run_loop(150);
	assert_string_equal(f->digits, "5#*");
}

static void test_unknown_event_codes_are_ignored(void **state)
{
	struct fix *f = *state;

	send_event(f, 16, 4000, 160, false, false);   /* flash: not a digit */
	send_event(f, 200, 5000, 160, false, false);
	send_event(f, 1, 6000, 160, false, false);
	run_loop(150);
	assert_string_equal(f->digits, "1");
}

static size_t ramp_h(int16_t *buf, size_t n, void *arg)
{
	struct fix *f = arg;
	size_t k = 0;

	for (; k < n && f->played < 3 * MSTREAM_FRAME + 50; k++, f->played++)
		buf[k] = f->next += 37;
	return k;
}

static void ramp_done_h(void *arg)
{
	struct fix *f = arg;

	f->done = true;
}

static void test_source_sent_as_pcmu_frames_every_20ms(void **state)
{
	struct fix *f = *state;
	int16_t want[MSTREAM_FRAME];
	int16_t v = 0;

	f->ph.want = 4;
	assert_int_equal(mstream_play(f->ms, ramp_h, ramp_done_h, f), 0);
	assert_true(mstream_playing(f->ms));
	run_loop(1000);
	assert_true(f->done);
	assert_false(mstream_playing(f->ms));
	assert_int_equal(f->ph.n, 4);           /* 3 full frames + the 50-sample tail */
	for (unsigned i = 0; i < f->ph.n; i++) {
		const uint8_t *p = f->ph.pkts[i];
		assert_int_equal(f->ph.lens[i], 12 + MSTREAM_FRAME);
		assert_int_equal(p[1] & 0x7f, 0);
		assert_int_equal(!!(p[1] & 0x80), i == 0);        /* marker on the first */
		if (i) {
			const uint8_t *q = f->ph.pkts[i - 1];
			assert_int_equal((uint16_t)((p[2] << 8 | p[3]) - (q[2] << 8 | q[3])), 1);
			assert_memory_equal(p + 8, q + 8, 4);         /* one SSRC */
		}
	}
	for (unsigned i = 0; i < MSTREAM_FRAME; i++)
		want[i] = v += 37;
	for (unsigned i = 0; i < MSTREAM_FRAME; i++)
		assert_int_equal(f->ph.pkts[0][12 + i], linear_to_ulaw(want[i]));
	/* the tail frame is the last 50 samples then silence */
	assert_int_equal(f->ph.pkts[3][12 + 60], linear_to_ulaw(0));
}

static void test_send_dtmf_marks_first_and_ends_three_times(void **state)
{
	struct fix *f = *state;
	unsigned ends = 0, marks = 0;

	assert_int_equal(mstream_send_dtmf(f->ms, 'x', 100), EINVAL);
	assert_int_equal(mstream_send_dtmf(f->ms, '7', 100), 0);
	f->ph.want = 7;          /* 5 x 20 ms, the last one ending, then it twice more */
	run_loop(1000);
	assert_int_equal(f->ph.n, 7);
	for (unsigned i = 0; i < f->ph.n; i++) {
		const uint8_t *p = f->ph.pkts[i];
		assert_int_equal(p[1] & 0x7f, 101);
		assert_int_equal(p[12], 7);
		assert_memory_equal(p + 4, f->ph.pkts[0] + 4, 4);  /* one event, one ts */
		marks += !!(p[1] & 0x80);
		ends += !!(p[13] & 0x80);
	}
	assert_int_equal(marks, 1);
	assert_int_equal(ends, 3);
	assert_int_equal(f->ph.pkts[6][14] << 8 | f->ph.pkts[6][15], 800);
}

static void test_send_dtmf_without_telephone_event_is_enotsup(void **state)
{
	struct fix *f = *state;

	mstream_set_format(f->ms, 8, MCODEC_PCMA, -1);
	assert_false(mstream_has_telephone_event(f->ms));
	assert_int_equal(mstream_send_dtmf(f->ms, '1', 100), ENOTSUP);
	assert_int_equal(mcodec_from_name("pcma"), MCODEC_PCMA);
	assert_int_equal(mcodec_from_name("G729"), MCODEC_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
		T(test_rfc4733_event_reported_once_per_timestamp),
		T(test_unknown_event_codes_are_ignored),
		T(test_source_sent_as_pcmu_frames_every_20ms),
		T(test_send_dtmf_marks_first_and_ends_three_times),
		T(test_send_dtmf_without_telephone_event_is_enotsup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
