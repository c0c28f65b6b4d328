/* REFER: Refer-To/Replaces/Referred-By parsing on decoded messages, and the
 * 202 + NOTIFY sipfrag subscription between two libre stacks on 127.0.0.1. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "sip/refer.h"

/* ---- parsing ---------------------------------------------------------- */

static struct sip_msg *refer_msg(const char *hdrs)
{
	struct sip_msg *msg = NULL;
	struct mbuf *mb = mbuf_alloc(1024);

	assert_non_null(mb);
	assert_int_equal(mbuf_printf(mb,
		"REFER sip:1001@127.0.0.1:5060 SIP/2.0\r\n"
		"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-refer-1\r\n"
		"Max-Forwards: 70\r\n"
		"From: <sip:1002@127.0.0.1>;tag=from1\r\n"
		"To: <sip:1001@127.0.0.1>;tag=to1\r\n"
		"Call-ID: call-refer-1@127.0.0.1\r\n"
		"CSeq: 3 REFER\r\n"
		"%s"
		"Content-Length: 0\r\n"
		"\r\n", hdrs), 0);
	mb->pos = 0;
	assert_int_equal(sip_msg_decode(&msg, mb), 0);
	mem_deref(mb);
	return msg;
}

static int parse(const char *hdrs, struct refer_req *rq)
{
	struct sip_msg *msg = refer_msg(hdrs);
	int err = refer_parse(msg, rq);

	mem_deref(msg);
	return err;
}

static void test_refer_parse_plain_target(void **state)
{
	struct refer_req rq;
	(void)state;

	assert_int_equal(parse("Refer-To: <sip:1003@127.0.0.1>\r\n", &rq), 0);
	assert_string_equal(rq.user, "1003");
	assert_string_equal(rq.host, "127.0.0.1");
	assert_false(rq.replaces);
	assert_string_equal(rq.callid, "");
	assert_string_equal(rq.referred_by, "");
}

static void test_refer_parse_port_params_and_display_name(void **state)
{
	struct refer_req rq;
	(void)state;

	assert_int_equal(parse("Refer-To: \"Bob\" <sip:1003@pbx.example.org:5080;transport=udp;user=phone>;x=1\r\n",
			       &rq), 0);
	assert_string_equal(rq.user, "1003");
	assert_string_equal(rq.host, "pbx.example.org");
	assert_false(rq.replaces);
}

static void test_refer_parse_without_angle_brackets(void **state)
{
	struct refer_req rq;
	(void)state;

	assert_int_equal(parse("Refer-To: sip:1004@10.0.0.7:5062\r\n", &rq), 0);
	assert_string_equal(rq.user, "1004");
	assert_string_equal(rq.host, "10.0.0.7");
	/* compact form r: (RFC 3515 section 2.1) */
	assert_int_equal(parse("r: <sip:1005@10.0.0.8>\r\n", &rq), 0);
	assert_string_equal(rq.user, "1005");
}

static void test_refer_parse_escaped_replaces(void **state)
{
	struct refer_req rq;
	(void)state;

	assert_int_equal(parse("Refer-To: <sip:1003@127.0.0.1;transport=udp"
			       "?Replaces=abc%40h%3Bto-tag%3D1%3Bfrom-tag%3D2>\r\n", &rq), 0);
	assert_string_equal(rq.user, "1003");
	assert_string_equal(rq.host, "127.0.0.1");
	assert_true(rq.replaces);
	assert_string_equal(rq.callid, "abc@h");
	assert_string_equal(rq.to_tag, "1");
	assert_string_equal(rq.from_tag, "2");
}

static void test_refer_parse_replaces_params_any_order(void **state)
{
	struct refer_req rq;
	(void)state;

	/* from-tag first, early-only flag, another URI header before it,
	 * lower-case hex escapes */
	assert_int_equal(parse("Refer-To: <sip:1003@127.0.0.1?Require=replaces&Replaces="
			       "9f2%40host.x%3bfrom-tag%3dFT%3bearly-only%3Bto-tag%3DTT>\r\n", &rq), 0);
	assert_true(rq.replaces);
	assert_string_equal(rq.callid, "9f2@host.x");
	assert_string_equal(rq.to_tag, "TT");
	assert_string_equal(rq.from_tag, "FT");
}

