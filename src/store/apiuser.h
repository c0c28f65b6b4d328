/* apiuser: the REST API accounts (Simotel's "API Accounts"), table api_users.
 * Storage only: hashing and checking credentials is apiauth's job. */
#ifndef TAMAS_STORE_APIUSER_H
#define TAMAS_STORE_APIUSER_H

struct store;

struct apiuser {
	char name[64];
	char pass_hash[128];    /* crypt(3) string; "" when the account has no password */
	char apikey[128];       /* X-APIKEY value; "" when none */
	char auth[8];           /* basic | token | both */
	char allow_ips[1024];   /* comma-separated CIDRs; "" = any address */
	char perms[2048];       /* comma-separated permission names; "*" = all */
	char created[24];       /* UTC "YYYY-MM-DD HH:MM:SS"; ignored by add */
};

/* EEXIST if the name is taken; EINVAL if a field is empty where it must not be. */
int apiuser_add(struct store *st, const struct apiuser *u);
int apiuser_del(struct store *st, const char *name);                       /* ENOENT */
int apiuser_get(struct store *st, const char *name, struct apiuser *out);  /* ENOENT */
/* Every account in name order; stops at (and returns) a handler's non-zero. */
typedef int (apiuser_h)(const struct apiuser *u, void *arg);
int apiuser_list(struct store *st, apiuser_h *h, void *arg);

#endif
