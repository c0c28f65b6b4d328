/* Unit tests for apiauth: CIDR lists (IPv4, IPv6, mapped), permissions,
 * password hashing, constant-time comparison, the three auth modes against
 * accounts in an in-memory store, and the failed-login brake. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <re.h>
#include "api/apiauth.h"
#include "store/apiuser.h"
#include "store/store.h"

static struct sa addr(const char *ip)
{
	struct sa sa;

	assert_int_equal(sa_set_str(&sa, ip, 40000), 0);
	return sa;
}

static bool in(const char *list, const char *ip)
{
	struct sa sa = addr(ip);

	return apiauth_cidrs_match(list, &sa);
}

static void test_cidr_matches_ipv4_prefixes(void **state)
{
	(void)state;
	assert_true(in("10.0.0.0/8", "10.1.2.3"));
	assert_false(in("10.0.0.0/8", "11.0.0.1"));
	assert_false(in("10.0.0.0/8", "127.0.0.1"));
	assert_true(in("127.0.0.1", "127.0.0.1"));
	assert_false(in("127.0.0.1", "127.0.0.2"));
	assert_true(in("192.168.2.0/23", "192.168.3.255"));
	assert_false(in("192.168.2.0/23", "192.168.4.0"));
	assert_true(in("0.0.0.0/0", "203.0.113.9"));
	assert_false(in("0.0.0.0/0", "::1"));              /* /0 of IPv4 is not IPv6 */
	assert_true(in(" 10.0.0.0/8 , 127.0.0.1 ", "127.0.0.1"));
}

static void test_cidr_matches_ipv6_and_mapped_ipv4(void **state)
{
	(void)state;
	assert_true(in("2001:db8::/32", "2001:db8:1::5"));
	assert_false(in("2001:db8::/32", "2001:db9::1"));
	assert_true(in("::1", "::1"));
	assert_false(in("::1", "::2"));
	assert_true(in("fe80::/10", "febf::1"));
	assert_false(in("fe80::/10", "fec0::1"));
	/* A dual-stack socket shows an IPv4 peer as ::ffff:a.b.c.d. */
	assert_true(in("10.0.0.0/8", "::ffff:10.0.0.1"));
	assert_false(in("10.0.0.0/8", "::ffff:127.0.0.1"));
}

static void test_cidr_empty_list_matches_all(void **state)
{
	(void)state;
	assert_true(in("", "127.0.0.1"));
	assert_true(in(NULL, "::1"));
	assert_true(in(" , ", "10.0.0.1"));
}

static void test_cidrs_valid_names_the_bad_item(void **state)
{
	static const char *const bad[] = {
		"10.0.0.0/33", "abc", "1.2.3.4/", "::/129", "1.2.3.4/-1", "1.2.3.4/8x",
		"10.0.0.0/8,300.1.1.1",
	};
	char why[128];
	(void)state;

	assert_int_equal(apiauth_cidrs_valid("10.0.0.0/8, ::1, 2001:db8::/48,127.0.0.1", why,
					     sizeof(why)), 0);
	assert_int_equal(apiauth_cidrs_valid("", why, sizeof(why)), 0);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		why[0] = '\0';
		assert_int_equal(apiauth_cidrs_valid(bad[i], why, sizeof(why)), EINVAL);
		assert_non_null(strstr(why, "not an address or CIDR"));
	}
	assert_int_equal(apiauth_cidrs_valid("10.0.0.0/8,300.1.1.1", why, sizeof(why)), EINVAL);
	assert_non_null(strstr(why, "'300.1.1.1'"));
}

static void test_perms_names_prefixes_and_star(void **state)
{
	(void)state;
	assert_true(apiauth_perms_allow("*", "pbx/users/add"));
	assert_true(apiauth_perms_allow("pbx/users/add", "pbx/users/add"));
	assert_true(apiauth_perms_allow("/pbx/users/add", "pbx/users/add"));
	assert_true(apiauth_perms_allow("setting/ping/act, /pbx/users/search",
					"pbx/users/search"));
	assert_false(apiauth_perms_allow("pbx/users/add", "pbx/users/remove"));
	assert_false(apiauth_perms_allow("pbx/users", "pbx/users/add"));
	assert_true(apiauth_perms_allow("pbx/*", "pbx/users/add"));
	assert_false(apiauth_perms_allow("pbx/*", "pbxx/users/add"));
	assert_false(apiauth_perms_allow("pbx/*", "setting/ping/act"));
	assert_false(apiauth_perms_allow("", "setting/ping/act"));
	assert_false(apiauth_perms_allow(NULL, "setting/ping/act"));
}

