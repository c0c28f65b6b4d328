/* mstream: per-channel media on the shared 20 ms clock (DESIGN.md "Bridge":
 * relay fast path, decode path only while something needs the audio). */
#include <errno.h>
#include <string.h>
#include <spandsp.h>
#include <re.h>
#include "media/mstream.h"
#include "media/recorder.h"
#include "media/rtp.h"

enum {
	RING = 1600,            /* 200 ms of skew between the two directions */
	DTMF_GAP_TICKS = 3,     /* 60 ms of silence between sent digits */
	DTMF_END_PKTS = 3,      /* RFC 4733 §2.5.1.4: the end packet thrice */
	DTMF_QUEUE = 32,
};

struct mclock {
	struct tmr tmr;
	struct list streams;
	uint64_t next;          /* jiffies of the next tick */
	bool in_tick;
};

struct ring {
	int16_t buf[RING];
	size_t head, count;
};

struct mrec {
	struct le le;
	struct recorder *rec;
};

struct dtmf_tx {
	char queue[DTMF_QUEUE];
	size_t qlen;
	char digit;             /* 0 = none in progress */
	uint32_t ts, dur, total;
	unsigned end_sent, gap;
};

struct mstream {
	struct le le;
	struct mclock *clk;
	struct rtpep *ep;
	uint8_t pt;
	enum mcodec codec;
	int te_pt;
	/* what we send */
	uint32_t ssrc, ts_base;
	uint16_t seq;
	bool marker;
	msrc_read_h *readh;
	mstream_done_h *doneh;
	void *src_arg;
	struct dtmf_tx dtx;
	/* what we receive */
	mstream_dtmf_h *dtmfh;
	void *dtmf_arg;
	bool consume, inband_on, have_ev;
	uint32_t ev_ts;
	dtmf_rx_state_t *inband;
	mstream_pcm_h *pcmh;
	void *pcm_arg;
	/* recording: the rings exist only while a recorder is attached, so a
	 * relayed call does not carry 13 KB it never uses */
	struct list recs;
	struct ring *rx, *tx;
};

struct rtp_view {
	uint8_t pt;
	bool marker;
	uint32_t ts;
	const uint8_t *payload;
	size_t len;
};

/* --- helpers ------------------------------------------------------------- */

static bool rtp_view_parse(struct rtp_view *v, const uint8_t *p, size_t n)
{
	size_t off;

	if (n < 12 || (p[0] >> 6) != 2)
		return false;
	off = 12 + 4u * (p[0] & 0x0f);
	if (p[0] & 0x10) {
		if (n < off + 4)
			return false;
		off += 4 + 4u * ((size_t)p[off + 2] << 8 | p[off + 3]);
	}
	if (p[0] & 0x20) {
		if (!p[n - 1] || p[n - 1] > n)
			return false;
		n -= p[n - 1];
	}
	if (off > n)
		return false;
	v->pt = p[1] & 0x7f;
	v->marker = p[1] >> 7;
	v->ts = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
	v->payload = p + off;
	v->len = n - off;
	return true;
}

static enum mcodec codec_of_pt(const struct mstream *ms, uint8_t pt)
{
	if (pt == 0)
		return MCODEC_PCMU;
	if (pt == 8)
		return MCODEC_PCMA;
	return pt == ms->pt ? ms->codec : MCODEC_NONE;
}

static size_t pcm_decode(enum mcodec c, const uint8_t *in, size_t n, int16_t *out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = c == MCODEC_PCMA ? alaw_to_linear(in[i]) : ulaw_to_linear(in[i]);
	return n;
}

static void pcm_encode(enum mcodec c, const int16_t *in, size_t n, uint8_t *out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = c == MCODEC_PCMA ? linear_to_alaw(in[i]) : linear_to_ulaw(in[i]);
}

static void ring_put(struct ring *r, const int16_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (r->count == RING) {         /* keep the newest audio */
			r->head = (r->head + 1) % RING;
			--r->count;
		}
		r->buf[(r->head + r->count) % RING] = s[i];
		++r->count;
	}
}

