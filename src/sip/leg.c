/* leg: SIP channel technology on libre's sipsess (libre-notes.md §2-§3).
 * An incoming leg keeps its own server transaction until the first 18x/2xx
 * so that it can wait for the dialplan before accepting. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "core/log.h"
#include "media/mstream.h"
#include "media/rtp.h"
#include "pbx/chan.h"
#include "sip/causes.h"
#include "pbx/transfer.h"
#include "sip/leg.h"
#include "sip/refer.h"

struct leg {
	const struct leg_env *env;
	struct chan *ch;             /* reference; released in leg_release */
	struct sipsess *sess;
	struct sip_strans *st;       /* incoming, before accept */
	struct sip_msg *invite;      /* incoming INVITE (ref) */
	struct sdp_session *sdp;
	struct sdp_media *sdpm;
	struct mstream *ms;
	struct rtpep *rtp;           /* the stream's endpoint (borrowed) */
	enum dtmf_mode dtmf_mode;
	struct leg *early;           /* incoming: leg whose early media we hear */
	char info_q[16];             /* INFO digits waiting for the one in flight */
	size_t info_qlen;
	uint32_t info_dur;
	bool info_busy;
	struct leg *origin;          /* outgoing: the caller's leg, if SIP */
	struct tmr tmr_ring;         /* outgoing: Timer C (libre has none) */
	struct tmr tmr_connect;      /* outgoing: INVITE sent from the loop */
	struct tmr tmr_xfer;         /* after a transfer: BYE if the phone does not */
	struct refer *refer;         /* REFER subscription (NOTIFY sipfrag) */
	bool allow_update;           /* the phone listed UPDATE in Allow */
	bool diverted;               /* a Diversion was reported (once per leg) */
	bool transferred;            /* REFER done: our BYE waits for the NOTIFY */
	char *uri, *route;           /* outgoing: where the INVITE goes */
	sip_auth_h *authh;
	void *aarg;
	struct tmr tmr_release;
	bool incoming, accepted, answered, closed, released;
};

static const struct chan_tech sip_tech;
static int leg_send_info(struct leg *l, char digit);

/* Releases what talks to the network; the struct may live on while an
 * outgoing leg still holds it as its origin. */
static void leg_free_resources(struct leg *l)
{
	tmr_cancel(&l->tmr_ring);
	tmr_cancel(&l->tmr_release);
	tmr_cancel(&l->tmr_connect);
	tmr_cancel(&l->tmr_xfer);
	l->refer = mem_deref(l->refer);
	l->uri = mem_deref(l->uri);
	l->route = mem_deref(l->route);
	l->sess = mem_deref(l->sess);
	l->rtp = NULL;
	l->ms = mem_deref(l->ms);
	l->sdpm = NULL;
	l->sdp = mem_deref(l->sdp);
	l->invite = mem_deref(l->invite);
	l->st = NULL;
}

static void leg_destructor(void *arg)
{
	struct leg *l = arg;

	leg_free_resources(l);
	mem_deref(l->origin);
	mem_deref(l->aarg);
}

static struct leg *leg_of(const struct chan *ch)
{
	return ch && chan_tech(ch) == &sip_tech ? chan_pvt(ch) : NULL;
}

/* Freed from a 0 ms timer, never inside a libre callback. Dereferencing the
 * session sends BYE, CANCEL or 486 as its state requires. */
static void release_h(void *arg)
{
	struct leg *l = arg;
	struct chan *ch = l->ch;

	if (l->origin && l->origin->early == l)
		l->origin->early = NULL;
	l->origin = mem_deref(l->origin);
	l->early = NULL;
	l->ch = NULL;
	chan_set_pvt(ch, NULL);
	leg_free_resources(l);
	mem_deref(l);
	mem_deref(ch);
}

static void leg_release(struct leg *l)
{
	if (l->released)
		return;
	l->released = true;
	tmr_cancel(&l->tmr_ring);
	tmr_start(&l->tmr_release, 0, release_h, l);
}

/* --- SDP ----------------------------------------------------------------- */

static bool fmt_supported(const struct sdp_format *f)
{
	return !str_casecmp(f->name, "PCMU") || !str_casecmp(f->name, "PCMA") ||
	       !str_casecmp(f->name, "telephone-event");
}

static bool fmt_is_audio(const struct sdp_format *f)
{
	return str_casecmp(f->name, "telephone-event") && fmt_supported(f);
}

