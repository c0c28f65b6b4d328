/* ctlcmd: control commands. Operators read the output; scripts parse it,
 * so every listing is one JSON object per line. */
#include <errno.h>
#include <string.h>
#include <stdlib.h>
#include "api/apiauth.h"
#include "api/ctlcmd.h"
#include "pbx/chan.h"
#include "pbx/dialplan.h"
#include "sip/registrar.h"
#include "sip/sipsrv.h"
#include "store/apiuser.h"
#include "store/store.h"

/* JSON string with escaping (names and caller ids are user-controlled). */
static int json_str(struct re_printf *pf, const char *s)
{
	int err = re_hprintf(pf, "\"");

	for (; s && *s && !err; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			err = re_hprintf(pf, "\\%c", c);
		else if (c < 0x20)
			err = re_hprintf(pf, "\\u%04x", c);
		else
			err = re_hprintf(pf, "%c", c);
	}
	return err ? err : re_hprintf(pf, "\"");
}

static int user_print_h(const struct user_rec *u, void *arg)
{
	struct re_printf *pf = arg;

	return re_hprintf(pf, "{\"ext\":%H,\"context\":%H,\"password\":%H}\n",
			  json_str, u->ext, json_str, u->context, json_str, u->password);
}

static int cmd_user(struct ctlcmd *c, int argc, char *argv[], struct re_printf *pf,
		    struct re_printf *errpf)
{
	const char *ctx = "main_routing";
	int err;