static void ring_get(struct ring *r, int16_t *out, size_t n)
{
	size_t got = r->count < n ? r->count : n;

	for (size_t i = 0; i < got; i++)
		out[i] = r->buf[(r->head + i) % RING];
	memset(out + got, 0, (n - got) * sizeof(*out));
	r->head = (r->head + got) % RING;
	r->count -= got;
}

/* --- the clock ----------------------------------------------------------- */

static bool ms_needs_clock(const struct mstream *ms)
{
	return ms->readh || ms->dtx.digit || ms->dtx.qlen || ms->dtx.gap || ms->recs.head;
}

static void clock_tick(void *arg);

static void clock_update(struct mstream *ms)
{
	struct mclock *clk = ms->clk;
	bool need = ms_needs_clock(ms);

	if (need && !ms->le.list) {
		list_append(&clk->streams, &ms->le, ms);
		if (!clk->in_tick && !tmr_isrunning(&clk->tmr)) {
			clk->next = tmr_jiffies() + MSTREAM_PTIME;
			tmr_start(&clk->tmr, MSTREAM_PTIME, clock_tick, clk);
		}
	}
	else if (!need && ms->le.list) {
		list_unlink(&ms->le);
	}
}

static uint32_t ms_now_ts(const struct mstream *ms)
{
	return ms->ts_base + (uint32_t)(tmr_jiffies() * 8);
}

static int ms_send(struct mstream *ms, uint8_t pt, bool marker, uint32_t ts,
		   const uint8_t *payload, size_t len)
{
	uint8_t pkt[12 + MSTREAM_FRAME];

	if (len > MSTREAM_FRAME)
		return EINVAL;
	pkt[0] = 0x80;
	pkt[1] = (uint8_t)((marker ? 0x80 : 0) | (pt & 0x7f));
	pkt[2] = (uint8_t)(ms->seq >> 8);
	pkt[3] = (uint8_t)ms->seq;
	pkt[4] = (uint8_t)(ts >> 24);
	pkt[5] = (uint8_t)(ts >> 16);
	pkt[6] = (uint8_t)(ts >> 8);
	pkt[7] = (uint8_t)ts;
	pkt[8] = (uint8_t)(ms->ssrc >> 24);
	pkt[9] = (uint8_t)(ms->ssrc >> 16);
	pkt[10] = (uint8_t)(ms->ssrc >> 8);
	pkt[11] = (uint8_t)ms->ssrc;
	memcpy(pkt + 12, payload, len);
	++ms->seq;
	return rtpep_send(ms->ep, pkt, 12 + len);
}

static uint8_t dtmf_event(char d)
{
	static const char map[] = "0123456789*#ABCD";
	const char *p = strchr(map, d >= 'a' && d <= 'd' ? d - 32 : d);

	return d && p ? (uint8_t)(p - map) : 0xff;
}

/* RFC 4733 §2.5.1: one event per 20 ms tick with a growing duration, the
 * first one marked, the last sent three times with the E bit. */
static bool dtmf_tx_tick(struct mstream *ms)
{
	struct dtmf_tx *d = &ms->dtx;
	uint8_t ev[4];

	if (!d->digit) {
		if (d->gap) {
			--d->gap;
			return false;
		}
		if (!d->qlen)
			return false;
		d->digit = d->queue[0];
		memmove(d->queue, d->queue + 1, --d->qlen);
		d->ts = ms_now_ts(ms);
		d->dur = 0;
		d->end_sent = 0;
	}
	if (d->dur < d->total)
		d->dur += MSTREAM_FRAME;
	ev[0] = dtmf_event(d->digit);
	ev[1] = (uint8_t)((d->dur >= d->total ? 0x80 : 0) | 10);
	ev[2] = (uint8_t)(d->dur >> 8);
	ev[3] = (uint8_t)d->dur;
	(void)ms_send(ms, (uint8_t)ms->te_pt, d->dur == MSTREAM_FRAME && !d->end_sent, d->ts,
		      ev, sizeof(ev));
	if (d->dur >= d->total && ++d->end_sent >= DTMF_END_PKTS) {
		d->digit = 0;
		d->gap = DTMF_GAP_TICKS;
	}
	return true;
}