static void leg_dtmf_h(char digit, bool inband, void *arg)
{
	struct leg *l = arg;

	if (l->ch)
		chan_dtmf_received(l->ch, digit, inband ? DTMF_SRC_INBAND : DTMF_SRC_RFC4733);
}

static int leg_sdp_init(struct leg *l)
{
	int err = mstream_alloc(&l->ms, l->env->clk, l->env->pool);

	if (err)
		return err;
	l->rtp = mstream_rtpep(l->ms);
	l->dtmf_mode = l->env->dtmf_mode;
	mstream_set_dtmf_handler(l->ms, leg_dtmf_h, l);
	err = sdp_session_alloc(&l->sdp, rtpep_laddr(l->rtp));
	if (err)
		return err;
	return sdp_media_add(&l->sdpm, l->sdp, sdp_media_audio,
			     sa_port(rtpep_laddr(l->rtp)), sdp_proto_rtpavp);
}

static void leg_update_raddr(struct leg *l)
{
	struct sa rtcp;

	sdp_media_raddr_rtcp(l->sdpm, &rtcp);
	rtpep_set_raddr(l->rtp, sdp_media_raddr(l->sdpm), &rtcp);
}

static int fmt_add_copy(struct sdp_media *m, const struct sdp_format *f)
{
	return sdp_format_add(NULL, m, false, f->id, f->name, f->srate, f->ch,
			      NULL, NULL, NULL, false, "%s", f->params ? f->params : "");
}

static const struct sdp_format *remote_audio_fmt(const struct leg *l)
{
	struct le *le;

	for (le = list_head(sdp_media_format_lst(l->sdpm, false)); le; le = le->next) {
		const struct sdp_format *f = le->data;
		if (fmt_is_audio(f))
			return f;
	}
	return NULL;
}

static const struct sdp_format *remote_fmt_named(const struct leg *l, const char *name)
{
	struct le *le;

	for (le = list_head(sdp_media_format_lst(l->sdpm, false)); le; le = le->next) {
		const struct sdp_format *f = le->data;
		if (!str_casecmp(f->name, name))
			return f;
	}
	return NULL;
}

/* Tells the stream what was agreed: audio payload type pt of codec name,
 * and telephone-event if the remote offered or answered it. */
static void leg_set_format(struct leg *l, int pt, const char *name)
{
	const struct sdp_format *te = remote_fmt_named(l, "telephone-event");
	bool inband;

	if (pt < 0)
		return;
	mstream_set_format(l->ms, (uint8_t)pt, mcodec_from_name(name), te ? atoi(te->id) : -1);
	inband = l->dtmf_mode == DTMF_MODE_INBAND || (l->dtmf_mode == DTMF_MODE_AUTO && !te);
	mstream_set_inband(l->ms, inband);
}

static void leg_set_remote_format(struct leg *l)
{
	const struct sdp_format *f = remote_audio_fmt(l);

	if (f)
		leg_set_format(l, atoi(f->id), f->name);
}

/* Our answer to the incoming offer: the codec the far leg chose (or the
 * caller's first supported one) plus telephone-event, in the caller's PTs. */
static int leg_make_answer(struct leg *l, struct mbuf **mbp)
{
	const struct leg *src = l->early;
	const struct sdp_format *want = NULL, *f, *te;
	struct chan *peer = chan_bridged_peer(l->ch);
	char name[32];
	int err, pt;

	if (leg_of(peer))
		src = leg_of(peer);
	if (src)
		want = remote_audio_fmt(src);
	f = want ? remote_fmt_named(l, want->name) : NULL;
	if (!f)
		f = remote_audio_fmt(l);
	if (!f)
		return EPROTO;
	pt = atoi(f->id);
	str_ncpy(name, f->name, sizeof(name));
	list_flush((struct list *)sdp_media_format_lst(l->sdpm, true));
	err = fmt_add_copy(l->sdpm, f);
	te = remote_fmt_named(l, "telephone-event");
	if (!err && te)
		err = fmt_add_copy(l->sdpm, te);
	if (err)
		return err;
	err = sdp_decode(l->sdp, l->invite->mb, true);
	if (err)
		return err;
	leg_update_raddr(l);
	leg_set_format(l, pt, name);	/* f is gone: decoding rebuilt the list */
	return sdp_encode(mbp, l->sdp, false);
}

/* --- chan_tech ----------------------------------------------------------- */