static void test_refer_parse_replaces_without_tags_is_invalid(void **state)
{
	struct refer_req rq;
	(void)state;

	/* RFC 3891 section 6.1: to-tag and from-tag are mandatory */
	assert_int_equal(parse("Refer-To: <sip:1003@127.0.0.1?Replaces=abc%40h%3Bto-tag%3D1>\r\n",
			       &rq), EINVAL);
	assert_false(rq.replaces);
	assert_string_equal(rq.user, "");
}

static void test_refer_parse_missing_refer_to(void **state)
{
	struct refer_req rq;
	(void)state;

	assert_int_equal(parse("Referred-By: <sip:1002@127.0.0.1>\r\n", &rq), EINVAL);
}

static void test_refer_parse_garbage(void **state)
{
	static const char *const bad[] = {
		"Refer-To: garbage\r\n",
		"Refer-To: <>\r\n",
		"Refer-To: <mailto:1003@127.0.0.1>\r\n",
		"Refer-To: <sip:127.0.0.1>\r\n",                  /* no number */
		"Refer-To: <sip:1003@127.0.0.1>\r\nRefer-To: <sip:1004@127.0.0.1>\r\n",
		"Refer-To: <sip:%00x@127.0.0.1>\r\n",              /* NUL in the user */
	};
	struct refer_req rq;
	char user[200];
	char hdr[400];
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("bad[%zu]\n", i);
		assert_int_equal(parse(bad[i], &rq), EINVAL);
	}
	/* a user part longer than refer_req holds is refused, not truncated */
	memset(user, '7', sizeof(user) - 1);
	user[sizeof(user) - 1] = '\0';
	(void)re_snprintf(hdr, sizeof(hdr), "Refer-To: <sip:%s@127.0.0.1>\r\n", user);
	assert_int_equal(parse(hdr, &rq), EINVAL);
}

static void test_refer_parse_referred_by_user(void **state)
{
	struct refer_req rq;
	(void)state;

	assert_int_equal(parse("Refer-To: <sip:1003@127.0.0.1>\r\n"
			       "Referred-By: \"Alice\" <sip:1002@127.0.0.1;user=phone>\r\n", &rq), 0);
	assert_string_equal(rq.referred_by, "1002");
	assert_int_equal(parse("Refer-To: <sip:1003@127.0.0.1>\r\nb: sip:%2B4930@h\r\n", &rq), 0);
	assert_string_equal(rq.referred_by, "+4930");
	/* informational only: a broken Referred-By does not fail the REFER */
	assert_int_equal(parse("Refer-To: <sip:1003@127.0.0.1>\r\nReferred-By: ???\r\n", &rq), 0);
	assert_string_equal(rq.referred_by, "");
	assert_string_equal(rq.user, "1003");
}

/* ---- 202 and NOTIFY between two stacks ---------------------------------- */

struct xfer;

struct ua {
	struct xfer *x;
	struct sip *sip;
	struct sipsess_sock *ssock;
	struct sipevent_sock *esock;
	struct sipsess *sess;
	struct sa laddr;
	unsigned estab;
	bool closed;
};

struct xfer {
	struct ua a;          /* transferor: calls b, then sends REFER */
	struct ua b;          /* transferee: runs refer_accept */
	struct sipsub *sub;   /* a's side of the implicit subscription */
	struct refer *refer;
	struct refer_req rq;
	int parse_err, accept_err;
	unsigned nrefer, nnotify;
	char body[8][64];
	char substate[8][64];
	char event[8][64];
	bool sub_closed;
	struct mbuf *sdp;
	bool timeout;
};

static void wake(void)
{
	re_cancel();
}

