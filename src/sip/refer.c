/* refer: REFER parsing and the notifier side of its implicit subscription
 * (RFC 3515 section 2.4.4), on libre's sipevent. What the transfer does is
 * decided by the caller. */
#include <errno.h>
#include <string.h>
#include "core/log.h"
#include "sip/refer.h"

/* RFC 3515 leaves the subscription's duration to the notifier; long enough
 * for a transfer target to ring out, short enough that a lost final NOTIFY
 * does not pin the dialog's state for long. */
enum { REFER_EXPIRES = 300 };

struct refer {
	struct sipnot *not;   /* NULL once terminated or closed by libre */
};

static void destructor(void *arg)
{
	struct refer *r = arg;

	/* libre's sipnot sends "terminated;reason=deactivated" itself if the
	 * subscription is still up, and drops our close handler first. */
	r->not = mem_deref(r->not);
}

static int copy_pl(char *buf, size_t sz, const struct pl *pl)
{
	if (!pl_isset(pl) || pl->l >= sz)
		return EINVAL;
	memcpy(buf, pl->p, pl->l);
	buf[pl->l] = '\0';
	return 0;
}

typedef int (unescape_h)(struct re_printf *pf, const struct pl *pl);

/* %-decodes pl into buf with one of libre's uri_*_unescape printers. A
 * decoded NUL would silently shorten the string: refuse it. */
static int copy_unescaped(char *buf, size_t sz, unescape_h *h, const struct pl *pl)
{
	int n;

	if (!pl_isset(pl))
		return EINVAL;
	n = re_snprintf(buf, sz, "%H", h, pl);
	if (n < 0 || (size_t)n >= sz || strlen(buf) != (size_t)n) {
		buf[0] = '\0';
		return EINVAL;
	}
	return 0;
}

static int replaces_param(const struct pl *name, const struct pl *val, void *arg)
{
	struct refer_req *rq = arg;

	if (!pl_strcasecmp(name, "to-tag"))
		return copy_pl(rq->to_tag, sizeof(rq->to_tag), val);
	if (!pl_strcasecmp(name, "from-tag"))
		return copy_pl(rq->from_tag, sizeof(rq->from_tag), val);
	return 0;   /* early-only and extensions: not ours to judge */
}

/* RFC 3891 section 6.1: callid *(SEMI replaces-param), all three parts
 * mandatory. val is still URI-escaped (RFC 3891 section 7 example). */
static int parse_replaces(struct refer_req *rq, const struct pl *val)
{
	char buf[640];
	struct pl pl, callid, params;
	int err;

	err = copy_unescaped(buf, sizeof(buf), uri_header_unescape, val);
	if (err)
		return err;
	pl_set_str(&pl, buf);
	if (re_regex(pl.p, pl.l, "[ \t]*[^ \t;]+[ \t]*[^]*", NULL, &callid, NULL, &params))
		return EINVAL;
	err = copy_pl(rq->callid, sizeof(rq->callid), &callid);
	if (!err && params.l)
		err = uri_params_apply(&params, replaces_param, rq);
	if (err)
		return EINVAL;
	if (!rq->to_tag[0] || !rq->from_tag[0])
		return EINVAL;
	rq->replaces = true;
	return 0;
}

static int uri_header(const struct pl *name, const struct pl *val, void *arg)
{
	struct refer_req *rq = arg;

	if (pl_strcasecmp(name, "Replaces"))
		return 0;
	if (rq->replaces)
		return EINVAL;   /* two Replaces: which call would we take? */
	return parse_replaces(rq, val);
}

static bool is_sip_scheme(const struct pl *scheme)
{
	return !pl_strcasecmp(scheme, "sip") || !pl_strcasecmp(scheme, "sips");
}

static int parse_refer_to(struct refer_req *rq, const struct pl *val)
{
	struct sip_addr addr;
	int err;

	err = sip_addr_decode(&addr, val);
	if (err || !is_sip_scheme(&addr.uri.scheme))
		return EINVAL;
	err = copy_unescaped(rq->user, sizeof(rq->user), uri_user_unescape,
			     &addr.uri.user);
	err |= copy_pl(rq->host, sizeof(rq->host), &addr.uri.host);
	if (err)
		return EINVAL;
	if (pl_isset(&addr.uri.headers) && uri_headers_apply(&addr.uri.headers, uri_header, rq))
		return EINVAL;
	return 0;
}