static void a_close_h(int err, const struct sip_msg *msg, void *arg);
static void a_estab_h(const struct sip_msg *msg, void *arg);
static int offer_h(struct mbuf **descp, const struct sip_msg *msg, void *arg);
static int answer_h(const struct sip_msg *msg, void *arg);
static void info_h(struct sip *sip, const struct sip_msg *msg, void *arg);
static void refer_h(struct sip *sip, const struct sip_msg *msg, void *arg);

static int leg_accept(struct leg *l, uint16_t scode, const char *reason, struct mbuf *desc,
		      const char *xhdrs)
{
	int err;

	/* Unlinks our transaction without a reply; sipsess takes over. */
	l->st = mem_deref(l->st);
	err = sipsess_accept(&l->sess, l->env->sock, l->invite, scode, reason,
			     l->env->cuser, "application/sdp", desc, NULL, NULL, false,
			     offer_h, answer_h, a_estab_h, info_h, refer_h, a_close_h, l,
			     "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, REFER, NOTIFY\r\n%s",
			     xhdrs ? xhdrs : "");
	if (!err)
		l->accepted = true;
	return err;
}

static int tech_indicate(struct chan *ch, uint16_t scode)
{
	struct leg *l = leg_of(ch);
	struct mbuf *desc = NULL;
	const char *reason = scode == 180 ? "Ringing" : "Session Progress";
	int err;

	if (!l || !l->incoming || l->answered || l->closed)
		return EINVAL;
	/* 183 always carries our SDP: early media is the callee's when it has
	 * some, else ours (ringback, music on hold, prompts before answer). */
	if (scode == 183) {
		err = leg_make_answer(l, &desc);
		if (err)
			return err;
		if (l->early)
			rtpep_link(l->rtp, l->early->rtp);
	}
	if (!l->accepted)
		err = leg_accept(l, scode, reason, desc, NULL);
	else
		err = sipsess_progress(l->sess, scode, reason, desc, "");
	mem_deref(desc);
	return err;
}

static int tech_answer(struct chan *ch)
{
	struct leg *l = leg_of(ch);
	struct mbuf *desc = NULL;
	int err;

	if (!l || !l->incoming || l->closed)
		return EINVAL;
	if (l->answered)
		return 0;
	err = leg_make_answer(l, &desc);
	if (err)
		return err;
	if (!l->accepted)
		err = leg_accept(l, 200, "OK", desc, NULL);
	else
		err = sipsess_answer(l->sess, 200, "OK", desc, "");
	mem_deref(desc);
	if (!err)
		l->answered = true;
	return err;
}

static void xfer_release_h(void *arg)
{
	leg_release(arg);
}

static void tech_hangup(struct chan *ch, int cause)
{
	struct leg *l = leg_of(ch);
	const char *reason;
	uint16_t scode;

	if (!l)
		return;
	if (l->incoming && !l->answered && !l->closed) {
		scode = causes_to_sip(cause, &reason);
		if (l->st)
			(void)sip_treply(&l->st, l->env->sip, l->invite, scode, reason);
		else if (l->sess)
			(void)sipsess_reject(l->sess, scode, reason, "");
	}
	l->closed = true;
	/* After a REFER the final NOTIFY may still wait behind the 100's
	 * transaction: let it reach the phone before the BYE does. */
	if (l->transferred && !l->released) {
		tmr_start(&l->tmr_xfer, 500, xfer_release_h, l);
		return;
	}
	leg_release(l);
}

static int tech_bridge(struct chan *ch, struct chan *peer)
{
	struct leg *l = leg_of(ch), *p = leg_of(peer);

	if (!l)
		return 0;
	rtpep_link(l->rtp, p ? p->rtp : NULL);
	return 0;
}

static struct mstream *tech_media(const struct chan *ch)
{
	const struct leg *l = leg_of(ch);

	return l ? l->ms : NULL;
}

static void info_resp_h(int err, const struct sip_msg *msg, void *arg)
{
	struct leg *l = arg;
	(void)err;
	(void)msg;

	l->info_busy = false;
	if (l->info_qlen && !l->closed) {
		char d = l->info_q[0];
		memmove(l->info_q, l->info_q + 1, --l->info_qlen);
		(void)leg_send_info(l, d);
	}
}

/* RFC 6086 INFO with application/dtmf-relay, the body Cisco and Asterisk
 * use; one at a time (libre keeps one INFO transaction per dialog). */