static void timeout_h(void *arg)
{
	struct xfer *x = arg;

	x->timeout = true;
	re_cancel();
}

/* Runs the loop until *counter reaches n (handlers call wake()). */
static void run_until(struct xfer *x, const unsigned *counter, unsigned n)
{
	struct tmr t;

	tmr_init(&t);
	tmr_start(&t, 3000, timeout_h, x);
	while (*counter < n && !x->timeout)
		(void)re_main(NULL);
	tmr_cancel(&t);
	assert_false(x->timeout);
}

static int offer_h(struct mbuf **descp, const struct sip_msg *msg, void *arg)
{
	(void)descp;
	(void)msg;
	(void)arg;
	return 0;
}

static int answer_h(const struct sip_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
	return 0;
}

static void estab_h(const struct sip_msg *msg, void *arg)
{
	struct ua *u = arg;
	(void)msg;

	u->estab++;
	wake();
}

static void close_h(int err, const struct sip_msg *msg, void *arg)
{
	struct ua *u = arg;
	(void)err;
	(void)msg;

	u->closed = true;
	wake();
}

static void b_refer_h(struct sip *sip, const struct sip_msg *msg, void *arg)
{
	struct ua *b = arg;
	struct xfer *x = b->x;

	x->nrefer++;
	x->parse_err = refer_parse(msg, &x->rq);
	if (x->parse_err) {
		(void)sip_reply(sip, msg, 400, "Bad Refer-To");
		return;
	}
	x->accept_err = refer_accept(&x->refer, x->b.esock, msg, sipsess_dialog(x->b.sess), "b");
	if (x->accept_err)
		(void)sip_reply(sip, msg, 500, "Server Internal Error");
	wake();
}

static void b_conn_h(const struct sip_msg *msg, void *arg)
{
	struct xfer *x = arg;
	int err;

	err = sipsess_accept(&x->b.sess, x->b.ssock, msg, 200, "OK", "b", "application/sdp",
			     x->sdp, NULL, NULL, false, offer_h, answer_h, estab_h, NULL,
			     b_refer_h, close_h, &x->b, "Allow: INVITE, ACK, BYE, REFER, NOTIFY\r\n");
	if (err)
		(void)sip_treply(NULL, x->b.sip, msg, 500, "Server Internal Error");
}

static void a_conn_h(const struct sip_msg *msg, void *arg)
{
	struct xfer *x = arg;

	(void)sip_treply(NULL, x->a.sip, msg, 486, "Busy Here");
}

static void copy_pl(char *buf, size_t sz, const struct pl *pl)
{
	(void)pl_strcpy(pl, buf, sz);
}

static void a_notify_h(struct sip *sip, const struct sip_msg *msg, void *arg)
{
	struct xfer *x = arg;
	const struct sip_hdr *h;
	struct pl body;

	if (x->nnotify < 8) {
		pl_set_mbuf(&body, msg->mb);
		copy_pl(x->body[x->nnotify], sizeof(x->body[0]), &body);
		h = sip_msg_hdr(msg, SIP_HDR_SUBSCRIPTION_STATE);
		if (h)
			copy_pl(x->substate[x->nnotify], sizeof(x->substate[0]), &h->val);
		h = sip_msg_hdr(msg, SIP_HDR_EVENT);
		if (h)
			copy_pl(x->event[x->nnotify], sizeof(x->event[0]), &h->val);
		if (msg_ctype_cmp(&msg->ctyp, "message", "sipfrag") == false)
			x->body[x->nnotify][0] = '!';   /* wrong Content-Type */
	}
	x->nnotify++;
	(void)sip_treply(NULL, sip, msg, 200, "OK");
	wake();
}

static void a_subclose_h(int err, const struct sip_msg *msg,
			 const struct sipevent_substate *substate, void *arg)
{
	struct xfer *x = arg;
	(void)err;
	(void)msg;
	(void)substate;

	x->sub_closed = true;
	x->sub = mem_deref(x->sub);
}

