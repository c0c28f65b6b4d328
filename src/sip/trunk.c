/* trunk: static and registering SIP trunks. */
#include <errno.h>
#include <string.h>
#include "core/log.h"
#include "sip/sipsrv.h"
#include "sip/trunk.h"

struct trunk {
	char *name, *host, *context, *username, *password;
	struct sa addr;
	bool reg;
	uint32_t expires;
	struct sipreg *sipreg;
	uint16_t last_scode;
};

static void destructor(void *arg)
{
	struct trunk *t = arg;

	mem_deref(t->sipreg);
	mem_deref(t->name);
	mem_deref(t->host);
	mem_deref(t->context);
	mem_deref(t->username);
	mem_deref(t->password);
}

int trunk_auth_h(char **username, char **password, const char *realm, void *arg)
{
	struct trunk *t = arg;
	int err;
	(void)realm;

	if (!t->username || !t->password)
		return EAUTH;
	err = str_dup(username, t->username);
	if (!err)
		err = str_dup(password, t->password);
	return err;
}

static void reg_resp_h(int err, const struct sip_msg *msg, void *arg)
{
	struct trunk *t = arg;

	if (err) {
		log_warn("trunk: registration failed (trunk=%s err=%m)", t->name, err);
		return;
	}
	if (msg->scode != t->last_scode)
		log_info("trunk: registration %u %r (trunk=%s)", msg->scode, &msg->reason,
			 t->name);
	t->last_scode = msg->scode;
}

static int trunk_register(struct trunk *t, struct sip *sip)
{
	char reg_uri[128], aor[192];

	(void)re_snprintf(reg_uri, sizeof(reg_uri), "sip:%J", &t->addr);
	(void)re_snprintf(aor, sizeof(aor), "sip:%s@%J", t->username, &t->addr);
	return sipreg_register(&t->sipreg, sip, reg_uri, aor, NULL, aor, t->expires,
			       t->username, NULL, 0, 0, trunk_auth_h, t, false,
			       reg_resp_h, t, NULL, NULL);
}

int trunk_alloc(struct trunk **tp, struct sip *sip, const struct trunk_conf *tc)
{
	struct trunk *t;
	int err;

	if (!tp || !tc || !tc->name || !tc->host)
		return EINVAL;
	t = mem_zalloc(sizeof(*t), destructor);
	if (!t)
		return ENOMEM;
	err = str_dup(&t->name, tc->name);
	err |= str_dup(&t->host, tc->host);
	err |= str_dup(&t->context, tc->context ? tc->context : "from_trunk");
	if (tc->username)
		err |= str_dup(&t->username, tc->username);
	if (tc->password)
		err |= str_dup(&t->password, tc->password);
	if (err) {
		err = ENOMEM;
		goto out;
	}
	err = sa_set_str(&t->addr, tc->host, tc->port ? tc->port : 5060);
	if (err)
		goto out;
	t->reg = tc->reg;
	t->expires = tc->expires ? tc->expires : 300;
	if (t->reg) {
		if (!t->username || !t->password) {
			err = EINVAL;
			goto out;
		}
		err = trunk_register(t, sip);
		if (err)
			goto out;
	}
	*tp = t;
	return 0;
 out:
	mem_deref(t);
	return err;
}

const char *trunk_name(const struct trunk *t) { return t->name; }
const char *trunk_context(const struct trunk *t) { return t->context; }

bool trunk_matches(const struct trunk *t, const struct sa *src)
{
	return sa_cmp(&t->addr, src, SA_ALL);
}

int trunk_uri(const struct trunk *t, const char *number, char *buf, size_t sz)
{
	return re_snprintf(buf, sz, "sip:%s@%J", number, &t->addr) < 0 ? ENOMEM : 0;
}

int trunk_print(struct re_printf *pf, const struct trunk *t)
{
	return re_hprintf(pf, "{\"name\":\"%s\",\"addr\":\"%J\",\"context\":\"%s\","
			  "\"register\":%s,\"registered\":%s}\n", t->name, &t->addr,
			  t->context, t->reg ? "true" : "false",
			  t->sipreg && sipreg_registered(t->sipreg) ? "true" : "false");
}