static int leg_send_info(struct leg *l, char digit)
{
	struct mbuf *mb;
	int err;

	if (!l->sess || l->closed)
		return ENOTCONN;
	if (l->info_busy) {
		if (l->info_qlen == sizeof(l->info_q))
			return ENOBUFS;
		l->info_q[l->info_qlen++] = digit;
		return 0;
	}
	mb = mbuf_alloc(64);
	if (!mb)
		return ENOMEM;
	err = mbuf_printf(mb, "Signal=%c\r\nDuration=%u\r\n", digit, l->info_dur);
	mb->pos = 0;
	if (!err)
		err = sipsess_info(l->sess, "application/dtmf-relay", mb, info_resp_h, l);
	mem_deref(mb);
	if (!err)
		l->info_busy = true;
	return err;
}

static int tech_send_dtmf(struct chan *ch, char digit, uint32_t duration_ms)
{
	struct leg *l = leg_of(ch);

	if (!l || l->closed)
		return EINVAL;
	if (l->dtmf_mode == DTMF_MODE_INFO || !mstream_has_telephone_event(l->ms)) {
		l->info_dur = duration_ms ? duration_ms : 100;
		return leg_send_info(l, digit);
	}
	return mstream_send_dtmf(l->ms, digit, duration_ms);
}

/* Connected line by UPDATE (RFC 3311) with P-Asserted-Identity, as
 * chan_pjsip sends it, to phones that allow UPDATE. */
static int tech_connected_line(struct chan *ch, const char *num, const char *name)
{
	struct leg *l = leg_of(ch);

	if (!l || !l->sess || l->closed || !l->answered)
		return ENOTCONN;
	if (!l->allow_update)
		return ENOTSUP;
	return sip_drequestf(NULL, l->env->sip, true, "UPDATE", sipsess_dialog(l->sess), 0,
			     NULL, NULL, NULL, NULL,
			     "Contact: <sip:%s@%J>\r\n"
			     "P-Asserted-Identity: \"%s\" <sip:%s@%j>\r\n"
			     "Content-Length: 0\r\n\r\n",
			     l->env->cuser, &l->env->laddr, name ? name : "", num ? num : "",
			     &l->env->laddr);
}

/* What may go into a header we write from numbers a peer sent us. */
static bool token_ok(const char *s, const char *extra)
{
	if (!str_isset(s))
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr(extra, *s))
			return false;
	return true;
}

/* Redirecting as chan_sip and chan_pjsip send it while the phone's call
 * rings: 181 Call Is Being Forwarded with a Diversion header (RFC 5806). */
static int tech_redirecting(struct chan *ch, const char *from, const char *to,
			    const char *reason)
{
	struct leg *l = leg_of(ch);
	char hdr[192];
	(void)to;

	if (!l || !l->incoming || l->answered || l->closed)
		return ENOTSUP;
	if (!token_ok(from, "+-_.*#"))
		return EINVAL;
	(void)re_snprintf(hdr, sizeof(hdr), "Diversion: <sip:%s@%j>;reason=%s\r\n", from,
			  &l->env->laddr, token_ok(reason, "-") ? reason : "unknown");
	if (!l->accepted)
		return leg_accept(l, 181, "Call Is Being Forwarded", NULL, hdr);
	return sipsess_progress(l->sess, 181, "Call Is Being Forwarded", NULL, "%s", hdr);
}

static bool tech_takes_rfc4733(const struct chan *ch)
{
	const struct leg *l = leg_of(ch);

	return l && mstream_has_telephone_event(l->ms) &&
	       (l->dtmf_mode == DTMF_MODE_RFC4733 || l->dtmf_mode == DTMF_MODE_AUTO);
}

static const struct chan_tech sip_tech = {
	.name = "SIP",
	.answer = tech_answer,
	.indicate = tech_indicate,
	.hangup = tech_hangup,
	.bridge = tech_bridge,
	.media = tech_media,
	.send_dtmf = tech_send_dtmf,
	.takes_rfc4733 = tech_takes_rfc4733,
	.connected_line = tech_connected_line,
	.redirecting = tech_redirecting,
};

void leg_set_dtmf_mode(struct chan *ch, enum dtmf_mode mode)
{
	struct leg *l = leg_of(ch);

	if (!l)
		return;
	l->dtmf_mode = mode;
	mstream_set_inband(l->ms, mode == DTMF_MODE_INBAND ||
			   (mode == DTMF_MODE_AUTO && !mstream_has_telephone_event(l->ms)));
}

