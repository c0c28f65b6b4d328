/* refer: SIP REFER (RFC 3515) on an established dialog: parse Refer-To
 * (with an embedded Replaces, RFC 3891) and Referred-By, accept with 202
 * and report the transfer's progress with NOTIFY message/sipfrag
 * (RFC 3420). Not for deciding what the transfer does (pbx side). */
#ifndef TAMAS_REFER_H
#define TAMAS_REFER_H

#include <stdbool.h>
#include <stdint.h>
#include <re.h>

struct refer;
struct sipevent_sock;
struct refer_req {
	char user[64];        /* Refer-To URI user part (the target number) */
	char host[128];       /* Refer-To URI host (without port) */
	bool replaces;        /* Refer-To carried ?Replaces=... */
	char callid[256], to_tag[128], from_tag[128];   /* of the Replaces */
	char referred_by[128];                        /* user part, "" if none */
};
/* EINVAL: no or unparsable Refer-To (caller answers 400). Handles
 * <sip:1003@host;transport=udp?Replaces=abc%40h%3Bto-tag%3D1%3Bfrom-tag%3D2>
 * (URI-escaped Replaces value, header params order free). */
int refer_parse(const struct sip_msg *msg, struct refer_req *rq);
/* Accepts the REFER: 202 Accepted and an implicit subscription (Event:
 * refer) on the dialog dlg, then NOTIFY "SIP/2.0 100 Trying" at once.
 * mem object; freeing it ends the subscription quietly. */
int refer_accept(struct refer **rp, struct sipevent_sock *sock, const struct sip_msg *msg,
		 struct sip_dialog *dlg, const char *cuser);
/* NOTIFY with sipfrag "SIP/2.0 <scode> <reason>"; a final scode (>= 200)
 * also ends the subscription (Subscription-State: terminated;reason=noresource). */
int refer_notify(struct refer *r, uint16_t scode, const char *reason);

#endif
