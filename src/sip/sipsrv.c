/* sipsrv: SIP stack set-up, request validation, overload guard and routing of
 * new requests to the registrar, trunks and legs. */
#include <errno.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include "core/log.h"
#include "media/mstream.h"
#include "media/rtp.h"
#include "pbx/chan.h"
#include "sip/auth.h"
#include "sip/leg.h"
#include "sip/registrar.h"
#include "sip/sipsrv.h"
#include "sip/trunk.h"

struct trunk_entry { struct le le; struct trunk *t; };

struct sipsrv {
	struct sip *sip;
	struct sip_lsnr *lsnr_check, *lsnr_misc;
	struct sipsess_sock *sock;
	struct sipauth *auth;
	struct registrar *reg;
	struct rtppool *pool;
	struct mclock *clk;
	struct sipevent_sock *evsock;
	struct list trunks;
	struct leg_env env;
	struct sipsrv_conf cf;
	sipsrv_user_h *userh;
	sipsrv_call_h *callh;
	void *arg;
	uint64_t malformed;
	unsigned last_log, suppressed;
};

static void trunk_entry_destructor(void *arg)
{
	struct trunk_entry *e = arg;
	list_unlink(&e->le);
	mem_deref(e->t);
}

static void destructor(void *arg)
{
	struct sipsrv *s = arg;

	list_flush(&s->trunks);
	if (s->sock)
		sipsess_close_all(s->sock);
	mem_deref(s->sock);
	mem_deref(s->evsock);
	mem_deref(s->lsnr_check);
	mem_deref(s->lsnr_misc);
	mem_deref(s->reg);
	mem_deref(s->auth);
	if (s->sip)
		sip_close(s->sip, true);
	mem_deref(s->sip);
	mem_deref(s->pool);
	mem_deref(s->clk);
}

static int pw_h(const char *user, char *pw, size_t sz, void *arg)
{
	struct sipsrv *s = arg;
	char ctx[64];
	return s->userh(user, pw, sz, ctx, sizeof(ctx), s->arg);
}

/* --- validation ---------------------------------------------------------- */

static void malformed(struct sipsrv *s, const struct sip_msg *msg, const char *why)
{
	++s->malformed;
	log_ratelimited(&s->last_log, &s->suppressed, "sip: malformed request (src=%J reason=%s)",
			&msg->src, why);
}

/* libre decodes the start line and headers; what makes a request unusable
 * (RFC 3261 §8.2) is checked here, before any transaction logic of ours. */
static const char *request_problem(const struct sip_msg *msg)
{
	size_t body = mbuf_get_left(msg->mb);
	const struct sip_hdr *cl = sip_msg_hdr(msg, SIP_HDR_CONTENT_LENGTH);

	static const enum sip_hdrid single[] = {
		SIP_HDR_CALL_ID, SIP_HDR_FROM, SIP_HDR_TO, SIP_HDR_CSEQ,
		SIP_HDR_MAX_FORWARDS, SIP_HDR_CONTENT_LENGTH,
	};
	const struct sip_hdr *cseq = sip_msg_hdr(msg, SIP_HDR_CSEQ);
	struct pl num;

	if (!pl_isset(&msg->callid))
		return "missing Call-ID";
	for (size_t i = 0; i < ARRAY_SIZE(single); i++) {
		if (sip_msg_hdr_count(msg, single[i]) > 1)
			return "repeated single-value header";
	}
	/* RFC 3261 §8.1.1.5: the CSeq number must fit 32 bits. */
	if (!cseq || re_regex(cseq->val.p, cseq->val.l, "[0-9]+", &num) || num.l > 10 ||
	    pl_u64(&num) > 0xffffffffULL)
		return "bad CSeq number";
	if (!pl_isset(&msg->from.auri) || !pl_isset(&msg->to.auri))
		return "missing From or To";
	if (!pl_isset(&msg->cseq.met) || pl_cmp(&msg->cseq.met, &msg->met))
		return "bad CSeq";
	if (!pl_isset(&msg->ver) || pl_strcmp(&msg->ver, "SIP/2.0"))
		return "bad SIP version";
	if (cl) {
		const struct pl *v = &cl->val;
		bool digits = v->l > 0 && v->l < 10;
		for (size_t i = 0; digits && i < v->l; i++)
			digits = v->p[i] >= '0' && v->p[i] <= '9';
		if (!digits || pl_u32(v) > body)
			return "bad Content-Length";
	}
	if (msg->req && !pl_strcmp(&msg->met, "INVITE") &&
	    !pl_isset(&msg->to.uri.user) && !pl_isset(&msg->uri.user))
		return "no user in Request-URI";
	return NULL;
}