int leg_dtmf_mode_parse(const char *s)
{
	/* Spelled as tamas.conf documents them (tamasd checks config with this). */
	if (!str_cmp(s, "rfc4733") || !str_cmp(s, "rfc2833"))
		return DTMF_MODE_RFC4733;
	if (!str_cmp(s, "info"))
		return DTMF_MODE_INFO;
	if (!str_cmp(s, "inband"))
		return DTMF_MODE_INBAND;
	if (!str_cmp(s, "auto"))
		return DTMF_MODE_AUTO;
	return -1;
}

/* Digit from an INFO body: "Signal=5" (dtmf-relay) or "5" (application/dtmf). */
static char info_digit(const struct sip_msg *msg)
{
	struct pl sig;
	char buf[8];

	if (msg_ctype_cmp(&msg->ctyp, "application", "dtmf-relay")) {
		if (re_regex((const char *)mbuf_buf(msg->mb), mbuf_get_left(msg->mb),
			     "Signal[ \t]*=[ \t]*[0-9A-Da-d*#]+", NULL, NULL, &sig))
			return 0;
	}
	else if (msg_ctype_cmp(&msg->ctyp, "application", "dtmf")) {
		if (re_regex((const char *)mbuf_buf(msg->mb), mbuf_get_left(msg->mb),
			     "[0-9A-Da-d*#]+", &sig))
			return 0;
	}
	else {
		return 0;
	}
	(void)pl_strcpy(&sig, buf, sizeof(buf));
	if (!strcmp(buf, "10"))
		return '*';
	if (!strcmp(buf, "11"))
		return '#';
	return sig.l == 1 ? buf[0] : 0;
}

/* --- REFER (RFC 3515, 3891): blind and attended transfers from phones --- */

static bool host_is_ours(const struct leg *l, const char *host)
{
	char ip[64];

	if (!str_isset(host) || !str_casecmp(host, "localhost") ||
	    (l->env->realm && !str_casecmp(host, l->env->realm)))
		return true;
	if (re_snprintf(ip, sizeof(ip), "%j", &l->env->laddr) > 0 && !str_casecmp(host, ip))
		return true;
	/* any loopback address reaches us when we listen on loopback */
	return sa_is_loopback(&l->env->laddr) && !strncmp(host, "127.", 4);
}

static bool dialog_is(struct chan *ch, void *arg)
{
	const struct leg *l = leg_of(ch);
	const char *callid = arg;

	return l && l->sess && !l->closed &&
	       !str_casecmp(sip_dialog_callid(sipsess_dialog(l->sess)), callid);
}

static void xfer_bye_h(void *arg)
{
	struct leg *l = arg;

	if (!l->closed)
		chan_hangup(l->ch, CAUSE_NORMAL_CLEARING);
}

static void refer_h(struct sip *sip, const struct sip_msg *msg, void *arg)
{
	struct leg *l = arg;
	struct refer_req rq;
	struct chan *other = NULL;
	int err;

	if (refer_parse(msg, &rq)) {
		(void)sip_reply(sip, msg, 400, "Bad Refer-To");
		return;
	}
	if (!host_is_ours(l, rq.host)) {
		log_warn("sip: REFER to foreign domain %s refused (channel=%s)", rq.host,
			 chan_name(l->ch));
		(void)sip_reply(sip, msg, 403, "Forbidden (foreign domain)");
		return;
	}
	if (!chan_bridged_peer(l->ch)) {
		(void)sip_reply(sip, msg, 603, "Decline (no call to transfer)");
		return;
	}
	if (rq.replaces) {
		other = chan_apply(dialog_is, rq.callid);
		if (!other || other == l->ch) {
			(void)sip_reply(sip, msg, 481, "Call/Transaction Does Not Exist");
			return;
		}
	}
	l->refer = mem_deref(l->refer);
	err = refer_accept(&l->refer, l->env->evsock, msg, sipsess_dialog(l->sess),
			   l->env->cuser);
	if (err) {
		(void)sip_reply(sip, msg, 500, "Server Internal Error");
		return;
	}
	/* Tell the phone before its call is taken away (the transfer hangs
	 * the transferer's leg up through its owner). */
	err = other ? transfer_attended_check(l->ch, other) : transfer_blind_check(l->ch, rq.user);
	if (err) {
		(void)refer_notify(l->refer, err == ENOENT ? 404 : 503,
				   err == ENOENT ? "Not Found" : "Service Unavailable");
		return;
	}
	(void)refer_notify(l->refer, 200, "OK");
	l->transferred = true;
	if (other && leg_of(other))
		leg_of(other)->transferred = true;
	err = other ? transfer_attended(l->ch, other) : transfer_blind(l->ch, rq.user);
	if (err) {
		log_warn("sip: transfer failed after its check (channel=%s): %m", chan_name(l->ch),
			 err);
		return;
	}
	/* RFC 5589 §6: the transferor hangs up; do it if the phone does not. */
	tmr_start(&l->tmr_xfer, 1000, xfer_bye_h, l);
	if (other && leg_of(other))
		tmr_start(&leg_of(other)->tmr_xfer, 1000, xfer_bye_h, leg_of(other));
}