static void test_mode_parse(void **state)
{
	enum apiauth_mode m;
	(void)state;

	assert_int_equal(apiauth_mode_parse("basic", &m), 0);
	assert_int_equal(m, APIAUTH_BASIC);
	assert_int_equal(apiauth_mode_parse("token", &m), 0);
	assert_int_equal(m, APIAUTH_TOKEN);
	assert_int_equal(apiauth_mode_parse("both", &m), 0);
	assert_int_equal(m, APIAUTH_BOTH);
	assert_int_equal(apiauth_mode_parse("Basic", &m), EINVAL);
	assert_int_equal(apiauth_mode_parse("", &m), EINVAL);
}

static void test_hash_round_trip_with_fresh_salt(void **state)
{
	char h1[128], h2[128];
	(void)state;

	assert_int_equal(apiauth_hash("correct horse", h1, sizeof(h1)), 0);
	assert_int_equal(apiauth_hash("correct horse", h2, sizeof(h2)), 0);
	assert_memory_equal(h1, "$6$", 3);
	assert_null(strstr(h1, "correct"));
	assert_string_not_equal(h1, h2);                  /* salted */
	assert_true(apiauth_verify("correct horse", h1));
	assert_true(apiauth_verify("correct horse", h2));
	assert_false(apiauth_verify("correct horsE", h1));
	assert_false(apiauth_verify("", h1));
	assert_false(apiauth_verify("correct horse", ""));
	assert_false(apiauth_verify("correct horse", "correct horse"));  /* not a hash */
	assert_int_equal(apiauth_hash("x", h1, 10), ENOBUFS);
}

static void test_equal_compares_whole_strings(void **state)
{
	(void)state;
	assert_true(apiauth_equal("abcdef", "abcdef"));
	assert_true(apiauth_equal("", ""));
	assert_false(apiauth_equal("abcdeg", "abcdef"));
	assert_false(apiauth_equal("abc", "abcdef"));      /* prefix */
	assert_false(apiauth_equal("abcdefg", "abcdef"));  /* longer */
	assert_false(apiauth_equal("", "abcdef"));
	assert_false(apiauth_equal("abcdef", ""));
	assert_false(apiauth_equal("abcabc", "abc"));      /* cyclic read of a is no match */
	assert_false(apiauth_equal(NULL, "abc"));
}

/* --- apiauth_check against stored accounts --------------------------------- */

struct fix {
	struct store *st;
	struct apiauth *a;
	struct sa local;
	char hdr[256];
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct apiauth_conf cf = { .fail_limit = 0 };
	char err[128];

	if (!f || store_open(&f->st, ":memory:", err, sizeof(err)))
		return -1;
	if (apiauth_alloc(&f->a, f->st, &cf))
		return -1;
	f->local = addr("127.0.0.1");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	mem_deref(f->a);
	store_close(f->st);
	free(f);
	return 0;
}

static const char *basic(struct fix *f, const char *user, const char *pw)
{
	char raw[128];
	size_t olen;

	(void)re_snprintf(raw, sizeof(raw), "%s:%s", user, pw);
	strcpy(f->hdr, "Basic ");
	olen = sizeof(f->hdr) - 7;
	assert_int_equal(base64_encode((uint8_t *)raw, strlen(raw), f->hdr + 6, &olen), 0);
	f->hdr[6 + olen] = '\0';
	return f->hdr;
}

static void add(struct fix *f, const char *name, const char *mode, const char *pw,
		const char *key, const char *ips, const char *perms)
{
	struct apiauth_account acc = { .name = name, .mode = mode, .password = pw,
				       .apikey = key, .allow_ips = ips, .perms = perms };
	char why[256];
	int err = apiauth_account_add(f->st, &acc, why, sizeof(why));

	if (err)
		fail_msg("apiauth_account_add %s: %d %s", name, err, why);
}

#define KEY_A "AAAAAAAAAAAAAAAAAAAAAAAA"
#define KEY_B "BBBBBBBBBBBBBBBBBBBBBBBB"