/* Requests that are well-formed but ask for what we do not do get their
 * specific answer (RFC 3261 §8.2.2, §8.2.3). Returns true when answered. */
static bool reject_unsupported(struct sipsrv *s, const struct sip_msg *msg)
{
	const struct sip_hdr *req = sip_msg_hdr(msg, SIP_HDR_REQUIRE);
	const struct sip_hdr *acc = sip_msg_hdr(msg, SIP_HDR_ACCEPT);
	bool invite = !pl_strcmp(&msg->met, "INVITE");

	if (pl_strcasecmp(&msg->uri.scheme, "sip") && pl_strcasecmp(&msg->uri.scheme, "sips")) {
		(void)sip_reply(s->sip, msg, 416, "Unsupported URI Scheme");
		return true;
	}
	if (!pl_strcmp(&msg->met, "ACK") || !pl_strcmp(&msg->met, "CANCEL"))
		return false;
	if (req) {
		(void)sip_replyf(s->sip, msg, 420, "Bad Extension",
				 "Unsupported: %r\r\nContent-Length: 0\r\n\r\n", &req->val);
		return true;
	}
	if (invite && mbuf_get_left(msg->mb) &&
	    !msg_ctype_cmp(&msg->ctyp, "application", "sdp")) {
		(void)sip_replyf(s->sip, msg, 415, "Unsupported Media Type",
				 "Accept: application/sdp\r\nContent-Length: 0\r\n\r\n");
		return true;
	}
	if (invite && acc && !sip_msg_hdr_has_value(msg, SIP_HDR_ACCEPT, "application/sdp") &&
	    !sip_msg_hdr_has_value(msg, SIP_HDR_ACCEPT, "*/*")) {
		(void)sip_reply(s->sip, msg, 406, "Not Acceptable");
		return true;
	}
	return false;
}

static bool check_h(const struct sip_msg *msg, void *arg)
{
	struct sipsrv *s = arg;
	const char *why;

	if (!pl_isset(&msg->via.sentby) || !sip_msg_hdr(msg, SIP_HDR_VIA)) {
		/* No Via: no way to route a response (RFC 3261 §18.2.1). */
		malformed(s, msg, "missing Via");
		return true;
	}
	why = request_problem(msg);
	if (!why)
		return reject_unsupported(s, msg);
	malformed(s, msg, why);
	if (pl_strcmp(&msg->met, "ACK"))
		(void)sip_replyf(s->sip, msg, 400, "Bad Request",
				 "Warning: 399 tamas \"%s\"\r\nContent-Length: 0\r\n\r\n", why);
	return true;
}

/* --- incoming INVITE ----------------------------------------------------- */

static struct trunk *trunk_by_src(const struct sipsrv *s, const struct sa *src)
{
	struct le *le;

	for (le = s->trunks.head; le; le = le->next) {
		struct trunk_entry *e = le->data;
		if (trunk_matches(e->t, src))
			return e->t;
	}
	return NULL;
}

static struct trunk *trunk_by_name(const struct sipsrv *s, const char *name, size_t len)
{
	struct le *le;

	for (le = s->trunks.head; le; le = le->next) {
		struct trunk_entry *e = le->data;
		if (strlen(trunk_name(e->t)) == len && !strncmp(trunk_name(e->t), name, len))
			return e->t;
	}
	return NULL;
}

static void leg_apply_dtmf_mode(struct sipsrv *s, struct chan *ch, bool trunk,
				const char *name);