static void info_h(struct sip *sip, const struct sip_msg *msg, void *arg)
{
	struct leg *l = arg;
	char d = info_digit(msg);

	if (!d) {
		(void)sip_reply(sip, msg, 415, "Unsupported Media Type");
		return;
	}
	(void)sip_reply(sip, msg, 200, "OK");
	if (l->ch)
		chan_dtmf_received(l->ch, d, DTMF_SRC_INFO);
}

/* --- libre callbacks ----------------------------------------------------- */

static int offer_h(struct mbuf **descp, const struct sip_msg *msg, void *arg)
{
	struct leg *l = arg;
	int err;

	/* Re-INVITE: media stays anchored here, so we answer locally with the
	 * codecs already agreed and follow the new remote address. */
	enum sdp_dir rdir;
	bool held;

	err = sdp_decode(l->sdp, msg->mb, true);
	if (err)
		return err;
	leg_update_raddr(l);
	/* RFC 3264 §8.4: sendonly or inactive (or the old c=0.0.0.0) is hold.
	 * libre states the remote's direction from our side: a sendonly
	 * offer reads as SDP_RECVONLY here. */
	rdir = sdp_media_rdir(l->sdpm);
	held = rdir == SDP_RECVONLY || rdir == SDP_INACTIVE ||
	       !sa_isset(sdp_media_raddr(l->sdpm), SA_ADDR);
	sdp_media_set_ldir(l->sdpm, !held ? SDP_SENDRECV :
			   rdir == SDP_RECVONLY ? SDP_RECVONLY : SDP_INACTIVE);
	chan_hold(l->ch, held);
	return sdp_encode(descp, l->sdp, false);
}

static int answer_h(const struct sip_msg *msg, void *arg)
{
	struct leg *l = arg;
	int err = sdp_decode(l->sdp, msg->mb, false);

	if (!err) {
		leg_update_raddr(l);
		leg_set_remote_format(l);
	}
	return err;
}

static void a_estab_h(const struct sip_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
}

static void a_close_h(int err, const struct sip_msg *msg, void *arg)
{
	struct leg *l = arg;
	(void)msg;

	log_debug("sip: caller leg closed (channel=%s err=%m)", chan_name(l->ch), err);
	l->closed = true;
	chan_remote_hangup(l->ch, CAUSE_NORMAL_CLEARING);
	leg_release(l);
}

static void st_cancel_h(void *arg)
{
	struct leg *l = arg;

	/* RFC 3261 §9.2: answer the INVITE with 487 once CANCEL matched it. */
	(void)sip_treply(&l->st, l->env->sip, l->invite, 487, "Request Terminated");
	l->closed = true;
	chan_remote_hangup(l->ch, CAUSE_NORMAL_CLEARING);
	leg_release(l);
}

int leg_incoming(const struct leg_env *env, const struct sip_msg *msg,
		 const char *resource, struct chan **chp)
{
	struct leg *l;
	int err;

	l = mem_zalloc(sizeof(*l), leg_destructor);
	if (!l)
		return ENOMEM;
	l->env = env;
	l->incoming = true;
	l->invite = mem_ref((struct sip_msg *)msg);
	err = leg_sdp_init(l);
	if (err) {
		(void)sip_reply(env->sip, msg, 503, "Service Unavailable (no RTP port)");
		goto out;
	}
	if (!msg_ctype_cmp(&msg->ctyp, "application", "sdp") || !mbuf_get_left(msg->mb) ||
	    sdp_decode(l->sdp, msg->mb, true) || !remote_audio_fmt(l) ||
	    !sa_isset(sdp_media_raddr(l->sdpm), SA_ADDR)) {
		(void)sip_reply(env->sip, msg, 488, "Not Acceptable Here");
		err = EPROTO;
		goto out;
	}
	leg_update_raddr(l);
	l->allow_update = sip_msg_hdr_has_value(msg, SIP_HDR_ALLOW, "UPDATE");
	err = sip_strans_alloc(&l->st, env->sip, msg, st_cancel_h, l);
	if (err)
		goto out;
	(void)sip_treply(&l->st, env->sip, msg, 100, "Trying");
	err = chan_alloc(&l->ch, &sip_tech, l, resource, NULL);
	if (err) {
		(void)sip_treply(&l->st, env->sip, msg, 500, "Server Internal Error");
		goto out;
	}
	*chp = l->ch;
	return 0;
 out:
	mem_deref(l);
	return err;
}

