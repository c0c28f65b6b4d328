/* apiauth: REST API credentials, networks, permissions and the failed-login
 * brake. Accounts live in the store (apiuser); nothing is cached, so a
 * `tamasctl apiuser del` takes effect on the next request. */
#include <crypt.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <re.h>
#include "api/apiauth.h"
#include "core/log.h"
#include "store/apiuser.h"

enum {
	FAILS_MAX = 4096,         /* addresses tracked; the least recently seen goes first */
	NAME_MAX_LEN = 63,
	PASSWORD_MIN = 8,
	PASSWORD_MAX = 255,
	KEY_MIN = 16,
	KEY_MAX = 127,
};

struct apiauth {
	struct store *st;
	char *allow_ips;
	struct apiauth_conf cf;
	struct hash *fails;
	struct list lru;          /* struct failrec, least recently touched first */
	unsigned nfails;
	char dummy_hash[128];     /* verified against for unknown names: same cost */
	unsigned log_last, log_supp;
	/* Passwords that passed crypt lately, as HMACs under a key of this
	 * process: SHA-512 crypt costs milliseconds per request on the loop
	 * (40 % of tamasd's CPU at 100 originates/s), an HMAC microseconds. */
	uint8_t cache_key[32];
	struct pwcache {
		char hash[128];          /* the account's stored hash: its password version */
		uint8_t mac[20];
		uint64_t until;          /* tmr_jiffies() ms */
	} cache[32];
	unsigned cache_next;
};

#define PWCACHE_TTL_MS 60000

/* Failed logins of one address (an IPv6 /64). */
struct failrec {
	struct le he, le;
	struct sa addr;
	uint64_t window_start;
	uint64_t blocked_until;
	uint32_t count;
};

static void destructor(void *arg)
{
	struct apiauth *a = arg;

	hash_flush(a->fails);     /* frees the records; their le is unlinked with them */
	a->fails = mem_deref(a->fails);
	a->allow_ips = mem_deref(a->allow_ips);
}

static void failrec_destructor(void *arg)
{
	struct failrec *r = arg;

	list_unlink(&r->he);
	list_unlink(&r->le);
}

int apiauth_alloc(struct apiauth **ap, struct store *st, const struct apiauth_conf *cf)
{
	struct apiauth *a;
	int err;

	if (!ap || !st || !cf)
		return EINVAL;
	if (cf->allow_ips && apiauth_cidrs_valid(cf->allow_ips, NULL, 0))
		return EINVAL;
	a = mem_zalloc(sizeof(*a), destructor);
	if (!a)
		return ENOMEM;
	a->st = st;
	a->cf = *cf;
	err = str_dup(&a->allow_ips, cf->allow_ips ? cf->allow_ips : "");
	rand_bytes(a->cache_key, sizeof(a->cache_key));
	if (!err)
		err = hash_alloc(&a->fails, 256);
	if (!err)
		err = apiauth_hash("no account has this password", a->dummy_hash,
				   sizeof(a->dummy_hash));
	if (err) {
		mem_deref(a);
		return err;
	}
	a->cf.allow_ips = NULL;
	*ap = a;
	return 0;
}

/* --- pieces ---------------------------------------------------------------- */

int apiauth_mode_parse(const char *s, enum apiauth_mode *mode)
{
	enum apiauth_mode m;

	if (!s)
		return EINVAL;
	if (!strcmp(s, "basic"))
		m = APIAUTH_BASIC;
	else if (!strcmp(s, "token"))
		m = APIAUTH_TOKEN;
	else if (!strcmp(s, "both"))
		m = APIAUTH_BOTH;
	else
		return EINVAL;
	if (mode)
		*mode = m;
	return 0;
}

/* The next comma-separated item of *p, without surrounding blanks, into buf.
 * Returns false at the end of the list. */
static bool list_next(const char **p, char *buf, size_t sz, bool *toolong)
{
	const char *s = *p, *e;
	size_t n;

	while (*s == ' ' || *s == '\t' || *s == ',')
		s++;
	if (!*s)
		return false;
	e = s + strcspn(s, ",");
	*p = e;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	n = (size_t)(e - s);
	*toolong = n >= sz;
	if (n >= sz)
		n = sz - 1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return true;
}