static void invite_h(const struct sip_msg *msg, void *arg)
{
	struct sipsrv *s = arg;
	char user[64] = "", ctx[64] = "", pw[128], exten[64];
	const char *resource;
	struct trunk *t;
	struct chan *ch;
	struct sip_strans *st = NULL;

	if (chan_count() + 2 > s->cf.max_calls) {
		(void)sip_treplyf(&st, NULL, s->sip, msg, false, 503, "Service Unavailable",
				  "Retry-After: 5\r\nContent-Length: 0\r\n\r\n");
		return;
	}
	t = trunk_by_src(s, &msg->src);
	if (t) {
		resource = trunk_name(t);
		str_ncpy(ctx, trunk_context(t), sizeof(ctx));
	}
	else {
		switch (sipauth_check(s->auth, msg, true, user, sizeof(user))) {
		case SIPAUTH_OK:
			break;
		case SIPAUTH_CHALLENGE:
			(void)sipauth_reply_challenge(s->auth, s->sip, msg, true, false);
			return;
		case SIPAUTH_STALE:
			(void)sipauth_reply_challenge(s->auth, s->sip, msg, true, true);
			return;
		default:
			log_ratelimited(&s->last_log, &s->suppressed,
					"sip: INVITE authentication failed (src=%J)", &msg->src);
			(void)sip_treply(&st, s->sip, msg, 403, "Forbidden");
			return;
		}
		if (s->userh(user, pw, sizeof(pw), ctx, sizeof(ctx), s->arg)) {
			(void)sip_treply(&st, s->sip, msg, 403, "Forbidden");
			return;
		}
		memset(pw, 0, sizeof(pw));
		resource = user;
	}
	if (msg->uri.user.l >= sizeof(exten)) {
		(void)sip_treply(&st, s->sip, msg, 414, "Request-URI Too Long");
		return;
	}
	(void)pl_strcpy(pl_isset(&msg->uri.user) ? &msg->uri.user : &msg->to.uri.user,
			exten, sizeof(exten));
	if (leg_incoming(&s->env, msg, resource, &ch))
		return;
	{
		char num[64] = "", name[96] = "";
		if (t)
			(void)pl_strcpy(&msg->from.uri.user, num, sizeof(num));
		else
			str_ncpy(num, user, sizeof(num));
		if (pl_isset(&msg->from.dname))
			(void)pl_strcpy(&msg->from.dname, name, sizeof(name));
		(void)chan_set_cid(ch, num, name);
	}
	(void)chan_set_location(ch, ctx, exten);
	leg_apply_dtmf_mode(s, ch, t != NULL, t ? trunk_name(t) : user);
	log_info("sip: new call (channel=%s from=%s to=%s@%s src=%J)", chan_name(ch),
		 chan_cid_num(ch), exten, ctx, &msg->src);
	s->callh(ch, s->arg);
}

/* --- other requests ------------------------------------------------------ */

static void leg_apply_dtmf_mode(struct sipsrv *s, struct chan *ch, bool trunk,
				const char *name)
{
	const char *m = s->cf.dtmf_mode_h ? s->cf.dtmf_mode_h(trunk, name, s->arg) : NULL;
	int mode = m ? leg_dtmf_mode_parse(m) : -1;

	if (mode >= 0)
		leg_set_dtmf_mode(ch, (enum dtmf_mode)mode);
}

static bool misc_h(const struct sip_msg *msg, void *arg)
{
	struct sipsrv *s = arg;

	if (!pl_strcmp(&msg->met, "REGISTER")) {
		registrar_handle(s->reg, msg);
		return true;
	}
	if (!pl_strcmp(&msg->met, "OPTIONS")) {
		(void)sip_replyf(s->sip, msg, 200, "OK",
				 "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, REGISTER\r\n"
				 "Accept: application/sdp\r\nContent-Length: 0\r\n\r\n");
		return true;
	}
	if (!pl_strcmp(&msg->met, "ACK"))
		return true; /* stray ACK (e.g. to a stateless error): nothing to do */
	if (!pl_strcmp(&msg->met, "CANCEL")) {
		(void)sip_reply(s->sip, msg, 481, "Call/Transaction Does Not Exist");
		return true;
	}
	if (!pl_strcmp(&msg->met, "BYE")) {
		(void)sip_reply(s->sip, msg, 481, "Call/Transaction Does Not Exist");
		return true;
	}
	(void)sip_replyf(s->sip, msg, 405, "Method Not Allowed",
			 "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, REGISTER\r\n"
			 "Content-Length: 0\r\n\r\n");
	return true;
}

/* libre 1.1.0 gives no access to the SIP transport's UDP socket, so find it
 * by its bound address. Bursts at high call rates overflow the default
 * receive buffer (timers.md, next bottlenecks #2). */