/* --- outgoing legs ------------------------------------------------------- */

/* A callee that diverted the call says so: a Diversion header (RFC 5806)
 * in its answer names who diverted and why, or a 3xx sends us on to its
 * Contact (then the diverting party is the one we called). */
static void diversion_check(struct leg *l, const struct sip_msg *msg)
{
	const struct sip_hdr *h = msg ? sip_msg_xhdr(msg, "Diversion") : NULL;
	const struct sip_hdr *c = msg ? sip_msg_hdr(msg, SIP_HDR_CONTACT) : NULL;
	struct pl s, user = PL_INIT, rsn = PL_INIT, cs, cuser = PL_INIT;
	char from[64], to[64] = "", reason[32] = "";

	if (l->diverted || !msg)
		return;
	if (h && !re_regex(h->val.p, h->val.l, "sip[s]*:[^@>;]+@", &s, &user))
		(void)re_regex(h->val.p, h->val.l, ";reason=[^;> \t]+", &rsn);
	else if (msg->scode >= 300 && msg->scode < 400)
		user = msg->to.uri.user;
	if (!pl_isset(&user))
		return;
	if (c)
		(void)re_regex(c->val.p, c->val.l, "sip[s]*:[^@>;]+@", &cs, &cuser);
	(void)pl_strcpy(&user, from, sizeof(from));
	(void)pl_strcpy(&rsn, reason, sizeof(reason));
	(void)pl_strcpy(&cuser, to, sizeof(to));
	l->diverted = true;
	log_info("sip: callee diverted the call (channel=%s from=%s to=%s reason=%s)",
		 chan_name(l->ch), from, to, reason[0] ? reason : "unknown");
	chan_redirecting_signal(l->ch, from, to, reason[0] ? reason : NULL);
}

void leg_redirect_seen(const uint8_t *pkt, size_t len)
{
	struct sip_msg *msg = NULL;
	struct mbuf *mb;
	char callid[128];
	struct leg *l;

	if (len < 12 || memcmp(pkt, "SIP/2.0 3", 9))
		return;
	mb = mbuf_alloc(len);
	if (!mb || mbuf_write_mem(mb, pkt, len)) {
		mem_deref(mb);
		return;
	}
	mb->pos = 0;
	if (!sip_msg_decode(&msg, mb) && !pl_strcmp(&msg->cseq.met, "INVITE")) {
		(void)pl_strcpy(&msg->callid, callid, sizeof(callid));
		l = leg_of(chan_apply(dialog_is, callid));
		if (l && !l->incoming)
			diversion_check(l, msg);
	}
	mem_deref(msg);
	mem_deref(mb);
}

static void b_progr_h(const struct sip_msg *msg, void *arg)
{
	struct leg *l = arg;

	diversion_check(l, msg);

	if (msg->scode == 180) {
		chan_signal(l->ch, CHAN_EV_RINGING);
	}
	else if (msg->scode == 183) {
		if (mbuf_get_left(msg->mb) && !sdp_decode(l->sdp, msg->mb, false)) {
			leg_update_raddr(l);
			leg_set_remote_format(l);
			if (l->origin && !l->origin->released)
				l->origin->early = l;
		}
		chan_signal(l->ch, CHAN_EV_PROGRESS);
	}
}

static void b_estab_h(const struct sip_msg *msg, void *arg)
{
	struct leg *l = arg;

	l->allow_update = msg && sip_msg_hdr_has_value(msg, SIP_HDR_ALLOW, "UPDATE");
	diversion_check(l, msg);
	tmr_cancel(&l->tmr_ring);
	l->answered = true;
	chan_signal(l->ch, CHAN_EV_ANSWER);
}