static enum apiauth_result chk(struct fix *f, const struct sa *from, const char *authz,
			       const char *key, const char *perm, char *user)
{
	char u[64];

	return apiauth_check(f->a, from, authz, key, perm, user ? user : u, 64);
}

static void test_check_basic_mode(void **state)
{
	struct fix *f = *state;
	char user[64];

	add(f, "alice", "basic", "alice-pass", NULL, NULL, NULL);
	assert_int_equal(chk(f, &f->local, basic(f, "alice", "alice-pass"), NULL,
			     "pbx/users/add", user), APIAUTH_OK);
	assert_string_equal(user, "alice");
	assert_int_equal(chk(f, &f->local, basic(f, "alice", "wrong-pass"), NULL, "x", NULL),
			 APIAUTH_INVALID);
	assert_int_equal(chk(f, &f->local, basic(f, "nobody", "alice-pass"), NULL, "x", NULL),
			 APIAUTH_INVALID);
	assert_int_equal(chk(f, &f->local, NULL, NULL, "x", NULL), APIAUTH_MISSING);
	assert_int_equal(chk(f, &f->local, "", "", "x", NULL), APIAUTH_MISSING);
	assert_int_equal(chk(f, &f->local, "Basic !!!notbase64", NULL, "x", NULL),
			 APIAUTH_INVALID);
	assert_int_equal(chk(f, &f->local, "Bearer abc", NULL, "x", NULL), APIAUTH_INVALID);
	/* An X-APIKEY alone does not open a basic account. */
	assert_int_equal(chk(f, &f->local, NULL, KEY_A, "x", NULL), APIAUTH_INVALID);
}

static void test_check_basic_cache_follows_password_changes(void **state)
{
	struct fix *f = *state;

	add(f, "bob", "basic", "bob-pass-1", NULL, NULL, NULL);
	/* the second check is answered from the cache, the same way */
	for (int i = 0; i < 2; i++)
		assert_int_equal(chk(f, &f->local, basic(f, "bob", "bob-pass-1"), NULL, "x", NULL),
				 APIAUTH_OK);
	assert_int_equal(chk(f, &f->local, basic(f, "bob", "bob-pass-2"), NULL, "x", NULL),
			 APIAUTH_INVALID);
	/* a new password (a new stored hash) is not served by the old entry */
	assert_int_equal(apiuser_del(f->st, "bob"), 0);
	add(f, "bob", "basic", "bob-pass-2", NULL, NULL, NULL);
	assert_int_equal(chk(f, &f->local, basic(f, "bob", "bob-pass-1"), NULL, "x", NULL),
			 APIAUTH_INVALID);
	assert_int_equal(chk(f, &f->local, basic(f, "bob", "bob-pass-2"), NULL, "x", NULL),
			 APIAUTH_OK);
}

static void test_check_token_mode(void **state)
{
	struct fix *f = *state;
	char user[64];

	add(f, "bot", "token", NULL, KEY_A, NULL, NULL);
	add(f, "other", "token", NULL, KEY_B, NULL, NULL);
	assert_int_equal(chk(f, &f->local, NULL, KEY_A, "x", user), APIAUTH_OK);
	assert_string_equal(user, "bot");
	assert_int_equal(chk(f, &f->local, NULL, KEY_B, "x", user), APIAUTH_OK);
	assert_string_equal(user, "other");
	assert_int_equal(chk(f, &f->local, "Bearer something", KEY_A, "x", user), APIAUTH_OK);
	assert_string_equal(user, "bot");
	assert_int_equal(chk(f, &f->local, NULL, KEY_A "x", "x", NULL), APIAUTH_INVALID);
	assert_int_equal(chk(f, &f->local, NULL, "AAAA", "x", NULL), APIAUTH_INVALID);
	/* Basic naming a token account still needs that account's key. */
	assert_int_equal(chk(f, &f->local, basic(f, "bot", "whatever1"), NULL, "x", NULL),
			 APIAUTH_INVALID);
	assert_int_equal(chk(f, &f->local, basic(f, "bot", "whatever1"), KEY_B, "x", NULL),
			 APIAUTH_INVALID);
}

