/* SIP digest authentication (RFC 2617, qop=auth) against sipauth. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>
#include <re.h>
#include "sip/auth.h"

static int pw_h(const char *user, char *pw, size_t sz, void *arg)
{
	(void)arg;
	if (strcmp(user, "1001"))
		return ENOENT;
	str_ncpy(pw, "s3cret", sz);
	return 0;
}

static void challenge_nonce(struct sipauth *a, char *nonce, size_t sz)
{
	char buf[512];
	struct pl n;

	assert_int_equal(sipauth_challenge(a, false, false, buf, sizeof(buf)), 0);
	assert_non_null(strstr(buf, "WWW-Authenticate: Digest realm=\"tamas\""));
	assert_non_null(strstr(buf, "qop=\"auth\""));
	assert_int_equal(re_regex(buf, strlen(buf), "nonce=\"[^\"]+\"", &n), 0);
	assert_int_equal(pl_strcpy(&n, nonce, sz), 0);
}

static struct sip_msg *register_msg(const char *user, const char *pw, const char *realm,
				    const char *nonce)
{
	uint8_t ha1[16], ha2[16], resp[16];
	char h1[33], h2[33], r[33], raw[1024];
	struct mbuf *mb;
	struct sip_msg *msg = NULL;

	assert_int_equal(md5_printf(ha1, "%s:%s:%s", user, realm, pw), 0);
	assert_int_equal(md5_printf(ha2, "REGISTER:sip:tamas"), 0);
	(void)re_snprintf(h1, sizeof(h1), "%w", ha1, sizeof(ha1));
	(void)re_snprintf(h2, sizeof(h2), "%w", ha2, sizeof(ha2));
	assert_int_equal(md5_printf(resp, "%s:%s:00000001:abc:auth:%s", h1, nonce, h2), 0);
	(void)re_snprintf(r, sizeof(r), "%w", resp, sizeof(resp));
	(void)re_snprintf(raw, sizeof(raw),
		"REGISTER sip:tamas SIP/2.0\r\n"
		"Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK1\r\n"
		"From: <sip:%s@tamas>;tag=1\r\nTo: <sip:%s@tamas>\r\n"
		"Call-ID: c1\r\nCSeq: 2 REGISTER\r\nContact: <sip:%s@127.0.0.1:5062>\r\n"
		"Authorization: Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", "
		"uri=\"sip:tamas\", response=\"%s\", algorithm=MD5, cnonce=\"abc\", "
		"qop=auth, nc=00000001\r\nContent-Length: 0\r\n\r\n",
		user, user, user, user, realm, nonce, r);
	mb = mbuf_alloc(strlen(raw));
	mbuf_write_str(mb, raw);
	mb->pos = 0;
	assert_int_equal(sip_msg_decode(&msg, mb), 0);
	mem_deref(mb);
	return msg;
}

static struct sipauth *auth_new(void)
{
	struct sipauth *a = NULL;
	assert_int_equal(sipauth_alloc(&a, "tamas", 300, pw_h, NULL), 0);
	return a;
}

static void test_auth_accepts_right_password(void **state)
{
	struct sipauth *a = auth_new();
	char nonce[64], user[32];
	struct sip_msg *msg;
	(void)state;

	challenge_nonce(a, nonce, sizeof(nonce));
	msg = register_msg("1001", "s3cret", "tamas", nonce);
	assert_int_equal(sipauth_check(a, msg, false, user, sizeof(user)), SIPAUTH_OK);
	assert_string_equal(user, "1001");
	mem_deref(msg);
	mem_deref(a);
}

static void test_auth_forbids_wrong_password_and_unknown_user(void **state)
{
	struct sipauth *a = auth_new();
	char nonce[64], user[32];
	struct sip_msg *msg;
	(void)state;

	challenge_nonce(a, nonce, sizeof(nonce));
	msg = register_msg("1001", "wrong", "tamas", nonce);
	assert_int_equal(sipauth_check(a, msg, false, user, sizeof(user)), SIPAUTH_FORBIDDEN);
	mem_deref(msg);
	msg = register_msg("9999", "s3cret", "tamas", nonce);
	assert_int_equal(sipauth_check(a, msg, false, user, sizeof(user)), SIPAUTH_FORBIDDEN);
	mem_deref(msg);
	mem_deref(a);
}

static void test_auth_challenges_foreign_realm_and_forged_nonce(void **state)
{
	struct sipauth *a = auth_new();
	char user[32];
	struct sip_msg *msg;
	(void)state;

	msg = register_msg("1001", "s3cret", "other", "1.abc");
	assert_int_equal(sipauth_check(a, msg, false, user, sizeof(user)), SIPAUTH_CHALLENGE);
	mem_deref(msg);
	/* Right password but a nonce we never issued: a new challenge. */
	msg = register_msg("1001", "s3cret", "tamas", "5f000000.00112233445566778899aabbccddeeff");
	assert_int_equal(sipauth_check(a, msg, false, user, sizeof(user)), SIPAUTH_CHALLENGE);
	mem_deref(msg);
	mem_deref(a);
}

static void test_auth_proxy_header_is_separate(void **state)
{
	struct sipauth *a = auth_new();
	char nonce[64], user[32];
	struct sip_msg *msg;
	(void)state;

	challenge_nonce(a, nonce, sizeof(nonce));
	msg = register_msg("1001", "s3cret", "tamas", nonce);
	/* INVITEs carry Proxy-Authorization; Authorization alone is not enough. */
	assert_int_equal(sipauth_check(a, msg, true, user, sizeof(user)), SIPAUTH_CHALLENGE);
	mem_deref(msg);
	mem_deref(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_auth_accepts_right_password),
		cmocka_unit_test(test_auth_forbids_wrong_password_and_unknown_user),
		cmocka_unit_test(test_auth_challenges_foreign_realm_and_forged_nonce),
		cmocka_unit_test(test_auth_proxy_header_is_separate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