static void sip_rcvbuf_raise(const struct sa *laddr, int bytes)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	for (int fd = 3; fd < (int)MIN(rl.rlim_cur, 4096u); fd++) {
		struct sa a;
		int type = 0, got;
		socklen_t tl = sizeof(type);

		if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) || type != SOCK_DGRAM)
			continue;
		sa_init(&a, AF_UNSPEC);
		a.len = sizeof(a.u);
		if (getsockname(fd, &a.u.sa, &a.len) || !sa_cmp(&a, laddr, SA_ALL))
			continue;
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes));
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
		tl = sizeof(got);
		if (!getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &tl))
			log_info("sip: UDP receive buffer %d KiB", got / 1024);
		return;
	}
}

static void exit_h(void *arg)
{
	(void)arg;
}

static void trace_h(bool tx, enum sip_transp tp, const struct sa *src, const struct sa *dst,
		    const uint8_t *pkt, size_t len, void *arg)
{
	(void)tp;
	(void)src;
	(void)dst;
	(void)arg;
	if (!tx)
		leg_redirect_seen(pkt, len);
}

int sipsrv_alloc(struct sipsrv **srvp, const struct sipsrv_conf *cf,
		 sipsrv_user_h *userh, sipsrv_call_h *callh, void *arg)
{
	struct sipsrv *s;
	int err;

	if (!srvp || !cf || !userh || !callh)
		return EINVAL;
	s = mem_zalloc(sizeof(*s), destructor);
	if (!s)
		return ENOMEM;
	s->cf = *cf;
	s->userh = userh;
	s->callh = callh;
	s->arg = arg;
	err = sip_alloc(&s->sip, NULL, 8192, 8192, 256, cf->user_agent ? cf->user_agent
			: "tamas", exit_h, s);
	if (err) {
		log_error("sip: stack init failed: %m", err);
		goto out;
	}
	sip_set_trace_handler(s->sip, trace_h);
	if (cf->udp)
		err = sip_transp_add(s->sip, SIP_TRANSP_UDP, &cf->laddr);
	if (!err && cf->tcp)
		err = sip_transp_add(s->sip, SIP_TRANSP_TCP, &cf->laddr);
	if (err) {
		log_error("sip: cannot listen on %J: %m", &cf->laddr, err);
		goto out;
	}
	if (cf->udp)
		sip_rcvbuf_raise(&cf->laddr, 8 * 1024 * 1024);
	/* Registration order is processing order: validation first. */
	err = sip_listen(&s->lsnr_check, s->sip, true, check_h, s);
	if (!err)
		err = sipsess_listen(&s->sock, s->sip, 8192, invite_h, s);
	if (!err)
		err = sip_listen(&s->lsnr_misc, s->sip, true, misc_h, s);
	if (!err)
		err = sipauth_alloc(&s->auth, cf->realm ? cf->realm : "tamas",
				    cf->nonce_ttl_s, pw_h, s);
	if (!err)
		err = registrar_alloc(&s->reg, s->sip, s->auth, cf->min_expires,
				      cf->max_expires);
	if (!err)
		err = rtppool_alloc(&s->pool, &cf->rtp_laddr, cf->rtp_min, cf->rtp_max);
	if (!err)
		err = mclock_alloc(&s->clk);
	if (!err)
		err = sipevent_listen(&s->evsock, s->sip, 32, 32, NULL, NULL);
	if (!err && cf->dtmf_mode && leg_dtmf_mode_parse(cf->dtmf_mode) < 0) {
		log_error("sip: unknown dtmfmode '%s' (rfc4733, info, inband or auto)",
			  cf->dtmf_mode);
		err = EINVAL;
	}
	if (err) {
		log_error("sip: init failed: %m", err);
		goto out;
	}
	s->env.sip = s->sip;
	s->env.sock = s->sock;
	s->env.pool = s->pool;
	s->env.clk = s->clk;
	s->env.evsock = s->evsock;
	s->env.laddr = cf->laddr;
	s->env.realm = cf->realm;
	s->env.dtmf_mode = cf->dtmf_mode ? leg_dtmf_mode_parse(cf->dtmf_mode)
					 : DTMF_MODE_RFC4733;
	s->env.dial_timeout_s = cf->dial_timeout_s;
	s->env.cuser = "tamas";
	*srvp = s;
	return 0;
 out:
	mem_deref(s);
	return err;
}

int sipsrv_trunk_add(struct sipsrv *s, const struct trunk_conf *tc)
{
	struct trunk_entry *e;
	int err;

	e = mem_zalloc(sizeof(*e), trunk_entry_destructor);
	if (!e)
		return ENOMEM;
	err = trunk_alloc(&e->t, s->sip, tc);
	if (err) {
		mem_deref(e);
		return err;
	}
	list_append(&s->trunks, &e->le, e);
	return 0;
}

