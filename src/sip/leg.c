/* leg: SIP channel technology on libre's sipsess (libre-notes.md §2-§3).
 * An incoming leg keeps its own server transaction until the first 18x/2xx
 * so that it can wait for the dialplan before accepting. */
#include <errno.h>
#include <string.h>
#include "core/log.h"
#include "media/rtp.h"
#include "pbx/chan.h"
#include "sip/causes.h"
#include "sip/leg.h"

struct leg {
	const struct leg_env *env;
	struct chan *ch;             /* reference; released in leg_release */
	struct sipsess *sess;
	struct sip_strans *st;       /* incoming, before accept */
	struct sip_msg *invite;      /* incoming INVITE (ref) */
	struct sdp_session *sdp;
	struct sdp_media *sdpm;
	struct rtpep *rtp;
	struct leg *early;           /* incoming: leg whose early media we hear */
	struct leg *origin;          /* outgoing: the caller's leg, if SIP */
	struct tmr tmr_ring;         /* outgoing: Timer C (libre has none) */
	struct tmr tmr_release;
	bool incoming, accepted, answered, closed, released;
};

static const struct chan_tech sip_tech;

/* Releases what talks to the network; the struct may live on while an
 * outgoing leg still holds it as its origin. */
static void leg_free_resources(struct leg *l)
{
	tmr_cancel(&l->tmr_ring);
	tmr_cancel(&l->tmr_release);
	l->sess = mem_deref(l->sess);
	l->rtp = mem_deref(l->rtp);
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

static int leg_sdp_init(struct leg *l)
{
	int err = rtpep_alloc(&l->rtp, l->env->pool);

	if (err)
		return err;
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

/* Our answer to the incoming offer: the codec the far leg chose (or the
 * caller's first supported one) plus telephone-event, in the caller's PTs. */
static int leg_make_answer(struct leg *l, struct mbuf **mbp)
{
	const struct leg *src = l->early;
	const struct sdp_format *want = NULL, *f, *te;
	struct chan *peer = chan_bridged_peer(l->ch);
	int err;

	if (leg_of(peer))
		src = leg_of(peer);
	if (src)
		want = remote_audio_fmt(src);
	f = want ? remote_fmt_named(l, want->name) : NULL;
	if (!f)
		f = remote_audio_fmt(l);
	if (!f)
		return EPROTO;
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
	return sdp_encode(mbp, l->sdp, false);
}

/* --- chan_tech ----------------------------------------------------------- */

static void a_close_h(int err, const struct sip_msg *msg, void *arg);
static void a_estab_h(const struct sip_msg *msg, void *arg);
static int offer_h(struct mbuf **descp, const struct sip_msg *msg, void *arg);
static int answer_h(const struct sip_msg *msg, void *arg);

static int leg_accept(struct leg *l, uint16_t scode, const char *reason, struct mbuf *desc)
{
	int err;

	/* Unlinks our transaction without a reply; sipsess takes over. */
	l->st = mem_deref(l->st);
	err = sipsess_accept(&l->sess, l->env->sock, l->invite, scode, reason,
			     l->env->cuser, "application/sdp", desc, NULL, NULL, false,
			     offer_h, answer_h, a_estab_h, NULL, NULL, a_close_h, l,
			     "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, INFO\r\n");
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
	if (scode == 183 && l->early) {
		err = leg_make_answer(l, &desc);
		if (err)
			return err;
		rtpep_link(l->rtp, l->early->rtp);
	}
	if (!l->accepted)
		err = leg_accept(l, scode, reason, desc);
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
		err = leg_accept(l, 200, "OK", desc);
	else
		err = sipsess_answer(l->sess, 200, "OK", desc, "");
	mem_deref(desc);
	if (!err)
		l->answered = true;
	return err;
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

static const struct chan_tech sip_tech = {
	.name = "SIP",
	.answer = tech_answer,
	.indicate = tech_indicate,
	.hangup = tech_hangup,
	.bridge = tech_bridge,
};

/* --- libre callbacks ----------------------------------------------------- */

static int offer_h(struct mbuf **descp, const struct sip_msg *msg, void *arg)
{
	struct leg *l = arg;
	int err;

	/* Re-INVITE: media stays anchored here, so we answer locally with the
	 * codecs already agreed and follow the new remote address. */
	err = sdp_decode(l->sdp, msg->mb, true);
	if (err)
		return err;
	leg_update_raddr(l);
	return sdp_encode(descp, l->sdp, false);
}

static int answer_h(const struct sip_msg *msg, void *arg)
{
	struct leg *l = arg;
	int err = sdp_decode(l->sdp, msg->mb, false);

	if (!err)
		leg_update_raddr(l);
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

static void b_progr_h(const struct sip_msg *msg, void *arg)
{
	struct leg *l = arg;

	if (msg->scode == 180) {
		chan_signal(l->ch, CHAN_EV_RINGING);
	}
	else if (msg->scode == 183) {
		if (mbuf_get_left(msg->mb) && !sdp_decode(l->sdp, msg->mb, false)) {
			leg_update_raddr(l);
			if (l->origin && !l->origin->released)
				l->origin->early = l;
		}
		chan_signal(l->ch, CHAN_EV_PROGRESS);
	}
}

static void b_estab_h(const struct sip_msg *msg, void *arg)
{
	struct leg *l = arg;
	(void)msg;

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

int leg_outgoing(const struct leg_env *env, struct chan **chp, const char *resource,
		 const char *uri, const char *route, struct chan *caller,
		 sip_auth_h *authh, void *aarg)
{
	struct leg *l;
	struct mbuf *offer = NULL;
	const char *routev[1] = { route };
	char from[160];
	int err;

	l = mem_zalloc(sizeof(*l), leg_destructor);
	if (!l)
		return ENOMEM;
	l->env = env;
	l->origin = mem_ref(leg_of(caller));
	err = leg_sdp_init(l);
	if (!err)
		err = offer_from_caller(l, l->origin);
	if (!err)
		err = sdp_encode(&offer, l->sdp, true);
	if (err)
		goto out;
	err = chan_alloc(&l->ch, &sip_tech, l, resource, caller);
	if (err)
		goto out;
	if (caller)
		(void)chan_set_cid(l->ch, chan_cid_num(caller), chan_cid_name(caller));
	(void)re_snprintf(from, sizeof(from), "sip:%s@%J",
			  caller && str_isset(chan_cid_num(caller)) ? chan_cid_num(caller)
			  : "anonymous", rtpep_laddr(l->rtp));
	{
		/* From's host is ours, not the RTP port: strip the port. */
		char *colon = strrchr(from, ':');
		if (colon && colon > from + 4)
			*colon = '\0';
	}
	err = sipsess_connect(&l->sess, env->sock, uri,
			      caller ? chan_cid_name(caller) : NULL, from, env->cuser,
			      route ? routev : NULL, route ? 1 : 0, "application/sdp", offer,
			      authh, aarg, false, offer_h, answer_h, b_progr_h, b_estab_h,
			      NULL, NULL, b_close_h, l,
			      "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, INFO\r\n");
	if (err) {
		chan_cdr_disable(l->ch);
		chan_set_cause(l->ch, CAUSE_NETWORK_OUT_OF_ORDER);
		chan_set_pvt(l->ch, NULL);
		mem_deref(l->ch);
		l->ch = NULL;
		goto out;
	}
	if (env->dial_timeout_s)
		tmr_start(&l->tmr_ring, env->dial_timeout_s * 1000ULL, ring_timeout_h, l);
	mem_deref(offer);
	*chp = l->ch;
	return 0;
 out:
	mem_deref(offer);
	mem_deref(l);
	return err;
}