static void recorders_tick(struct mstream *ms)
{
	int16_t rx[MSTREAM_FRAME], tx[MSTREAM_FRAME];

	ring_get(ms->rx, rx, MSTREAM_FRAME);
	ring_get(ms->tx, tx, MSTREAM_FRAME);
	for (struct le *le = ms->recs.head; le; le = le->next) {
		struct mrec *r = le->data;
		(void)recorder_write(r->rec, rx, tx, MSTREAM_FRAME);
	}
}

static void ms_tick(struct mstream *ms)
{
	int16_t frame[MSTREAM_FRAME];
	uint8_t payload[MSTREAM_FRAME];
	bool finished = false, dtmf_sent;
	mstream_done_h *doneh = NULL;
	void *arg = NULL;

	if (ms->readh) {
		size_t n = ms->readh(frame, MSTREAM_FRAME, ms->src_arg);
		if (n < MSTREAM_FRAME) {
			memset(frame + n, 0, (MSTREAM_FRAME - n) * sizeof(*frame));
			finished = true;
		}
	}
	dtmf_sent = ms->te_pt >= 0 && dtmf_tx_tick(ms);
	if (ms->readh && !dtmf_sent) {
		pcm_encode(ms->codec, frame, MSTREAM_FRAME, payload);
		(void)ms_send(ms, ms->pt, ms->marker, ms_now_ts(ms), payload, sizeof(payload));
		ms->marker = false;
	}
	if (ms->recs.head) {
		if (ms->readh)
			ring_put(ms->tx, frame, MSTREAM_FRAME);
		recorders_tick(ms);
	}
	if (finished) {
		doneh = ms->doneh;
		arg = ms->src_arg;
		mstream_stop(ms);
	}
	clock_update(ms);
	if (doneh)
		doneh(arg);
}

static void clock_tick(void *arg)
{
	struct mclock *clk = arg;
	struct list batch = LIST_INIT;
	uint64_t now = tmr_jiffies();

	/* Every stream ticks once; those that stay active go back on the list
	 * before their handler runs, so a handler may free or add any stream. */
	while (clk->streams.head) {
		struct le *le = clk->streams.head;
		list_unlink(le);
		list_append(&batch, le, le->data);
	}
	clk->in_tick = true;
	while (batch.head) {
		struct mstream *ms = batch.head->data;
		list_unlink(&ms->le);
		list_append(&clk->streams, &ms->le, ms);
		mem_ref(ms);
		ms_tick(ms);
		mem_deref(ms);
	}
	clk->in_tick = false;
	if (!clk->streams.head)
		return;
	/* Absolute schedule: a late tick is followed by an early one, so
	 * packets average 20 ms; far behind (a stalled loop), start afresh. */
	clk->next += MSTREAM_PTIME;
	if (clk->next + 5 * MSTREAM_PTIME < now || clk->next > now + MSTREAM_PTIME)
		clk->next = now + MSTREAM_PTIME;
	tmr_start(&clk->tmr, clk->next > now ? clk->next - now : 0, clock_tick, clk);
}

static void clock_destructor(void *arg)
{
	struct mclock *clk = arg;

	tmr_cancel(&clk->tmr);
	while (clk->streams.head)
		list_unlink(clk->streams.head);
}

int mclock_alloc(struct mclock **clkp)
{
	struct mclock *clk;

	if (!clkp)
		return EINVAL;
	clk = mem_zalloc(sizeof(*clk), clock_destructor);
	if (!clk)
		return ENOMEM;
	tmr_init(&clk->tmr);
	*clkp = clk;
	return 0;
}

unsigned mclock_active(const struct mclock *clk)
{
	return clk ? list_count(&clk->streams) : 0;
}

/* --- receive taps -------------------------------------------------------- */

static void ms_dtmf_event(struct mstream *ms, const struct rtp_view *v)
{
	static const char map[] = "0123456789*#ABCD";

	if (v->len < 4 || v->payload[0] >= sizeof(map) - 1)
		return;
	/* One event = one timestamp (RFC 4733 §2.5.2.1): report it on its
	 * first packet, ignore the repeats and the three end packets. */
	if (ms->have_ev && v->ts == ms->ev_ts)
		return;
	ms->have_ev = true;
	ms->ev_ts = v->ts;
	if (ms->dtmfh)
		ms->dtmfh(map[v->payload[0]], false, ms->dtmf_arg);
}