int sipsrv_trunk_remove(struct sipsrv *s, const char *name)
{
	struct le *le;

	if (!s || !name)
		return EINVAL;
	for (le = s->trunks.head; le; le = le->next) {
		struct trunk_entry *e = le->data;

		if (!strcmp(trunk_name(e->t), name)) {
			mem_deref(e);     /* calls on it keep their reference */
			return 0;
		}
	}
	return ENOENT;
}

bool sipsrv_has_trunk(const struct sipsrv *s, const char *name)
{
	return s && name && trunk_by_name(s, name, strlen(name)) != NULL;
}

int sipsrv_request(struct sipsrv *s, struct chan **chp, const char *resource,
		   struct chan *caller, int *cause)
{
	const char *slash = strchr(resource, '/'), *at = strchr(resource, '@');
	char uri[256], route[128];
	struct reg_binding b;
	struct trunk *t = NULL;
	const char *number = resource;
	char numbuf[64];
	int err;

	*cause = CAUSE_NORMAL_CLEARING;
	if (slash) {
		t = trunk_by_name(s, resource, (size_t)(slash - resource));
		number = slash + 1;
	}
	else if (at) {
		t = trunk_by_name(s, at + 1, strlen(at + 1));
		if ((size_t)(at - resource) >= sizeof(numbuf))
			return EINVAL;
		memcpy(numbuf, resource, (size_t)(at - resource));
		numbuf[at - resource] = '\0';
		number = numbuf;
	}
	if ((slash || at) && !t) {
		*cause = CAUSE_NO_ROUTE_DESTINATION;
		return ENOENT;
	}
	if (t) {
		err = trunk_uri(t, number, uri, sizeof(uri));
		if (!err)
			err = leg_outgoing(&s->env, chp, resource, uri, NULL, caller,
					   trunk_auth_h, t);
		if (!err)
			leg_apply_dtmf_mode(s, *chp, true, trunk_name(t));
	}
	else {
		if (registrar_lookup(s->reg, resource, &b)) {
			*cause = CAUSE_SUBSCRIBER_ABSENT;
			return ENOENT;
		}
		/* Send to where the REGISTER came from (NAT), not to the Contact;
		 * without NAT no route, so a 3xx from the phone is followed to
		 * its new Contact rather than back to the phone. */
		(void)re_snprintf(route, sizeof(route), "sip:%J%s%s", &b.src,
				  b.tp == SIP_TRANSP_UDP ? "" : ";transport=",
				  b.tp == SIP_TRANSP_UDP ? "" : sip_transp_param(b.tp));
		err = leg_outgoing(&s->env, chp, resource, b.contact,
				   b.direct ? NULL : route, caller, NULL, NULL);
		if (!err)
			leg_apply_dtmf_mode(s, *chp, false, resource);
	}
	if (err)
		*cause = err == EADDRINUSE ? CAUSE_NORMAL_CIRCUIT_CONGESTION
			: CAUSE_NETWORK_OUT_OF_ORDER;
	return err;
}

bool sipsrv_dtmf_mode_valid(const char *mode)
{
	return mode && leg_dtmf_mode_parse(mode) >= 0;
}

struct registrar *sipsrv_registrar(const struct sipsrv *s)
{
	return s ? s->reg : NULL;
}

int sipsrv_print_trunks(struct re_printf *pf, const struct sipsrv *s)
{
	struct le *le;
	int err = 0;

	for (le = s->trunks.head; le && !err; le = le->next) {
		struct trunk_entry *e = le->data;
		err = trunk_print(pf, e->t);
	}
	return err;
}

int sipsrv_print_status(struct re_printf *pf, const struct sipsrv *s)
{
	return re_hprintf(pf, "{\"registrations\":%u,\"channels\":%u,\"malformed\":%llu,"
			  "\"rtp_ports_in_use\":%u}\n", registrar_count(s->reg), chan_count(),
			  (unsigned long long)s->malformed, rtppool_in_use(s->pool));
}

uint64_t sipsrv_malformed_count(const struct sipsrv *s)
{
	return s ? s->malformed : 0;
}

unsigned sipsrv_rtp_capacity(const struct sipsrv *s)
{
	return s ? rtppool_capacity(s->pool) : 0;
}