/* Referred-By is informational (RFC 3892): a bad one does not fail the REFER. */
static void parse_referred_by(struct refer_req *rq, const struct sip_msg *msg)
{
	const struct sip_hdr *hdr = sip_msg_hdr(msg, SIP_HDR_REFERRED_BY);
	struct sip_addr addr;

	rq->referred_by[0] = '\0';
	if (!hdr || sip_addr_decode(&addr, &hdr->val))
		return;
	(void)copy_unescaped(rq->referred_by, sizeof(rq->referred_by),
			     uri_user_unescape, &addr.uri.user);
}

int refer_parse(const struct sip_msg *msg, struct refer_req *rq)
{
	const struct sip_hdr *hdr;
	int err;

	if (!msg || !rq)
		return EINVAL;
	memset(rq, 0, sizeof(*rq));

	/* RFC 3515 section 2.4.1: exactly one Refer-To. */
	hdr = sip_msg_hdr(msg, SIP_HDR_REFER_TO);
	if (!hdr || sip_msg_hdr_count(msg, SIP_HDR_REFER_TO) != 1)
		return EINVAL;
	err = parse_refer_to(rq, &hdr->val);
	if (err) {
		memset(rq, 0, sizeof(*rq));
		return err;
	}
	parse_referred_by(rq, msg);
	return 0;
}

static void close_h(int err, const struct sip_msg *msg, void *arg)
{
	struct refer *r = arg;

	/* The subscription ended under us: timer ran out, or the referrer
	 * refused a NOTIFY. Later progress has nowhere to go. */
	log_debug("refer: subscription closed (err=%m scode=%u)", err, msg ? msg->scode : 0);
	r->not = mem_deref(r->not);
}

int refer_accept(struct refer **rp, struct sipevent_sock *sock, const struct sip_msg *msg,
		 struct sip_dialog *dlg, const char *cuser)
{
	struct refer *r;
	int err;

	if (!rp || !sock || !msg || !dlg || !cuser)
		return EINVAL;
	r = mem_zalloc(sizeof(*r), destructor);
	if (!r)
		return ENOMEM;

	/* For a REFER, sipevent_accept takes "Event: refer;id=<CSeq>" from msg
	 * itself (RFC 3515 section 2.4.6) and answers it. */
	err = sipevent_accept(&r->not, sock, msg, dlg, NULL, 202, "Accepted",
			      1, REFER_EXPIRES, REFER_EXPIRES, cuser, "message/sipfrag",
			      NULL, NULL, false, close_h, r, NULL);
	if (err) {
		mem_deref(r);
		return err;
	}

	/* RFC 3515 section 2.4.4: the first NOTIFY follows the 202 at once.
	 * The REFER is answered already, so a failure here is not the caller's
	 * to answer: the final NOTIFY may still get through. */
	err = refer_notify(r, 100, "Trying");
	if (err)
		log_warn("refer: first NOTIFY failed (err=%m)", err);

	*rp = r;
	return 0;
}

int refer_notify(struct refer *r, uint16_t scode, const char *reason)
{
	bool final = scode >= 200;
	int err;

	if (!r || scode < 100 || scode > 699 || !reason || strpbrk(reason, "\r\n"))
		return EINVAL;
	if (!r->not)
		return ENOTCONN;

	/* A final NOTIFY carries terminated;reason=noresource (RFC 3515
	 * section 2.4.7); libre keeps the sipnot alive until it is answered. */
	err = sipevent_notifyf(r->not, NULL,
			       final ? SIPEVENT_TERMINATED : SIPEVENT_ACTIVE,
			       SIPEVENT_NORESOURCE, 0, "SIP/2.0 %u %s\r\n", scode, reason);
	if (final)
		r->not = mem_deref(r->not);
	return err;
}