static bool ms_rx(const uint8_t *pkt, size_t n, void *arg)
{
	struct mstream *ms = arg;
	int16_t pcm[1024];
	struct rtp_view v;
	enum mcodec c;

	if (!rtp_view_parse(&v, pkt, n))
		return true;
	if (ms->te_pt >= 0 && v.pt == ms->te_pt) {
		ms_dtmf_event(ms, &v);
		return !ms->consume;
	}
	if (!ms->inband_on && !ms->recs.head && !ms->pcmh)
		return true;
	c = codec_of_pt(ms, v.pt);
	if (c == MCODEC_NONE || v.len > sizeof(pcm) / sizeof(pcm[0]))
		return true;
	pcm_decode(c, v.payload, v.len, pcm);
	if (ms->inband_on && ms->inband)
		(void)dtmf_rx(ms->inband, pcm, (int)v.len);
	if (ms->recs.head)
		ring_put(ms->rx, pcm, v.len);
	if (ms->pcmh)
		ms->pcmh(pcm, v.len, ms->pcm_arg);
	return true;
}

static void ms_tx(const uint8_t *pkt, size_t n, void *arg)
{
	struct mstream *ms = arg;
	int16_t pcm[1024];
	struct rtp_view v;
	enum mcodec c;

	if (!ms->recs.head || !rtp_view_parse(&v, pkt, n))
		return;
	c = codec_of_pt(ms, v.pt);
	if (c == MCODEC_NONE || v.len > sizeof(pcm) / sizeof(pcm[0]))
		return;
	pcm_decode(c, v.payload, v.len, pcm);
	ring_put(ms->tx, pcm, v.len);
}

static void ms_update_taps(struct mstream *ms)
{
	rtpep_set_taps(ms->ep, ms_rx, ms->recs.head ? ms_tx : NULL, ms);
}

static void inband_digits(void *arg, const char *digits, int len)
{
	struct mstream *ms = arg;

	for (int i = 0; i < len; i++)
		if (ms->dtmfh)
			ms->dtmfh(digits[i], true, ms->dtmf_arg);
}

/* --- the stream ---------------------------------------------------------- */

static void ms_destructor(void *arg)
{
	struct mstream *ms = arg;

	list_unlink(&ms->le);
	list_flush(&ms->recs);
	mem_deref(ms->rx);
	mem_deref(ms->tx);
	rtpep_set_taps(ms->ep, NULL, NULL, NULL);
	ms->ep = mem_deref(ms->ep);
	if (ms->inband)
		dtmf_rx_free(ms->inband);
}

int mstream_alloc(struct mstream **msp, struct mclock *clk, struct rtppool *pool)
{
	struct mstream *ms;
	int err;

	if (!msp || !clk || !pool)
		return EINVAL;
	ms = mem_zalloc(sizeof(*ms), ms_destructor);
	if (!ms)
		return ENOMEM;
	ms->clk = clk;
	ms->te_pt = -1;
	ms->codec = MCODEC_PCMU;
	ms->ssrc = rand_u32();
	ms->ts_base = rand_u32();
	ms->seq = rand_u16();
	ms->dtx.total = 800;
	err = rtpep_alloc(&ms->ep, pool);
	if (err) {
		mem_deref(ms);
		return err;
	}
	ms_update_taps(ms);
	*msp = ms;
	return 0;
}

struct rtpep *mstream_rtpep(const struct mstream *ms)
{
	return ms ? ms->ep : NULL;
}

enum mcodec mcodec_from_name(const char *name)
{
	if (!str_casecmp(name, "PCMU"))
		return MCODEC_PCMU;
	if (!str_casecmp(name, "PCMA"))
		return MCODEC_PCMA;
	return MCODEC_NONE;
}

void mstream_set_format(struct mstream *ms, uint8_t pt, enum mcodec codec, int te_pt)
{
	if (!ms)
		return;
	ms->pt = pt;
	ms->codec = codec;
	ms->te_pt = te_pt;
}