static void test_check_both_mode_needs_both(void **state)
{
	struct fix *f = *state;

	add(f, "strict", "both", "strict-pass", KEY_A, NULL, NULL);
	assert_int_equal(chk(f, &f->local, basic(f, "strict", "strict-pass"), KEY_A, "x", NULL),
			 APIAUTH_OK);
	assert_int_equal(chk(f, &f->local, basic(f, "strict", "strict-pass"), NULL, "x", NULL),
			 APIAUTH_INVALID);
	assert_int_equal(chk(f, &f->local, NULL, KEY_A, "x", NULL), APIAUTH_INVALID);
	assert_int_equal(chk(f, &f->local, basic(f, "strict", "strict-pass"), KEY_B, "x", NULL),
			 APIAUTH_INVALID);
	assert_int_equal(chk(f, &f->local, basic(f, "strict", "wrong-pass"), KEY_A, "x", NULL),
			 APIAUTH_INVALID);
}

static void test_check_address_and_permission(void **state)
{
	struct fix *f = *state;
	struct sa ten = addr("10.9.8.7"), v6 = addr("2001:db8::7");
	char user[64];

	add(f, "lan", "basic", "lan-pass1", NULL, "10.0.0.0/8,2001:db8::/32",
	    "setting/ping/act");
	assert_int_equal(chk(f, &f->local, basic(f, "lan", "lan-pass1"), NULL,
			     "setting/ping/act", NULL), APIAUTH_IP_DENIED);
	assert_int_equal(chk(f, &ten, basic(f, "lan", "lan-pass1"), NULL, "setting/ping/act",
			     NULL), APIAUTH_OK);
	assert_int_equal(chk(f, &v6, basic(f, "lan", "lan-pass1"), NULL, "setting/ping/act",
			     NULL), APIAUTH_OK);
	assert_int_equal(chk(f, &ten, basic(f, "lan", "lan-pass1"), NULL, "pbx/users/add",
			     user), APIAUTH_PERM_DENIED);
	assert_string_equal(user, "lan");
}

static void test_check_global_allow_list_comes_first(void **state)
{
	struct fix *f = *state;
	struct apiauth_conf cf = { .allow_ips = "192.168.0.0/16" };
	struct apiauth *a;
	char user[64];

	add(f, "alice", "basic", "alice-pass", NULL, NULL, NULL);
	assert_int_equal(apiauth_alloc(&a, f->st, &cf), 0);
	assert_int_equal(apiauth_check(a, &f->local, basic(f, "alice", "alice-pass"), NULL,
				       "x", user, sizeof(user)), APIAUTH_IP_DENIED);
	assert_int_equal(apiauth_check(a, &f->local, NULL, NULL, "x", user, sizeof(user)),
			 APIAUTH_IP_DENIED);
	mem_deref(a);
	cf.allow_ips = "nonsense";
	assert_int_equal(apiauth_alloc(&a, f->st, &cf), EINVAL);
}

static void test_check_blocks_an_address_after_failures(void **state)
{
	struct fix *f = *state;
	struct apiauth_conf cf = { .fail_limit = 3, .fail_window_ms = 60000, .block_ms = 100 };
	struct sa other = addr("127.0.0.2"), v6a = addr("2001:db8::1"), v6b = addr("2001:db8::2");
	struct apiauth *a;
	char user[64];
	int i;

	add(f, "alice", "basic", "alice-pass", NULL, NULL, NULL);
	assert_int_equal(apiauth_alloc(&a, f->st, &cf), 0);
	for (i = 0; i < 2; i++)
		assert_int_equal(apiauth_check(a, &f->local, basic(f, "alice", "nope-nope"), NULL,
					       "x", user, sizeof(user)), APIAUTH_INVALID);
	/* Below the limit the right password still works. */
	assert_int_equal(apiauth_check(a, &f->local, basic(f, "alice", "alice-pass"), NULL,
				       "x", user, sizeof(user)), APIAUTH_OK);
	assert_int_equal(apiauth_check(a, &f->local, basic(f, "alice", "nope-nope"), NULL,
				       "x", user, sizeof(user)), APIAUTH_INVALID);
	/* Third failure: blocked, even with the right password. */
	assert_int_equal(apiauth_check(a, &f->local, basic(f, "alice", "alice-pass"), NULL,
				       "x", user, sizeof(user)), APIAUTH_BLOCKED);
	assert_int_equal(apiauth_check(a, &other, basic(f, "alice", "alice-pass"), NULL,
				       "x", user, sizeof(user)), APIAUTH_OK);
	/* An IPv6 /64 counts as one address. */
	for (i = 0; i < 3; i++)
		(void)apiauth_check(a, i % 2 ? &v6a : &v6b, basic(f, "alice", "nope-nope"), NULL,
				    "x", user, sizeof(user));
	assert_int_equal(apiauth_check(a, &v6a, basic(f, "alice", "alice-pass"), NULL,
				       "x", user, sizeof(user)), APIAUTH_BLOCKED);
	/* The block ends (sleeping well past its 100 ms). */
	usleep(300 * 1000);
	assert_int_equal(apiauth_check(a, &f->local, basic(f, "alice", "alice-pass"), NULL,
				       "x", user, sizeof(user)), APIAUTH_OK);
	mem_deref(a);
}

