/* leg: the SIP channel technology. One leg = one sipsess dialog + its SDP
 * session + one anchored RTP endpoint, owned by a struct chan.
 * Internal to src/sip: sipsrv is its only user. */
#ifndef TAMAS_SIP_LEG_H
#define TAMAS_SIP_LEG_H

#include <stdint.h>
#include <re.h>

struct chan;
struct rtppool;
struct mclock;
struct sipevent_sock;

/* How DTMF is sent to and detected from this endpoint (Asterisk dtmf_mode). */
enum dtmf_mode { DTMF_MODE_RFC4733 = 0, DTMF_MODE_INFO, DTMF_MODE_INBAND, DTMF_MODE_AUTO };
/* "rfc4733" (or "rfc2833"), "info", "inband", "auto"; -1 if unknown. */
int leg_dtmf_mode_parse(const char *s);

struct leg_env {
	struct sip *sip;
	struct sipsess_sock *sock;
	struct rtppool *pool;
	struct mclock *clk;
	enum dtmf_mode dtmf_mode;
	uint32_t dial_timeout_s;
	const char *cuser;          /* user part of our Contact */
	struct sipevent_sock *evsock;   /* REFER's implicit subscriptions */
	struct sa laddr;            /* our SIP address: REFER targets must be ours */
	const char *realm;
};

/* Takes an incoming INVITE: checks its SDP (replies 488 itself on failure,
 * then returns EPROTO), sends 100 Trying and creates the channel. */
int leg_incoming(const struct leg_env *env, const struct sip_msg *msg,
		 const char *resource, struct chan **chp);

/* Overrides the endpoint's DTMF mode (per user or trunk). */
void leg_set_dtmf_mode(struct chan *ch, enum dtmf_mode mode);

/* Sends an INVITE to uri (optional route "sip:host:port" (libre adds <>;lr)), offering the
 * caller's codecs. authh answers 401/407 (trunks) with aarg, a mem object (or
 * NULL) the leg holds a reference to. */
/* A received packet, as libre's trace hook sees it. libre 1.1.0 follows a
 * 3xx to an INVITE by itself and tells the session nothing, so a redirect
 * is noticed here and reported on the leg as redirecting (§4.4). */
void leg_redirect_seen(const uint8_t *pkt, size_t len);

int leg_outgoing(const struct leg_env *env, struct chan **chp, const char *resource,
		 const char *uri, const char *route, struct chan *caller,
		 sip_auth_h *authh, void *aarg);

#endif