	if (argc >= 2 && !strcmp(argv[1], "list"))
		return store_user_apply(c->store, user_print_h, pf);
	if (argc >= 4 && !strcmp(argv[1], "add")) {
		if (argc == 6 && !strcmp(argv[4], "--context"))
			ctx = argv[5];
		else if (argc != 4)
			goto usage;
		if (!*argv[2] || strlen(argv[2]) > 63 || strspn(argv[2],
		    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-.+") !=
		    strlen(argv[2])) {
			(void)re_hprintf(errpf, "invalid extension '%s'", argv[2]);
			return EINVAL;
		}
		err = store_user_add(c->store, argv[2], argv[3], ctx, true);
		if (err)
			(void)re_hprintf(errpf, "cannot add user %s: %m", argv[2], err);
		return err;
	}
	if (argc == 3 && !strcmp(argv[1], "del")) {
		err = store_user_del(c->store, argv[2]);
		if (err == ENOENT)
			(void)re_hprintf(errpf, "no such user %s", argv[2]);
		return err;
	}
 usage:
	(void)re_hprintf(errpf, "usage: user add EXT PASSWORD [--context CTX] | user del EXT | user list");
	return EINVAL;
}

/* Prints a comma list as a JSON array of strings. */
static int json_list(struct re_printf *pf, const char *list)
{
	const char *p = list;
	char item[256];
	bool first = true;
	int err = re_hprintf(pf, "[");

	while (!err && p && *p) {
		size_t n = strcspn(p, ",");

		if (n && n < sizeof(item)) {
			memcpy(item, p, n);
			item[n] = '\0';
			err = re_hprintf(pf, "%s%H", first ? "" : ",", json_str, item);
			first = false;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return err ? err : re_hprintf(pf, "]");
}

/* Secrets never leave tamasd whole: the key's first characters identify it. */
static int apiuser_print_h(const struct apiuser *u, void *arg)
{
	struct re_printf *pf = arg;
	char key[16] = "";

	if (u->apikey[0]) {
		str_ncpy(key, u->apikey, 5);
		strcat(key, "...");
	}
	return re_hprintf(pf, "{\"name\":%H,\"auth\":%H,\"password\":%s,\"apikey\":%H,"
			  "\"allow_ips\":%H,\"perms\":%H,\"created\":%H}\n", json_str, u->name,
			  json_str, u->auth, u->pass_hash[0] ? "true" : "false", json_str, key,
			  json_list, u->allow_ips, json_list, u->perms, json_str, u->created);
}

/* Appends v to a comma list (a value may itself be a comma list). */
static int list_add(char **list, const char *v)
{
	char *old = *list;
	int err = re_sdprintf(list, "%s%s%s", old ? old : "", old ? "," : "", v);

	mem_deref(old);
	return err;
}

static int cmd_apiuser(struct ctlcmd *c, int argc, char *argv[], struct re_printf *pf,
		       struct re_printf *errpf)
{
	struct apiauth_account acc = { 0 };
	char *ips = NULL, *perms = NULL, why[256];
	int i, err;

	if (argc == 2 && !strcmp(argv[1], "list"))
		return apiuser_list(c->store, apiuser_print_h, pf);
	if (argc == 3 && !strcmp(argv[1], "del")) {
		err = apiuser_del(c->store, argv[2]);
		if (err == ENOENT)
			(void)re_hprintf(errpf, "no such API user %s", argv[2]);
		else if (err)
			(void)re_hprintf(errpf, "cannot delete API user %s: %m", argv[2], err);
		return err;
	}
	if (argc < 3 || strcmp(argv[1], "add"))
		goto usage;
	acc.name = argv[2];
	for (i = 3, err = 0; i < argc && !err; i += 2) {
		const char *opt = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			goto usage;
		if (!strcmp(opt, "--password"))
			acc.password = v;
		else if (!strcmp(opt, "--key"))
			acc.apikey = v;
		else if (!strcmp(opt, "--auth"))
			acc.mode = v;
		else if (!strcmp(opt, "--allow-ip"))
			err = list_add(&ips, v);
		else if (!strcmp(opt, "--perm"))
			err = list_add(&perms, v);
		else
			goto usage;
	}
	if (!err) {
		if (!acc.mode)
			acc.mode = acc.apikey && !acc.password ? "token"
				: acc.apikey ? "both" : "basic";
		acc.allow_ips = ips;
		acc.perms = perms;
		err = apiauth_account_add(c->store, &acc, why, sizeof(why));
		if (err)
			(void)re_hprintf(errpf, "cannot add API user %s: %s", acc.name,
					 why[0] ? why : "out of memory");
	}
	mem_deref(ips);
	mem_deref(perms);
	return err;
 usage:
	mem_deref(ips);
	mem_deref(perms);
	(void)re_hprintf(errpf, "usage: apiuser add NAME [--password P] [--key K] "
			 "[--auth basic|token|both] [--allow-ip CIDR]... [--perm NAME]... | "
			 "apiuser del NAME | apiuser list");
	return EINVAL;
}

static void reg_print_h(const struct reg_binding *b, void *arg)
{
	struct re_printf *pf = arg;
	uint64_t now = tmr_jiffies();

	(void)re_hprintf(pf, "{\"aor\":%H,\"contact\":%H,\"source\":\"%J\",\"transport\":\"%s\","
			 "\"expires_in\":%llu,\"user_agent\":%H}\n", json_str, b->aor,
			 json_str, b->contact, &b->src, sip_transp_name(b->tp),
			 (unsigned long long)(b->expires_at > now ? (b->expires_at - now) / 1000 : 0),
			 json_str, b->ua);
}

static bool chan_print_h(struct chan *ch, void *arg)
{
	struct re_printf *pf = arg;
	struct chan *peer = chan_bridged_peer(ch);

	(void)re_hprintf(pf, "{\"channel\":%H,\"uniqueid\":%H,\"linkedid\":%H,\"state\":\"%s\","
			 "\"context\":%H,\"exten\":%H,\"callerid\":%H,\"bridged_to\":%H}\n",
			 json_str, chan_name(ch), json_str, chan_uniqueid(ch),
			 json_str, chan_linkedid(ch), chan_state_name(chan_state(ch)),
			 json_str, chan_context(ch), json_str, chan_exten(ch),
			 json_str, chan_cid_num(ch), json_str, peer ? chan_name(peer) : "");
	return false;
}

static int cdr_line_h(const char *line, void *arg)
{
	return re_hprintf(arg, "%s\n", line);
}

int ctlcmd_h(int argc, char *argv[], struct re_printf *pf, struct re_printf *errpf,
	     void *arg)
{
	struct ctlcmd *c = arg;
	char err_text[512];
	int err;

	if (argc < 1)
		return EINVAL;
	if (!strcmp(argv[0], "user"))
		return cmd_user(c, argc, argv, pf, errpf);
	if (!strcmp(argv[0], "apiuser"))
		return cmd_apiuser(c, argc, argv, pf, errpf);
	if (!strcmp(argv[0], "registrations")) {
		registrar_apply(sipsrv_registrar(c->sip), reg_print_h, pf);
		return 0;
	}
	if (!strcmp(argv[0], "channels")) {
		(void)chan_apply(chan_print_h, pf);
		return 0;
	}
	if (!strcmp(argv[0], "hangup") && argc == 2) {
		struct chan *ch = chan_find(argv[1]);
		if (!ch) {
			(void)re_hprintf(errpf, "no such channel %s", argv[1]);
			return ENOENT;
		}
		chan_hangup(ch, CAUSE_NORMAL_CLEARING);
		return 0;
	}
	if (!strcmp(argv[0], "dialplan") && argc == 2 && !strcmp(argv[1], "reload")) {
		err = dialplan_reload(c->dp, err_text, sizeof(err_text));
		if (err)
			(void)re_hprintf(errpf, "%s", err_text);
		return err;
	}
	if (!strcmp(argv[0], "cdr") && argc >= 2 && !strcmp(argv[1], "tail")) {
		int n = argc >= 3 ? atoi(argv[2]) : 10;
		if (n <= 0 || n > 100000) {
			(void)re_hprintf(errpf, "cdr tail: N must be 1..100000");
			return EINVAL;
		}
		return store_cdr_tail(c->store, (unsigned)n, cdr_line_h, pf);
	}
	if (!strcmp(argv[0], "status"))
		return sipsrv_print_status(pf, c->sip);
	if (!strcmp(argv[0], "trunks"))
		return sipsrv_print_trunks(pf, c->sip);
	(void)re_hprintf(errpf, "unknown command '%s' (try: user, apiuser, registrations, channels, "
			 "hangup, dialplan reload, cdr tail, status, trunks)", argv[0]);
	return EINVAL;
}