static void b_close_h(int err, const struct sip_msg *msg, void *arg)
{
	struct leg *l = arg;
	int cause = CAUSE_NORMAL_CLEARING;

	if (msg && msg->scode >= 300)
		cause = causes_from_sip(msg->scode);
	else if (err == ETIMEDOUT)
		cause = CAUSE_NO_USER_RESPONSE;
	else if (err && err != ECONNRESET)
		cause = CAUSE_NETWORK_OUT_OF_ORDER;
	log_debug("sip: callee leg closed (channel=%s scode=%u err=%m cause=%d)",
		  chan_name(l->ch), msg ? msg->scode : 0, err, cause);
	l->closed = true;
	chan_remote_hangup(l->ch, cause);
	leg_release(l);
}

static void ring_timeout_h(void *arg)
{
	struct leg *l = arg;

	/* Timer C (RFC 3261 §16.6): a leg that rings for ever must end. */
	chan_hangup(l->ch, CAUSE_NO_ANSWER);
}

static int offer_from_caller(struct leg *l, const struct leg *origin)
{
	struct le *le;
	int err = 0;

	if (!origin) {
		err = sdp_format_add(NULL, l->sdpm, false, "0", "PCMU", 8000, 1,
				     NULL, NULL, NULL, false, NULL);
		if (!err)
			err = sdp_format_add(NULL, l->sdpm, false, "8", "PCMA", 8000, 1,
					     NULL, NULL, NULL, false, NULL);
		if (!err)
			err = sdp_format_add(NULL, l->sdpm, false, "101", "telephone-event",
					     8000, 1, NULL, NULL, NULL, false, "0-16");
		return err;
	}
	for (le = list_head(sdp_media_format_lst(origin->sdpm, false)); le && !err;
	     le = le->next) {
		const struct sdp_format *f = le->data;
		if (fmt_supported(f))
			err = fmt_add_copy(l->sdpm, f);
	}
	return err;
}

/* The INVITE goes out from the loop, after Dial's b() routine has set the
 * new channel up (its CALLERID is what From carries). */
static void connect_h(void *arg)
{
	struct leg *l = arg;
	const struct leg_env *env = l->env;
	const char *routev[1] = { l->route };
	struct mbuf *offer = NULL;
	const char *num = chan_cid_num(l->ch);
	char from[160];
	int err;

	err = sdp_encode(&offer, l->sdp, true);
	(void)re_snprintf(from, sizeof(from), "sip:%s@%j", str_isset(num) ? num : "anonymous",
			  rtpep_laddr(l->rtp));
	if (!err)
		err = sipsess_connect(&l->sess, env->sock, l->uri, chan_cid_name(l->ch), from,
				      env->cuser, l->route ? routev : NULL, l->route ? 1 : 0,
				      "application/sdp", offer, l->authh, l->aarg, false, offer_h,
				      answer_h, b_progr_h, b_estab_h, info_h, refer_h, b_close_h, l,
				      "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, REFER, NOTIFY\r\n");
	mem_deref(offer);
	if (err) {
		log_warn("sip: cannot send INVITE to %s (channel=%s): %m", l->uri,
			 chan_name(l->ch), err);
		l->closed = true;
		chan_remote_hangup(l->ch, CAUSE_NETWORK_OUT_OF_ORDER);
		leg_release(l);
		return;
	}
	if (env->dial_timeout_s)
		tmr_start(&l->tmr_ring, env->dial_timeout_s * 1000ULL, ring_timeout_h, l);
}

int leg_outgoing(const struct leg_env *env, struct chan **chp, const char *resource,
		 const char *uri, const char *route, struct chan *caller,
		 sip_auth_h *authh, void *aarg)
{
	struct leg *l;
	int err;

	l = mem_zalloc(sizeof(*l), leg_destructor);
	if (!l)
		return ENOMEM;
	l->env = env;
	l->origin = mem_ref(leg_of(caller));
	l->authh = authh;
	l->aarg = mem_ref(aarg);     /* a trunk may be removed mid-call */
	tmr_init(&l->tmr_connect);
	err = str_dup(&l->uri, uri);
	if (!err && route)
		err = str_dup(&l->route, route);
	if (!err)
		err = leg_sdp_init(l);
	if (!err)
		err = offer_from_caller(l, l->origin);
	if (!err)
		err = chan_alloc(&l->ch, &sip_tech, l, resource, caller);
	if (err) {
		mem_deref(l);
		return err;
	}
	if (caller)
		(void)chan_set_cid(l->ch, chan_cid_num(caller), chan_cid_name(caller));
	tmr_start(&l->tmr_connect, 0, connect_h, l);
	*chp = l->ch;
	return 0;
}