static void trace_h(bool tx, enum sip_transp tp, const struct sa *src, const struct sa *dst,
		    const uint8_t *pkt, size_t len, void *arg)
{
	(void)tp;
	(void)arg;
	if (getenv("REFER_TRACE"))
		re_fprintf(stderr, "%s %J -> %J\n%b\n", tx ? "TX" : "RX", src, dst, pkt, len);
}

static void ua_open(struct ua *u, struct xfer *x, sipsess_conn_h *connh)
{
	struct sa any;

	memset(u, 0, sizeof(*u));
	u->x = x;
	assert_int_equal(sip_alloc(&u->sip, NULL, 32, 32, 32, "tamas-test", NULL, NULL), 0);
	assert_int_equal(sa_set_str(&any, "127.0.0.1", 0), 0);
	sip_set_trace_handler(u->sip, trace_h);
	assert_int_equal(sip_transp_add(u->sip, SIP_TRANSP_UDP, &any), 0);
	assert_int_equal(sip_transp_laddr(u->sip, &u->laddr, SIP_TRANSP_UDP, NULL), 0);
	assert_int_equal(sipsess_listen(&u->ssock, u->sip, 32, connh, x), 0);
	assert_int_equal(sipevent_listen(&u->esock, u->sip, 32, 32, NULL, NULL), 0);
}

static void ua_close(struct ua *u)
{
	u->sess = mem_deref(u->sess);
	u->esock = mem_deref(u->esock);
	u->ssock = mem_deref(u->ssock);
	sip_close(u->sip, true);
	u->sip = mem_deref(u->sip);
}

static void xfer_open(struct xfer *x)
{
	char uri[64];

	memset(x, 0, sizeof(*x));
	x->sdp = mbuf_alloc(256);
	assert_non_null(x->sdp);
	assert_int_equal(mbuf_write_str(x->sdp,
		"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
		"t=0 0\r\nm=audio 40000 RTP/AVP 0\r\n"), 0);
	x->sdp->pos = 0;
	ua_open(&x->a, x, a_conn_h);
	ua_open(&x->b, x, b_conn_h);

	(void)re_snprintf(uri, sizeof(uri), "sip:b@%J", &x->b.laddr);
	assert_int_equal(sipsess_connect(&x->a.sess, x->a.ssock, uri, NULL, "sip:a@127.0.0.1",
					 "a", NULL, 0, "application/sdp", x->sdp, NULL, NULL,
					 false, offer_h, answer_h, NULL, estab_h, NULL, NULL,
					 close_h, &x->a, NULL), 0);
	run_until(x, &x->a.estab, 1);
	assert_int_equal(x->a.estab, 1);
}

static void xfer_close(struct xfer *x)
{
	x->refer = mem_deref(x->refer);
	x->sub = mem_deref(x->sub);
	ua_close(&x->a);
	ua_close(&x->b);
	x->sdp = mem_deref(x->sdp);
}

static void send_refer(struct xfer *x, const char *refer_to)
{
	assert_int_equal(sipevent_drefer(&x->sub, x->a.esock, sipsess_dialog(x->a.sess), "a",
					 NULL, NULL, false, a_notify_h, a_subclose_h, x,
					 "Refer-To: %s\r\n"
					 "Referred-By: <sip:a@127.0.0.1>\r\n", refer_to), 0);
	run_until(x, &x->nrefer, 1);
}

