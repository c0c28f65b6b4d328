/* apiauth: who may call the REST API, the way Simotel's API accounts work:
 * HTTP Basic, X-APIKEY or both, per-account allowed networks and endpoint
 * permissions, salted password hashes (crypt(3) SHA-512), and a brake on
 * failed logins per remote address. Not for SIP digest auth (sip/auth). */
#ifndef TAMAS_API_APIAUTH_H
#define TAMAS_API_APIAUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sa;
struct store;
struct apiuser;
struct apiauth;

enum apiauth_mode { APIAUTH_BASIC, APIAUTH_TOKEN, APIAUTH_BOTH };

enum apiauth_result {
	APIAUTH_OK = 0,
	APIAUTH_MISSING,       /* 401: neither Basic credentials nor X-APIKEY */
	APIAUTH_INVALID,       /* 401: unknown account, wrong secret, a secret the mode needs is absent */
	APIAUTH_IP_DENIED,     /* 403: the address is not in http.allow_ips or the account's list */
	APIAUTH_PERM_DENIED,   /* 403: authenticated, but the account lacks the permission */
	APIAUTH_BLOCKED,       /* 429: too many failed logins from this address lately */
	APIAUTH_ERROR,         /* 500: the store failed */
};

struct apiauth_conf {
	const char *allow_ips;    /* http.allow_ips, checked before any account; NULL/"" = any */
	uint32_t fail_limit;      /* this many failures within fail_window_ms block; 0 = never */
	uint32_t fail_window_ms;
	uint32_t block_ms;        /* how long a blocked address gets APIAUTH_BLOCKED */
};

int apiauth_alloc(struct apiauth **ap, struct store *st, const struct apiauth_conf *cf);

/* Authenticates one request and checks perm (a route's permission name).
 * authorization: the Authorization header or NULL; apikey: X-APIKEY or NULL.
 * On APIAUTH_OK and APIAUTH_PERM_DENIED the account name is copied to user.
 * Failures (INVALID, IP_DENIED by an account's list) count against peer's
 * address (an IPv6 peer's /64). */
enum apiauth_result apiauth_check(struct apiauth *a, const struct sa *peer,
				  const char *authorization, const char *apikey,
				  const char *perm, char *user, size_t usersz);

/* A new account as tamasctl gives it; NULL members mean "not given". */
struct apiauth_account {
	const char *name;
	const char *password;     /* required for basic and both; stored hashed */
	const char *apikey;       /* required for token and both; 16..127 printable, no ',' */
	const char *mode;         /* basic | token | both */
	const char *allow_ips;    /* comma-separated CIDRs; NULL/"" = any */
	const char *perms;        /* comma-separated permission names; NULL = "*" */
};
/* Validates, hashes and stores. EINVAL/EEXIST with a one-line reason in why. */
int apiauth_account_add(struct store *st, const struct apiauth_account *acc,
			char *why, size_t whysz);

/* --- the pieces, public for tests and for tamasd's config checks --------- */
int apiauth_mode_parse(const char *s, enum apiauth_mode *mode);     /* EINVAL */
/* "10.0.0.0/8, 127.0.0.1,::1/128": EINVAL naming the first bad item in why. */
int apiauth_cidrs_valid(const char *list, char *why, size_t whysz);
/* Whether addr (port ignored; IPv4-mapped IPv6 counts as IPv4) is in the
 * list. An empty or NULL list matches every address. */
bool apiauth_cidrs_match(const char *list, const struct sa *addr);
/* perms: "*" (all), names like "pbx/users/add" (a leading '/' is ignored),
 * or a prefix and a star: "pbx/" + "*" grants everything under pbx/. */
bool apiauth_perms_allow(const char *perms, const char *perm);
/* crypt(3) "$6$" string with a fresh random salt into out (>= 128 bytes). */
int apiauth_hash(const char *password, char *out, size_t sz);
bool apiauth_verify(const char *password, const char *hash);
/* a == b, in a time that depends on the length of b only (b is the secret). */
bool apiauth_equal(const char *a, const char *b);

#endif
