/* auth: server-side SIP digest authentication (RFC 2617 / RFC 8760, MD5,
 * qop=auth). Nonces are stateless (time + keyed hash), so nothing is stored
 * per challenge; expiry gives stale=true. */
#ifndef TAMAS_SIP_AUTH_H
#define TAMAS_SIP_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <re.h>

struct sipauth;

enum sipauth_result {
	SIPAUTH_OK = 0,      /* credentials valid; user filled in */
	SIPAUTH_CHALLENGE,   /* no credentials for our realm: send 401/407 */
	SIPAUTH_STALE,       /* good password, expired nonce: challenge stale=true */
	SIPAUTH_FORBIDDEN,   /* wrong password or unknown user: 403 */
};

/* Looks up a user's password; returns ENOENT for unknown users. */
typedef int (sipauth_pw_h)(const char *user, char *pw, size_t sz, void *arg);

int sipauth_alloc(struct sipauth **ap, const char *realm, uint32_t nonce_ttl_s,
		  sipauth_pw_h *pwh, void *arg);
/* proxy: check Proxy-Authorization (INVITE) instead of Authorization. */
enum sipauth_result sipauth_check(struct sipauth *a, const struct sip_msg *msg,
				  bool proxy, char *user, size_t usz);
/* Writes the WWW-/Proxy-Authenticate header line (with CRLF) into buf. */
int sipauth_challenge(struct sipauth *a, bool proxy, bool stale, char *buf, size_t sz);
/* Answers msg with 401 (or 407 when proxy) and a fresh challenge. Stateless:
 * a retransmitted request just gets a new challenge, no transaction lingers
 * for 32 s per challenge, and the ACK to a 407 is absorbed as a stray ACK. */
int sipauth_reply_challenge(struct sipauth *a, struct sip *sip, const struct sip_msg *msg,
			    bool proxy, bool stale);
const char *sipauth_realm(const struct sipauth *a);

#endif
