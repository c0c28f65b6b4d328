/* auth: digest checks with stateless nonces "<hex time>.<hex md5(secret:time)>". */
#include <errno.h>
#include <string.h>
#include <stdio.h>
#include <time.h>
#include "sip/auth.h"

struct sipauth {
	char *realm;
	uint8_t secret[16];
	uint32_t ttl;
	sipauth_pw_h *pwh;
	void *arg;
};

static void destructor(void *arg)
{
	struct sipauth *a = arg;
	mem_deref(a->realm);
}

int sipauth_alloc(struct sipauth **ap, const char *realm, uint32_t ttl,
		  sipauth_pw_h *pwh, void *arg)
{
	struct sipauth *a;
	int err;

	if (!ap || !realm || !pwh)
		return EINVAL;
	a = mem_zalloc(sizeof(*a), destructor);
	if (!a)
		return ENOMEM;
	err = str_dup(&a->realm, realm);
	if (err) {
		mem_deref(a);
		return err;
	}
	rand_bytes(a->secret, sizeof(a->secret));
	a->ttl = ttl ? ttl : 300;
	a->pwh = pwh;
	a->arg = arg;
	*ap = a;
	return 0;
}

const char *sipauth_realm(const struct sipauth *a)
{
	return a ? a->realm : NULL;
}

static void nonce_make(const struct sipauth *a, uint64_t t, char *buf, size_t sz)
{
	uint8_t d[16];

	(void)md5_printf(d, "%w:%llx", a->secret, sizeof(a->secret),
			 (unsigned long long)t);
	(void)re_snprintf(buf, sz, "%llx.%w", (unsigned long long)t, d, sizeof(d));
}

/* 0 valid, ETIMEDOUT expired, EBADMSG not ours. */
static int nonce_verify(const struct sipauth *a, const struct pl *nonce)
{
	char expect[64];
	struct pl ts;
	uint64_t t, now = (uint64_t)time(NULL);

	if (re_regex(nonce->p, nonce->l, "[0-9a-f]+.", &ts))
		return EBADMSG;
	t = pl_x64(&ts);
	nonce_make(a, t, expect, sizeof(expect));
	if (pl_strcmp(nonce, expect))
		return EBADMSG;
	if (t > now + 5 || now - t > a->ttl)
		return ETIMEDOUT;
	return 0;
}

int sipauth_challenge(struct sipauth *a, bool proxy, bool stale, char *buf, size_t sz)
{
	char nonce[64];

	nonce_make(a, (uint64_t)time(NULL), nonce, sizeof(nonce));
	return re_snprintf(buf, sz, "%s: Digest realm=\"%s\", nonce=\"%s\", "
			  "algorithm=MD5, qop=\"auth\"%s\r\n",
			  proxy ? "Proxy-Authenticate" : "WWW-Authenticate",
			  a->realm, nonce, stale ? ", stale=true" : "") < 0 ? ENOMEM : 0;
}

int sipauth_reply_challenge(struct sipauth *a, struct sip *sip, const struct sip_msg *msg,
			    bool proxy, bool stale)
{
	char chal[256];
	int err = sipauth_challenge(a, proxy, stale, chal, sizeof(chal));

	if (err)
		return err;
	return sip_replyf(sip, msg, proxy ? 407 : 401,
			  proxy ? "Proxy Authentication Required" : "Unauthorized",
			  "%sContent-Length: 0\r\n\r\n", chal);
}

struct hdr_match {
	struct sipauth *a;
	struct httpauth_digest_resp resp;
	bool found;
};

static bool hdr_realm_h(const struct sip_hdr *hdr, const struct sip_msg *msg, void *arg)
{
	struct hdr_match *m = arg;
	(void)msg;

	if (httpauth_digest_response_decode(&m->resp, &hdr->val))
		return false;
	if (pl_strcmp(&m->resp.realm, m->a->realm))
		return false;
	m->found = true;
	return true;
}

enum sipauth_result sipauth_check(struct sipauth *a, const struct sip_msg *msg,
				  bool proxy, char *user, size_t usz)
{
	struct hdr_match m = { .a = a };
	char pw[128];
	uint8_t ha1[16];
	int err;

	(void)sip_msg_hdr_apply(msg, true, proxy ? SIP_HDR_PROXY_AUTHORIZATION
				: SIP_HDR_AUTHORIZATION, hdr_realm_h, &m);
	if (!m.found)
		return SIPAUTH_CHALLENGE;
	if (m.resp.username.l == 0 || m.resp.username.l >= usz)
		return SIPAUTH_FORBIDDEN;
	(void)pl_strcpy(&m.resp.username, user, usz);
	if (a->pwh(user, pw, sizeof(pw), a->arg))
		return SIPAUTH_FORBIDDEN;
	if (md5_printf(ha1, "%s:%s:%s", user, a->realm, pw))
		return SIPAUTH_FORBIDDEN;
	memset(pw, 0, sizeof(pw));
	if (httpauth_digest_response_auth(&m.resp, &msg->met, ha1))
		return SIPAUTH_FORBIDDEN;
	err = nonce_verify(a, &m.resp.nonce);
	if (err == ETIMEDOUT)
		return SIPAUTH_STALE;
	if (err)
		return SIPAUTH_CHALLENGE;
	return SIPAUTH_OK;
}
