/* ctlcmd: control commands. Operators read the output; scripts parse it,
 * so every listing is one JSON object per line. */
#include <errno.h>
#include <string.h>
#include <stdlib.h>
#include "api/ctlcmd.h"
#include "pbx/chan.h"
#include "pbx/dialplan.h"
#include "sip/registrar.h"
#include "sip/sipsrv.h"
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
	(void)re_hprintf(errpf, "unknown command '%s' (try: user, registrations, channels, "
			 "hangup, dialplan reload, cdr tail, status, trunks)", argv[0]);
	return EINVAL;
}