/* IPv4-mapped IPv6 (a dual-stack socket's view of an IPv4 peer) as IPv4. */
static void addr_plain(struct sa *out, const struct sa *in)
{
	uint8_t b[16];

	*out = *in;
	if (sa_af(in) != AF_INET6)
		return;
	sa_in6(in, b);
	if (!memcmp(b, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12))
		sa_set_in(out, (uint32_t)b[12] << 24 | (uint32_t)b[13] << 16
			  | (uint32_t)b[14] << 8 | b[15], sa_port(in));
}

/* Address bytes in network order: 4 or 16. */
static size_t addr_bytes(const struct sa *sa, uint8_t b[16])
{
	if (sa_af(sa) == AF_INET) {
		uint32_t v = sa_in(sa);

		b[0] = (uint8_t)(v >> 24), b[1] = (uint8_t)(v >> 16);
		b[2] = (uint8_t)(v >> 8), b[3] = (uint8_t)v;
		return 4;
	}
	sa_in6(sa, b);
	return 16;
}

struct cidr {
	uint8_t net[16];
	size_t len;               /* 4 or 16 */
	unsigned bits;
};

static int cidr_parse(const char *s, struct cidr *c)
{
	char addr[64];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	struct sa sa;
	char *end;

	if (!n || n >= sizeof(addr))
		return EINVAL;
	memcpy(addr, s, n);
	addr[n] = '\0';
	if (sa_set_str(&sa, addr, 0))
		return EINVAL;
	c->len = addr_bytes(&sa, c->net);
	c->bits = (unsigned)c->len * 8;
	if (slash) {
		unsigned long v;

		if (!isdigit((unsigned char)slash[1]))
			return EINVAL;
		errno = 0;
		v = strtoul(slash + 1, &end, 10);
		if (errno || *end || v > c->len * 8)
			return EINVAL;
		c->bits = (unsigned)v;
	}
	return 0;
}