static void test_refer_accept_notifies_progress_then_terminates(void **state)
{
	struct xfer x;
	char id[32];
	(void)state;

	xfer_open(&x);
	/* the REFER goes out with the dialog's next local CSeq */
	(void)re_snprintf(id, sizeof(id), "refer;id=%u", sip_dialog_lseq(sipsess_dialog(x.a.sess)));
	send_refer(&x, "<sip:1003@127.0.0.1>");
	assert_int_equal(x.parse_err, 0);
	assert_int_equal(x.accept_err, 0);
	assert_non_null(x.refer);
	assert_string_equal(x.rq.user, "1003");
	assert_string_equal(x.rq.referred_by, "a");

	/* 202 was taken (the subscription lives) and 100 Trying came at once */
	run_until(&x, &x.nnotify, 1);
	assert_string_equal(x.body[0], "SIP/2.0 100 Trying\r\n");
	assert_non_null(strstr(x.substate[0], "active"));
	/* Event: refer;id=<CSeq of the REFER> (RFC 3515 section 2.4.6) */
	assert_string_equal(x.event[0], id);

	assert_int_equal(refer_notify(x.refer, 180, "Ringing"), 0);
	run_until(&x, &x.nnotify, 2);
	assert_string_equal(x.body[1], "SIP/2.0 180 Ringing\r\n");
	assert_non_null(strstr(x.substate[1], "active"));
	assert_false(x.sub_closed);

	assert_int_equal(refer_notify(x.refer, 200, "OK"), 0);
	run_until(&x, &x.nnotify, 3);
	assert_string_equal(x.body[2], "SIP/2.0 200 OK\r\n");
	assert_string_equal(x.substate[2], "terminated;reason=noresource");
	assert_true(x.sub_closed);

	/* the subscription is over: nothing more goes out */
	assert_int_equal(refer_notify(x.refer, 200, "OK"), ENOTCONN);
	assert_int_equal(refer_notify(x.refer, 99, "Bad"), EINVAL);
	assert_int_equal(x.nnotify, 3);
	xfer_close(&x);
}

static void test_refer_final_failure_in_one_step(void **state)
{
	struct xfer x;
	(void)state;

	xfer_open(&x);
	send_refer(&x, "<sip:1003@127.0.0.1?Replaces=c%40h%3Bto-tag%3Dt%3Bfrom-tag%3Df>");
	assert_int_equal(x.accept_err, 0);
	assert_true(x.rq.replaces);
	assert_string_equal(x.rq.callid, "c@h");

	/* the final NOTIFY right behind 100 Trying still arrives, in order */
	assert_int_equal(refer_notify(x.refer, 486, "Busy Here"), 0);
	run_until(&x, &x.nnotify, 2);
	assert_string_equal(x.body[0], "SIP/2.0 100 Trying\r\n");
	assert_string_equal(x.body[1], "SIP/2.0 486 Busy Here\r\n");
	assert_string_equal(x.substate[1], "terminated;reason=noresource");
	assert_int_equal(refer_notify(x.refer, 180, "Ringing\r\nX: y"), EINVAL);
	xfer_close(&x);
}

static void test_refer_free_ends_subscription(void **state)
{
	struct xfer x;
	(void)state;

	xfer_open(&x);
	send_refer(&x, "<sip:1003@127.0.0.1>");
	run_until(&x, &x.nnotify, 1);

	/* the leg goes away mid-transfer: the referrer is told, nobody is called back */
	x.refer = mem_deref(x.refer);
	run_until(&x, &x.nnotify, 2);
	assert_string_equal(x.substate[1], "terminated;reason=deactivated");
	assert_true(x.sub_closed);
	xfer_close(&x);
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
		cmocka_unit_test(test_refer_parse_plain_target),
		cmocka_unit_test(test_refer_parse_port_params_and_display_name),
		cmocka_unit_test(test_refer_parse_without_angle_brackets),
		cmocka_unit_test(test_refer_parse_escaped_replaces),
		cmocka_unit_test(test_refer_parse_replaces_params_any_order),
		cmocka_unit_test(test_refer_parse_replaces_without_tags_is_invalid),
		cmocka_unit_test(test_refer_parse_missing_refer_to),
		cmocka_unit_test(test_refer_parse_garbage),
		cmocka_unit_test(test_refer_parse_referred_by_user),
		cmocka_unit_test(test_refer_accept_notifies_progress_then_terminates),
		cmocka_unit_test(test_refer_final_failure_in_one_step),
		cmocka_unit_test(test_refer_free_ends_subscription),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