enum mcodec mstream_codec(const struct mstream *ms)
{
	return ms ? ms->codec : MCODEC_NONE;
}

bool mstream_has_telephone_event(const struct mstream *ms)
{
	return ms && ms->te_pt >= 0;
}

int mstream_play(struct mstream *ms, msrc_read_h *readh, mstream_done_h *doneh, void *arg)
{
	if (!ms || !readh)
		return EINVAL;
	ms->readh = readh;
	ms->doneh = doneh;
	ms->src_arg = arg;
	ms->marker = true;
	rtpep_block_relay(ms->ep, true);
	clock_update(ms);
	return 0;
}

void mstream_stop(struct mstream *ms)
{
	if (!ms)
		return;
	ms->readh = NULL;
	ms->doneh = NULL;
	ms->src_arg = NULL;
	rtpep_block_relay(ms->ep, false);
	clock_update(ms);
}

void mstream_stop_source(struct mstream *ms, const void *arg)
{
	if (ms && ms->readh && ms->src_arg == arg)
		mstream_stop(ms);
}

bool mstream_playing(const struct mstream *ms)
{
	return ms && ms->readh;
}

void mstream_set_dtmf_handler(struct mstream *ms, mstream_dtmf_h *h, void *arg)
{
	if (!ms)
		return;
	ms->dtmfh = h;
	ms->dtmf_arg = arg;
}

void mstream_set_dtmf_consume(struct mstream *ms, bool consume)
{
	if (ms)
		ms->consume = consume;
}

void mstream_set_inband(struct mstream *ms, bool on)
{
	if (!ms)
		return;
	if (on && !ms->inband)
		ms->inband = dtmf_rx_init(NULL, inband_digits, ms);
	ms->inband_on = on && ms->inband;
}

int mstream_send_dtmf(struct mstream *ms, char digit, uint32_t duration_ms)
{
	if (!ms || dtmf_event(digit) == 0xff)
		return EINVAL;
	if (ms->te_pt < 0)
		return ENOTSUP;
	if (ms->dtx.qlen == DTMF_QUEUE)
		return ENOBUFS;
	if (duration_ms)
		ms->dtx.total = (duration_ms < 40 ? 40 : duration_ms) * 8;
	ms->dtx.queue[ms->dtx.qlen++] = digit;
	clock_update(ms);
	return 0;
}

static void mrec_destructor(void *arg)
{
	struct mrec *r = arg;

	list_unlink(&r->le);
	mem_deref(r->rec);
}

int mstream_add_recorder(struct mstream *ms, struct recorder *rec)
{
	struct mrec *r;

	if (!ms || !rec)
		return EINVAL;
	if (!ms->rx)
		ms->rx = mem_zalloc(sizeof(*ms->rx), NULL);
	if (!ms->tx)
		ms->tx = mem_zalloc(sizeof(*ms->tx), NULL);
	r = ms->rx && ms->tx ? mem_zalloc(sizeof(*r), mrec_destructor) : NULL;
	if (!r)
		return ENOMEM;
	r->rec = mem_ref(rec);
	list_append(&ms->recs, &r->le, r);
	ms_update_taps(ms);
	clock_update(ms);
	return 0;
}

void mstream_remove_recorder(struct mstream *ms, struct recorder *rec)
{
	if (!ms)
		return;
	for (struct le *le = ms->recs.head; le; le = le->next) {
		struct mrec *r = le->data;
		if (r->rec == rec) {
			mem_deref(r);
			break;
		}
	}
	if (!ms->recs.head) {
		ms->rx = mem_deref(ms->rx);
		ms->tx = mem_deref(ms->tx);
		ms_update_taps(ms);
	}
	clock_update(ms);
}

void mstream_set_pcm_handler(struct mstream *ms, mstream_pcm_h *h, void *arg)
{
	if (!ms)
		return;
	ms->pcmh = h;
	ms->pcm_arg = arg;
}

unsigned mstream_recorders(const struct mstream *ms)
{
	return ms ? list_count(&ms->recs) : 0;
}