static bool cidr_contains(const struct cidr *c, const uint8_t *b, size_t len)
{
	unsigned full = c->bits / 8, rest = c->bits % 8;

	if (len != c->len || memcmp(c->net, b, full))
		return false;
	if (!rest)
		return true;
	return ((c->net[full] ^ b[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

int apiauth_cidrs_valid(const char *list, char *why, size_t whysz)
{
	const char *p = list ? list : "";
	struct cidr c;
	char item[80];
	bool toolong;

	while (list_next(&p, item, sizeof(item), &toolong)) {
		if (toolong || cidr_parse(item, &c)) {
			if (why && whysz)
				(void)re_snprintf(why, whysz, "not an address or CIDR: '%s'", item);
			return EINVAL;
		}
	}
	return 0;
}

bool apiauth_cidrs_match(const char *list, const struct sa *addr)
{
	const char *p = list ? list : "";
	uint8_t b[16];
	struct cidr c;
	struct sa plain;
	char item[80];
	bool toolong, any = false;
	size_t len;

	if (!addr)
		return false;
	addr_plain(&plain, addr);
	len = addr_bytes(&plain, b);
	while (list_next(&p, item, sizeof(item), &toolong)) {
		any = true;
		if (!toolong && !cidr_parse(item, &c) && cidr_contains(&c, b, len))
			return true;
	}
	return !any;
}

static const char *perm_plain(const char *s)
{
	return *s == '/' ? s + 1 : s;
}

bool apiauth_perms_allow(const char *perms, const char *perm)
{
	const char *p = perms ? perms : "", *want;
	char item[128];
	bool toolong;

	if (!perm)
		return false;
	want = perm_plain(perm);
	while (list_next(&p, item, sizeof(item), &toolong)) {
		const char *it = perm_plain(item);
		size_t n = strlen(it);

		if (toolong)
			continue;
		if (!strcmp(it, "*") || !strcmp(it, want))
			return true;
		/* "pbx/" + "*": everything under pbx/ */
		if (n >= 2 && !strcmp(it + n - 2, "/*") && !strncmp(it, want, n - 1))
			return true;
	}
	return false;
}

bool apiauth_equal(const char *a, const char *b)
{
	size_t la, lb, i;
	volatile unsigned char d;

	if (!a || !b)
		return false;
	la = strlen(a);
	lb = strlen(b);
	d = la != lb;
	/* Every byte of b is visited whatever a holds; a is read cyclically
	 * (a[0] is '\0' when a is empty) so its length shows only in d. */
	for (i = 0; i < lb; i++)
		d |= (unsigned char)(a[la ? i % la : 0] ^ b[i]);
	return d == 0;
}

int apiauth_hash(const char *password, char *out, size_t sz)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd;
	const char *h;
	int err = 0;

	if (!password || !out || !sz)
		return EINVAL;
	/* NULL random bytes: libxcrypt takes them from the OS (getentropy). */
	if (!crypt_gensalt_rn("$6$", 0, NULL, 0, salt, sizeof(salt)))
		return errno ? errno : EIO;
	cd = calloc(1, sizeof(*cd));
	if (!cd)
		return ENOMEM;
	h = crypt_rn(password, salt, cd, sizeof(*cd));
	if (!h || h[0] == '*')
		err = EIO;
	else if (strlen(h) >= sz)
		err = ENOBUFS;
	else
		strcpy(out, h);
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return err;
}

bool apiauth_verify(const char *password, const char *hash)
{
	struct crypt_data *cd;
	const char *h;
	bool ok = false;

	if (!password || !hash || strncmp(hash, "$6$", 3))
		return false;
	cd = calloc(1, sizeof(*cd));
	if (!cd)
		return false;
	h = crypt_rn(password, hash, cd, sizeof(*cd));
	if (h && h[0] != '*')
		ok = apiauth_equal(h, hash);
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return ok;
}

/* apiauth_verify with the cache in front: a hit needs the same password
 * for the same stored hash within PWCACHE_TTL_MS of a full check. */
static bool verify_cached(struct apiauth *a, const char *pw, const char *hash)
{
	uint8_t mac[20];
	uint64_t now = tmr_jiffies();
	struct pwcache *e;

	hmac_sha1(a->cache_key, sizeof(a->cache_key), (const uint8_t *)pw, strlen(pw), mac,
		  sizeof(mac));
	for (size_t i = 0; i < ARRAY_SIZE(a->cache); i++) {
		e = &a->cache[i];
		if (e->until > now && !strcmp(e->hash, hash) && !memcmp(e->mac, mac, sizeof(mac)))
			return true;
	}
	if (!apiauth_verify(pw, hash))
		return false;
	e = &a->cache[a->cache_next++ % ARRAY_SIZE(a->cache)];
	str_ncpy(e->hash, hash, sizeof(e->hash));
	memcpy(e->mac, mac, sizeof(mac));
	e->until = now + PWCACHE_TTL_MS;
	return true;
}

/* --- failed-login brake ------------------------------------------------------- */

/* The key a peer's failures are counted under: its address, or for IPv6
 * its /64, since one host commonly owns a whole /64. */
static void fail_key(struct sa *key, const struct sa *peer)
{
	uint8_t b[16];

	addr_plain(key, peer);
	if (sa_af(key) == AF_INET6) {
		sa_in6(key, b);
		memset(b + 8, 0, 8);
		sa_set_in6(key, b, 0);
	}
	else {
		sa_set_port(key, 0);
	}
}

static bool failrec_cmp(struct le *le, void *arg)
{
	struct failrec *r = le->data;

	return sa_cmp(&r->addr, arg, SA_ADDR);
}

static struct failrec *fail_find(struct apiauth *a, const struct sa *key)
{
	struct le *le = hash_lookup(a->fails, sa_hash(key, SA_ADDR), failrec_cmp, (void *)key);
	struct failrec *r;

	if (!le)
		return NULL;
	r = le->data;
	list_unlink(&r->le);                 /* most recently seen goes last */
	list_append(&a->lru, &r->le, r);
	return r;
}

static bool fail_blocked(struct apiauth *a, const struct sa *peer)
{
	struct failrec *r;
	struct sa key;

	if (!a->cf.fail_limit)
		return false;
	fail_key(&key, peer);
	r = fail_find(a, &key);
	return r && r->blocked_until > tmr_jiffies();
}

static void fail_note(struct apiauth *a, const struct sa *peer, const char *user,
		      const char *why)
{
	uint64_t now = tmr_jiffies();
	struct failrec *r;
	struct sa key;

	log_ratelimited(&a->log_last, &a->log_supp, "apiauth: login refused (ip=%j user=%s "
			"reason=%s)", peer, user && *user ? user : "-", why);
	if (!a->cf.fail_limit)
		return;
	fail_key(&key, peer);
	r = fail_find(a, &key);
	if (!r) {
		if (a->nfails >= FAILS_MAX) {
			mem_deref(list_head(&a->lru)->data);
			a->nfails--;
		}
		r = mem_zalloc(sizeof(*r), failrec_destructor);
		if (!r)
			return;
		r->addr = key;
		r->window_start = now;
		hash_append(a->fails, sa_hash(&key, SA_ADDR), &r->he, r);
		list_append(&a->lru, &r->le, r);
		a->nfails++;
	}
	if (now - r->window_start > a->cf.fail_window_ms) {
		r->window_start = now;
		r->count = 0;
	}
	if (++r->count < a->cf.fail_limit)
		return;
	r->blocked_until = now + a->cf.block_ms;
	r->count = 0;
	r->window_start = now + a->cf.block_ms;
	/* Once per block, so an attacker cannot flood the log through it. */
	log_warn("apiauth: too many failed logins, refusing address for %u s (ip=%j "
		 "failures=%u window_s=%u)", a->cf.block_ms / 1000, peer, a->cf.fail_limit,
		 a->cf.fail_window_ms / 1000);
}

/* --- checking a request ------------------------------------------------------ */

/* "Basic base64(name:password)" into name and password. */
static int basic_parse(const char *hdr, char *name, size_t namesz, char *pw, size_t pwsz)
{
	uint8_t buf[512];
	size_t olen = sizeof(buf) - 1, n;
	const char *b64, *colon;
	int err;

	if (strncasecmp(hdr, "Basic ", 6))
		return EINVAL;
	for (b64 = hdr + 6; *b64 == ' '; b64++)
		;
	n = strlen(b64);
	while (n && b64[n - 1] == ' ')
		n--;
	if (!n || n > 4 * ((sizeof(buf) - 1) / 3))
		return EINVAL;
	err = base64_decode(b64, n, buf, &olen);
	if (err)
		return EINVAL;
	buf[olen] = '\0';
	if (strlen((char *)buf) != olen)          /* a NUL inside */
		return EINVAL;
	colon = strchr((char *)buf, ':');
	if (!colon || colon == (char *)buf)
		return EINVAL;
	n = (size_t)(colon - (char *)buf);
	if (n >= namesz || strlen(colon + 1) >= pwsz)
		return EINVAL;
	memcpy(name, buf, n);
	name[n] = '\0';
	strcpy(pw, colon + 1);
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

struct keyfind {
	const char *key;
	struct apiuser *out;
	bool found;
};

static int keyfind_h(const struct apiuser *u, void *arg)
{
	struct keyfind *k = arg;

	/* All accounts are compared, so the time taken does not tell which matched. */
	if (u->apikey[0] && apiauth_equal(k->key, u->apikey) && !k->found) {
		*k->out = *u;
		k->found = true;
	}
	return 0;
}

enum apiauth_result apiauth_check(struct apiauth *a, const struct sa *peer,
				  const char *authorization, const char *apikey,
				  const char *perm, char *user, size_t usersz)
{
	struct apiuser *u = NULL;
	enum apiauth_result res;
	enum apiauth_mode mode;
	char name[NAME_MAX_LEN + 1] = "", pw[PASSWORD_MAX + 1] = "";
	bool has_key = apikey && *apikey;
	/* Another scheme (Bearer, Digest) is ignored next to a key, and is
	 * wrong credentials without one. */
	bool has_basic = authorization && *authorization &&
		(!has_key || !strncasecmp(authorization, "Basic ", 6));
	bool ok;
	int err;

	if (user && usersz)
		user[0] = '\0';
	if (!a || !peer)
		return APIAUTH_ERROR;
	if (fail_blocked(a, peer))
		return APIAUTH_BLOCKED;
	if (!apiauth_cidrs_match(a->allow_ips, peer))
		return APIAUTH_IP_DENIED;
	if (!has_basic && !has_key)
		return APIAUTH_MISSING;
	u = mem_zalloc(sizeof(*u), NULL);
	if (!u)
		return APIAUTH_ERROR;

	if (has_basic) {
		if (basic_parse(authorization, name, sizeof(name), pw, sizeof(pw))) {
			fail_note(a, peer, NULL, "malformed Authorization");
			res = APIAUTH_INVALID;
			goto out;
		}
		err = apiuser_get(a->st, name, u);
		if (err == ENOENT) {
			(void)apiauth_verify(pw, a->dummy_hash);
			fail_note(a, peer, name, "unknown account");
			res = APIAUTH_INVALID;
			goto out;
		}
	}
	else {
		struct keyfind k = { .key = apikey, .out = u };

		err = apiuser_list(a->st, keyfind_h, &k);
		if (!err && !k.found) {
			fail_note(a, peer, NULL, "unknown X-APIKEY");
			res = APIAUTH_INVALID;
			goto out;
		}
	}
	if (err) {
		log_error("apiauth: cannot read accounts: %m", err);
		res = APIAUTH_ERROR;
		goto out;
	}
	if (!apiauth_cidrs_match(u->allow_ips, peer)) {
		fail_note(a, peer, u->name, "address not allowed");
		res = APIAUTH_IP_DENIED;
		goto out;
	}
	if (apiauth_mode_parse(u->auth, &mode)) {
		log_warn("apiauth: account has an unknown auth mode (user=%s auth=%s)", u->name,
			 u->auth);
		fail_note(a, peer, u->name, "bad account");
		res = APIAUTH_INVALID;
		goto out;
	}
	ok = true;
	if (mode != APIAUTH_TOKEN)
		ok = has_basic && verify_cached(a, pw, u->pass_hash);
	if (mode != APIAUTH_BASIC)
		ok = ok && has_key && u->apikey[0] && apiauth_equal(apikey, u->apikey);
	if (!ok) {
		fail_note(a, peer, u->name, "wrong or missing secret");
		res = APIAUTH_INVALID;
		goto out;
	}
	if (user && usersz)
		str_ncpy(user, u->name, usersz);
	res = apiauth_perms_allow(u->perms, perm) ? APIAUTH_OK : APIAUTH_PERM_DENIED;

 out:
	explicit_bzero(pw, sizeof(pw));
	if (u)
		explicit_bzero(u, sizeof(*u));
	mem_deref(u);
	return res;
}

/* --- creating accounts ------------------------------------------------------- */

static bool name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return n && n <= NAME_MAX_LEN && strspn(s, "abcdefghijklmnopqrstuvwxyz"
		"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.@-") == n;
}

static bool key_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n < KEY_MIN || n > KEY_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~' || s[i] == ',')
			return false;
	return true;
}

static bool perms_ok(const char *perms, char *bad, size_t badsz)
{
	const char *p = perms;
	char item[128];
	bool toolong;

	while (list_next(&p, item, sizeof(item), &toolong)) {
		size_t n = strlen(item);

		const char *star = strchr(item, '*');

		/* "*", a name, or a name prefix ending in a slash and a star */
		if (toolong || strspn(item, "abcdefghijklmnopqrstuvwxyz"
			   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_/.*-") != n
		    || (star && strcmp(item, "*") && !(star == item + n - 1 && n >= 2
						      && item[n - 2] == '/'))) {
			str_ncpy(bad, item, badsz);
			return false;
		}
	}
	return true;
}

/* A comma list without blanks or empty items: what is stored. */
static void list_normalise(char *out, size_t sz, const char *in)
{
	const char *p = in ? in : "";
	char item[256];
	bool toolong;
	size_t len = 0;

	out[0] = '\0';
	while (list_next(&p, item, sizeof(item), &toolong)) {
		int n = re_snprintf(out + len, sz - len, "%s%s", len ? "," : "", item);

		if (n < 0)
			break;
		len += (size_t)n;
	}
}

struct keydup {
	const char *key;
	bool dup;
};

static int keydup_h(const struct apiuser *u, void *arg)
{
	struct keydup *k = arg;

	if (u->apikey[0] && apiauth_equal(k->key, u->apikey))
		k->dup = true;
	return 0;
}

#define WHY(...) do { if (why && whysz) (void)re_snprintf(why, whysz, __VA_ARGS__); } while (0)

int apiauth_account_add(struct store *st, const struct apiauth_account *acc,
			char *why, size_t whysz)
{
	struct apiuser *u;
	enum apiauth_mode mode;
	const char *perms;
	char bad[128];
	int err;

	if (why && whysz)
		why[0] = '\0';
	if (!st || !acc)
		return EINVAL;
	if (!name_ok(acc->name)) {
		WHY("invalid account name '%s' (1..%u of A-Z a-z 0-9 _ . @ -)",
		    acc->name ? acc->name : "", NAME_MAX_LEN);
		return EINVAL;
	}
	if (apiauth_mode_parse(acc->mode, &mode)) {
		WHY("--auth must be basic, token or both");
		return EINVAL;
	}
	if (mode != APIAUTH_TOKEN && !acc->password) {
		WHY("--auth %s needs --password", acc->mode);
		return EINVAL;
	}
	if (acc->password && (strlen(acc->password) < PASSWORD_MIN
			      || strlen(acc->password) > PASSWORD_MAX)) {
		WHY("--password must be %u..%u characters", PASSWORD_MIN, PASSWORD_MAX);
		return EINVAL;
	}
	if (mode != APIAUTH_BASIC && !acc->apikey) {
		WHY("--auth %s needs --key", acc->mode);
		return EINVAL;
	}
	if (acc->apikey && !key_ok(acc->apikey)) {
		WHY("--key must be %u..%u printable characters without blanks or ','",
		    KEY_MIN, KEY_MAX);
		return EINVAL;
	}
	if (apiauth_cidrs_valid(acc->allow_ips, bad, sizeof(bad))) {
		WHY("--allow-ip: %s", bad);
		return EINVAL;
	}
	perms = acc->perms ? acc->perms : "*";
	if (!perms_ok(perms, bad, sizeof(bad))) {
		WHY("--perm: invalid permission name '%s'", bad);
		return EINVAL;
	}
	u = mem_zalloc(sizeof(*u), NULL);
	if (!u)
		return ENOMEM;
	str_ncpy(u->name, acc->name, sizeof(u->name));
	str_ncpy(u->auth, acc->mode, sizeof(u->auth));
	list_normalise(u->allow_ips, sizeof(u->allow_ips), acc->allow_ips);
	list_normalise(u->perms, sizeof(u->perms), perms);
	if (strlen(u->allow_ips) + 1 >= sizeof(u->allow_ips) ||
	    strlen(u->perms) + 1 >= sizeof(u->perms)) {
		WHY("too many --allow-ip or --perm values");
		err = EINVAL;
		goto out;
	}
	if (acc->apikey) {
		struct keydup k = { .key = acc->apikey };

		err = apiuser_list(st, keydup_h, &k);
		if (!err && k.dup) {
			WHY("another account has this key");
			err = EEXIST;
		}
		if (err)
			goto out;
		str_ncpy(u->apikey, acc->apikey, sizeof(u->apikey));
	}
	if (acc->password) {
		err = apiauth_hash(acc->password, u->pass_hash, sizeof(u->pass_hash));
		if (err) {
			WHY("cannot hash the password: %m", err);
			goto out;
		}
	}
	err = apiuser_add(st, u);
	if (err == EEXIST)
		WHY("account %s exists", u->name);
	else if (err)
		WHY("cannot store account %s: %m", u->name, err);
 out:
	explicit_bzero(u, sizeof(*u));
	mem_deref(u);
	return err;
}