static void test_account_add_validates_and_stores_nothing_on_error(void **state)
{
	struct fix *f = *state;
	struct apiauth_account bad[] = {
		{ .name = "bad name", .mode = "basic", .password = "long-enough" },
		{ .name = "a:b", .mode = "basic", .password = "long-enough" },
		{ .name = "x", .mode = "digest", .password = "long-enough" },
		{ .name = "x", .mode = "basic" },
		{ .name = "x", .mode = "basic", .password = "short" },
		{ .name = "x", .mode = "token" },
		{ .name = "x", .mode = "token", .apikey = "tooshort" },
		{ .name = "x", .mode = "token", .apikey = "has a blank in it here" },
		{ .name = "x", .mode = "both", .password = "long-enough" },
		{ .name = "x", .mode = "basic", .password = "long-enough", .allow_ips = "10.0.0.0/99" },
		{ .name = "x", .mode = "basic", .password = "long-enough", .perms = "pbx/us*rs" },
		{ .name = "x", .mode = "basic", .password = "long-enough", .perms = "a b" },
	};
	struct apiauth_account dupkey = { .name = "y", .mode = "token", .apikey = KEY_A };
	struct apiauth_account dupname = { .name = "alice", .mode = "basic",
					   .password = "long-enough" };
	struct apiuser u;
	char why[256];

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		why[0] = '\0';
		assert_int_equal(apiauth_account_add(f->st, &bad[i], why, sizeof(why)), EINVAL);
		assert_true(strlen(why) > 0);
	}
	assert_int_equal(apiuser_get(f->st, "x", &u), ENOENT);

	add(f, "alice", "basic", "alice-pass", KEY_A, " 10.0.0.0/8 , ::1 ", "pbx/*, /setting/ping/act");
	assert_int_equal(apiuser_get(f->st, "alice", &u), 0);
	assert_string_equal(u.allow_ips, "10.0.0.0/8,::1");
	assert_string_equal(u.perms, "pbx/*,/setting/ping/act");
	assert_memory_equal(u.pass_hash, "$6$", 3);
	assert_int_equal(apiauth_account_add(f->st, &dupkey, why, sizeof(why)), EEXIST);
	assert_non_null(strstr(why, "key"));
	assert_int_equal(apiauth_account_add(f->st, &dupname, why, sizeof(why)), EEXIST);
	assert_int_equal(apiuser_get(f->st, "y", &u), ENOENT);
	/* Defaults: every permission, any address. */
	add(f, "bob", "basic", "bob-password", NULL, NULL, NULL);
	assert_int_equal(apiuser_get(f->st, "bob", &u), 0);
	assert_string_equal(u.perms, "*");
	assert_string_equal(u.allow_ips, "");
	assert_int_equal(apiuser_del(f->st, "bob"), 0);
	assert_int_equal(apiuser_del(f->st, "bob"), ENOENT);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cidr_matches_ipv4_prefixes),
		cmocka_unit_test(test_cidr_matches_ipv6_and_mapped_ipv4),
		cmocka_unit_test(test_cidr_empty_list_matches_all),
		cmocka_unit_test(test_cidrs_valid_names_the_bad_item),
		cmocka_unit_test(test_perms_names_prefixes_and_star),
		cmocka_unit_test(test_mode_parse),
		cmocka_unit_test(test_hash_round_trip_with_fresh_salt),
		cmocka_unit_test(test_equal_compares_whole_strings),
		T(test_check_basic_mode),
		T(test_check_basic_cache_follows_password_changes),
		T(test_check_token_mode),
		T(test_check_both_mode_needs_both),
		T(test_check_address_and_permission),
		T(test_check_global_allow_list_comes_first),
		T(test_check_blocks_an_address_after_failures),
		T(test_account_add_validates_and_stores_nothing_on_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
