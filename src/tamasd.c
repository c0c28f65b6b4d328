/* tamasd: the PBX daemon. Wires configuration, store, SIP, dialplan and the
 * control socket together around one libre loop; holds the one context. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <re.h>
#include "api/apiauth.h"
#include "api/callhook.h"
#include "api/cbhook.h"
#include "api/queuehook.h"
#include "api/callscreen.h"
#include "api/ctl.h"
#include "api/ctlcmd.h"
#include "api/http.h"
#include "api/httpc.h"
#include "api/routes_call.h"
#include "api/routes_callback.h"
#include "api/routes_cbdef.h"
#include "api/routes_lists.h"
#include "api/routes_mgmt.h"
#include "api/routes_pbx.h"
#include "api/routes_poll.h"
#include "api/routes_qdef.h"
#include "api/routes_qreport.h"
#include "api/routes_queues.h"
#include "api/routes_reports.h"
#include "api/routes_trunks.h"
#include "api/webhook.h"
#include "core/cfg.h"
#include "core/log.h"
#include "core/tmrheap.h"
#include "media/moh.h"
#include "media/recorder.h"
#include "media/tone.h"
#include "media/tts.h"
#include "pbx/app.h"
#include "pbx/calllimit.h"
#include "pbx/apps/media.h"
#include "pbx/apps/poll.h"
#include "pbx/callback.h"
#include "pbx/cbconf.h"
#include "pbx/dest.h"
#include "pbx/chan.h"
#include "pbx/apps/dpapi.h"
#include "pbx/dial.h"
#include "pbx/dialplan.h"
#include "pbx/features.h"
#include "pbx/originate.h"
#include "pbx/queue.h"
#include "pbx/transfer.h"
#include "sip/registrar.h"
#include "sip/sipsrv.h"
#include "store/cbreq.h"
#include "store/cdrq.h"
#include "store/queuelog.h"
#include "store/queuemember.h"
#include "store/store.h"

#define MAX_OVERRIDES 64

struct tamas {
	struct cfg *conf;
	struct store *store;
	struct cdrq *cdrq;
	struct webhook_conf webhook_cf;
	struct webhook *webhook;
	struct callhook *callhook;
	struct queuehook *queuehook;   /* CdrQueue from queue_log events */
	struct callbacks *callbacks;   /* [callback NAME] and their requests */
	struct dests *dests;           /* destinations, module exits, dial codes */
	struct httpc *httpc;         /* dialplan API components' client */
	struct dpapi_conf dpapi;
	struct sipsrv *sip;
	struct dialplan *dp;
	struct mohset *moh;
	struct recwriter *recw;
	struct tts *tts;
	struct media_conf media;
	struct features_conf features;
	struct ctl *ctl;
	struct ctlcmd cmd;
	struct apiauth *apiauth;
	struct http *http;
	struct routes_pbx routes_pbx;
	struct routes_call routes_call;
	struct routes_trunks routes_trunks;
	struct routes_reports routes_reports;
	struct routes_poll routes_poll;   /* also the Poll app's result hook */
	struct routes_queues routes_queues;
	struct routes_qdef routes_qdef;
	struct routes_qreport routes_qreport;
	struct routes_callback routes_callback;
	struct routes_cbdef routes_cbdef;
	struct routes_mgmt *routes_mgmt;
	struct routes_lists *routes_lists;
	int sigfd;
	struct tmr tmr_stop;
	bool stopping;
	const char *conf_path;
	char err[512];
	int exit_code;
	uint64_t nofile;
};

/* --- glue handlers ------------------------------------------------------- */

static void cdr_h(const struct cdr_rec *rec, void *arg)
{
	struct tamas *t = arg;
	int err = t->cdrq ? cdrq_push(t->cdrq, rec) : store_cdr_write(t->store, rec);

	/* A failed group write keeps its rows queued; only a failed copy lands
	 * here, and then the record goes to the log so it is not lost. */
	callback_cdr(t->callbacks, rec);   /* an automatic callback's outcome */
	if (err && err != EBUSY && err != EIO && err != ENOSPC)
		log_error("cdr: record not queued (uniqueid=%s clid=%s src=%s dst=%s "
			  "channel=%s dstchannel=%s disposition=%s duration=%lld billsec=%lld "
			  "err=%m)", rec->uniqueid, rec->clid, rec->src, rec->dst, rec->channel,
			  rec->dstchannel, rec->disposition, (long long)rec->duration,
			  (long long)rec->billsec, err);
}

static int user_h(const char *ext, char *pw, size_t pwsz, char *ctx, size_t ctxsz,
		  void *arg)
{
	struct tamas *t = arg;
	struct user_rec u;
	int err = store_user_get(t->store, ext, &u);

	if (err)
		return err;
	str_ncpy(pw, u.password, pwsz);
	str_ncpy(ctx, u.context, ctxsz);
	return 0;
}

static void dialplan_ended(struct chan *ch, void *arg)
{
	(void)arg;
	/* 0 keeps the cause Dial left (busy → 486 to an unanswered caller). */
	chan_hangup(ch, 0);
}

static void dialplan_begin(struct tamas *t, struct chan *ch)
{
	int err = dialplan_start(t->dp, ch, dialplan_ended, t);

	if (err) {
		log_warn("pbx: cannot start dialplan (channel=%s err=%m)", chan_name(ch), err);
		chan_hangup(ch, CAUSE_NORMAL_TEMPORARY_FAILURE);
	}
}

/* The blacklist refuses a caller before anything else sees the call (no
 * IncomingCall, no dialplan): 403 Forbidden, cause 21 CALL_REJECTED, as
 * Asterisk's blacklist dialplans end with Hangup(21). The whitelist lets
 * its callers in and tells the dialplan (WHITELIST, WHITELIST_LABELS). */
static bool screen_call(struct tamas *t, struct chan *ch)
{
	char labels[512];

	switch (callscreen_check(t->store, chan_cid_num(ch), labels, sizeof(labels))) {
	case CALLSCREEN_BLACKLISTED:
		log_info("callscreen: blacklisted caller rejected (channel=%s caller=%s to=%s)",
			 chan_name(ch), chan_cid_num(ch), chan_exten(ch));
		chan_hangup(ch, CAUSE_CALL_REJECTED);
		return true;
	case CALLSCREEN_WHITELISTED:
		(void)chan_var_set(ch, "WHITELIST", "yes");
		(void)chan_var_set(ch, "WHITELIST_LABELS", labels);
		return false;
	default:
		(void)chan_var_set(ch, "WHITELIST", "no");
		return false;
	}
}

static void call_h(struct chan *ch, void *arg)
{
	struct tamas *t = arg;

	if (screen_call(t, ch))
		return;
	callhook_chan_new(t->callhook, ch, false);
	dialplan_begin(t, ch);
}

/* A channel sent somewhere by ChannelRedirect or a transfer while no
 * dialplan ran on it (a Dial callee) starts one there. */
static void redirect_h(struct chan *ch, void *arg)
{
	dialplan_begin(arg, ch);
}

static bool reachable_h(const char *tech, const char *resource, void *arg)
{
	struct tamas *t = arg;
	struct reg_binding b;

	if (strcasecmp(tech, "SIP") && strcasecmp(tech, "PJSIP"))
		return false;
	if (strchr(resource, '/') || strchr(resource, '@'))
		return true;            /* through a trunk: assume reachable */
	return !registrar_lookup(sipsrv_registrar(t->sip), resource, &b);
}

static void cl_sub_done(int err, struct chan *ch, void *arg)
{
	(void)err;
	(void)arg;
	chan_connected_send(ch);
}

/* CONNECTED_LINE_SEND_SUB: the routine edits CONNECTEDLINE() first. */
static void cl_sub_h(struct chan *ch, const char *location, void *arg)
{
	struct tamas *t = arg;

	if (dialplan_gosub(t->dp, ch, location, false, cl_sub_done, NULL))
		chan_connected_send(ch);
}

static void rd_sub_done(int err, struct chan *ch, void *arg)
{
	(void)err;
	(void)arg;
	chan_redirecting_send(ch);
}

/* REDIRECTING_SEND_SUB: the routine edits REDIRECTING() first. */
static void rd_sub_h(struct chan *ch, const char *location, void *arg)
{
	struct tamas *t = arg;

	if (dialplan_gosub(t->dp, ch, location, false, rd_sub_done, NULL))
		chan_redirecting_send(ch);
}

static void hangup_hook_h(struct chan *ch, void *arg)
{
	struct tamas *t = arg;

	dialplan_run_hangup_handlers(t->dp, ch);
}

static int sip_request_h(struct chan **chp, const char *resource, struct chan *caller,
			 int *cause, void *arg)
{
	struct tamas *t = arg;
	int err = sipsrv_request(t->sip, chp, resource, caller, cause);

	if (!err)
		callhook_chan_new(t->callhook, *chp, true);
	return err;
}

static bool is_trunk_h(const char *name, void *arg)
{
	struct tamas *t = arg;
	return sipsrv_has_trunk(t->sip, name);
}

static int db_get_h(const char *family, const char *key, char *buf, size_t sz, void *arg)
{
	struct tamas *t = arg;
	return store_kv_get(t->store, family, key, buf, sz);
}

static int db_put_h(const char *family, const char *key, const char *value, void *arg)
{
	struct tamas *t = arg;
	return store_kv_put(t->store, family, key, value);
}

static int db_del_h(const char *family, const char *key, void *arg)
{
	struct tamas *t = arg;
	return store_kv_del(t->store, family, key);
}


/* --- start-up ------------------------------------------------------------ */

static void usage(void)
{
	fprintf(stderr, "usage: tamasd [-c FILE] [-s section.key=value]...\n"
		"  -c FILE   configuration (default etc/tamas.conf)\n"
		"  -s K=V    override a configuration key, e.g. -s sip.port=5070\n");
}

static int conf_u16(struct tamas *t, const char *sec, const char *key, uint16_t dflt,
		    uint16_t min, uint16_t *out)
{
	uint32_t v;
	int err = cfg_get_u32(t->conf, sec, key, dflt, min, 65535, &v, t->err,
			       sizeof(t->err));
	*out = (uint16_t)v;
	return err;
}

static int check_dtmf_mode(struct tamas *t, const char *section)
{
	const char *m = cfg_get(t->conf, section, "dtmfmode");

	if (!m || sipsrv_dtmf_mode_valid(m))
		return 0;
	(void)re_snprintf(t->err, sizeof(t->err), "%s: %s.dtmfmode: expected rfc4733, info, "
			  "inband or auto, got '%s'", cfg_where(t->conf, section, "dtmfmode"),
			  section, m);
	return EINVAL;
}

static int dtmf_section_h(const struct cfg *conf, const char *section, const char *name,
			  void *arg)
{
	(void)conf;
	(void)name;
	return check_dtmf_mode(arg, section);
}

/* A user's or trunk's own dtmfmode ([user 1001] / [trunk prov] dtmfmode=). */
static const char *endpoint_dtmf_mode(bool trunk, const char *name, void *arg)
{
	struct tamas *t = arg;
	char section[96];

	if (!name || re_snprintf(section, sizeof(section), "%s %s", trunk ? "trunk" : "user",
				 name) < 0)
		return NULL;
	return cfg_get(t->conf, section, "dtmfmode");
}

static int sip_conf(struct tamas *t, struct sipsrv_conf *cf)
{
	const char *bind = cfg_get_str(t->conf, "sip", "bind", "127.0.0.1");
	const char *rtpbind = cfg_get_str(t->conf, "rtp", "bind", bind);
	const char *tp = cfg_get_str(t->conf, "sip", "transports", "udp,tcp");
	uint16_t port;
	int err;

	memset(cf, 0, sizeof(*cf));
	cf->dtmf_mode = cfg_get_str(t->conf, "sip", "dtmfmode", "rfc4733");
	cf->dtmf_mode_h = endpoint_dtmf_mode;
	err = check_dtmf_mode(t, "sip");
	if (!err)
		err = cfg_apply_sections(t->conf, "user", dtmf_section_h, t);
	if (!err)
		err = cfg_apply_sections(t->conf, "trunk", dtmf_section_h, t);
	if (err)
		return err;
	err = conf_u16(t, "sip", "port", 5060, 1, &port);
	if (!err && sa_set_str(&cf->laddr, bind, port)) {
		(void)re_snprintf(t->err, sizeof(t->err), "%s: sip.bind: not an IP address: '%s'",
				  cfg_where(t->conf, "sip", "bind"), bind);
		err = EINVAL;
	}
	if (!err && sa_set_str(&cf->rtp_laddr, rtpbind, 0)) {
		(void)re_snprintf(t->err, sizeof(t->err), "%s: rtp.bind: not an IP address: '%s'",
				  cfg_where(t->conf, "rtp", "bind"), rtpbind);
		err = EINVAL;
	}
	if (!err)
		err = conf_u16(t, "rtp", "port_min", 20000, 1024, &cf->rtp_min);
	if (!err)
		err = conf_u16(t, "rtp", "port_max", 29999, 1025, &cf->rtp_max);
	if (!err && cf->rtp_max <= cf->rtp_min + 2) {
		(void)re_snprintf(t->err, sizeof(t->err), "%s: rtp.port_max must exceed rtp.port_min",
				  cfg_where(t->conf, "rtp", "port_max"));
		err = EINVAL;
	}
	if (!err)
		err = cfg_get_u32(t->conf, "sip", "dial_timeout", 60, 1, 86400,
				   &cf->dial_timeout_s, t->err, sizeof(t->err));
	if (!err)
		err = cfg_get_u32(t->conf, "sip", "max_calls", 4000, 1, 1000000,
				   &cf->max_calls, t->err, sizeof(t->err));
	if (!err)
		err = cfg_get_u32(t->conf, "sip", "nonce_ttl", 300, 1, 86400,
				   &cf->nonce_ttl_s, t->err, sizeof(t->err));
	if (!err)
		err = cfg_get_u32(t->conf, "sip", "min_expires", 60, 1, 86400,
				   &cf->min_expires, t->err, sizeof(t->err));
	if (!err)
		err = cfg_get_u32(t->conf, "sip", "max_expires", 3600, 1, 604800,
				   &cf->max_expires, t->err, sizeof(t->err));
	if (err)
		return err;
	cf->udp = strstr(tp, "udp") != NULL;
	cf->tcp = strstr(tp, "tcp") != NULL;
	if (!cf->udp && !cf->tcp) {
		(void)re_snprintf(t->err, sizeof(t->err), "%s: sip.transports: expected udp and/or tcp",
				  cfg_where(t->conf, "sip", "transports"));
		return EINVAL;
	}
	cf->realm = cfg_get_str(t->conf, "sip", "realm", "tamas");
	cf->user_agent = cfg_get_str(t->conf, "sip", "user_agent", "tamas");
	return 0;
}

static int moh_section_h(const struct cfg *conf, const char *section, const char *name,
			 void *arg)
{
	struct tamas *t = arg;
	const char *dir = cfg_get(conf, section, "directory");
	int err;

	if (!dir) {
		(void)re_snprintf(t->err, sizeof(t->err), "%s: [%s] needs directory",
				  cfg_where(conf, section, "mode"), section);
		return EINVAL;
	}
	err = mohset_add(t->moh, name, dir, cfg_get(conf, section, "sort"));
	if (err)
		(void)re_snprintf(t->err, sizeof(t->err), "%s: [%s]: %s", cfg_where(conf, section,
				  "directory"), section, err == EINVAL ? "sort must be alpha, "
				  "random or randstart" : "no audio files in the directory");
	return err;
}

/* [media] and [moh NAME]: prompts, tones, music on hold, recordings, TTS. */
static int media_init(struct tamas *t)
{
	struct media_conf *m = &t->media;
	int err;

	m->sounds_dir = cfg_get_str(t->conf, "media", "sounds_dir", "/usr/share/asterisk/sounds");
	m->announce_dir = cfg_get_str(t->conf, "media", "announcements_dir", "var/announcements");
	m->language = cfg_get_str(t->conf, "media", "language", "en");
	m->tonezone = cfg_get_str(t->conf, "media", "tonezone", "us");
	m->recordings_dir = cfg_get_str(t->conf, "media", "recordings_dir", "var/recordings");
	m->moh_class = cfg_get_str(t->conf, "media", "musicclass", "default");
	if (!tone_zone_exists(m->tonezone)) {
		(void)re_snprintf(t->err, sizeof(t->err), "%s: media.tonezone: unknown zone '%s'",
				  cfg_where(t->conf, "media", "tonezone"), m->tonezone);
		return EINVAL;
	}
	err = mohset_alloc(&t->moh);
	if (!err)
		err = cfg_apply_sections(t->conf, "moh", moh_section_h, t);
	if (err)
		return err;
	if (!mohset_exists(t->moh, "default") &&
	    mohset_add(t->moh, "default", cfg_get_str(t->conf, "media", "moh_dir",
						       "/usr/share/asterisk/moh"), "alpha"))
		log_warn("media: no default music on hold (install asterisk-moh-opsound-wav or "
			 "set [moh default] directory)");
	err = recwriter_alloc(&t->recw);
	if (!err)
		err = tts_alloc(&t->tts, cfg_get_str(t->conf, "media", "tts_cache", "var/tts"),
				cfg_get(t->conf, "media", "espeak"));
	if (err) {
		(void)re_snprintf(t->err, sizeof(t->err), "media: cannot start recorder/TTS: %m",
				  err);
		return err;
	}
	m->moh = t->moh;
	m->recw = t->recw;
	m->tts = t->tts;
	return apps_media_register(m);
}

static int appmap_key_h(const char *key, const char *value, const char *where, void *arg)
{
	struct tamas *t = arg;
	char why[256];
	int err = features_map_add(key, value, why, sizeof(why));

	if (err)
		(void)re_snprintf(t->err, sizeof(t->err), "%s: %s", where, why);
	return err;
}

/* [features] (features.conf [general] + [featuremap]) and [applicationmap]. */
static int features_setup(struct tamas *t)
{
	struct features_conf *f = &t->features;
	int err;

	err = cfg_get_u32(t->conf, "features", "featuredigittimeout", 1000, 100, 10000,
			  &f->digit_timeout_ms, t->err, sizeof(t->err));
	if (!err)
		err = cfg_get_u32(t->conf, "features", "transferdigittimeout", 3, 1, 60,
				  &f->transfer_digit_timeout_s, t->err, sizeof(t->err));
	if (!err)
		err = cfg_get_u32(t->conf, "features", "atxfernoanswertimeout", 15, 1, 600,
				  &f->atxfernoanswertimeout_s, t->err, sizeof(t->err));
	if (err)
		return err;
	f->blindxfer = cfg_get_str(t->conf, "features", "blindxfer", "#");
	f->disconnect = cfg_get_str(t->conf, "features", "disconnect", "*");
	f->automixmon = cfg_get_str(t->conf, "features", "automixmon", "*3");
	f->atxfer = cfg_get_str(t->conf, "features", "atxfer", "*2");
	f->atxfercomplete = cfg_get_str(t->conf, "features", "atxfercomplete", "*2");
	f->atxferabort = cfg_get_str(t->conf, "features", "atxferabort", "*1");
	f->atxferswap = cfg_get_str(t->conf, "features", "atxferswap", "*4");
	f->atxferthreeway = cfg_get_str(t->conf, "features", "atxferthreeway", "*3");
	f->xfersound = cfg_get_str(t->conf, "features", "xfersound", "beep");
	f->xferfailsound = cfg_get_str(t->conf, "features", "xferfailsound", "beeperr");
	f->transferannouncesound = cfg_get_str(t->conf, "features", "transferannouncesound",
					       "pbx-transfer");
	features_init(f, t->dp);
	return cfg_apply_keys(t->conf, "applicationmap", appmap_key_h, t);
}

static int trunk_section_h(const struct cfg *conf, const char *section, const char *name,
			   void *arg)
{
	struct tamas *t = arg;
	struct trunk_conf tc = { .name = name };
	uint32_t port, expires;
	bool reg;
	int err;

	tc.host = cfg_get(conf, section, "host");
	if (!tc.host) {
		(void)re_snprintf(t->err, sizeof(t->err), "%s: [%s]: host is required",
				  t->conf_path, section);
		return EINVAL;
	}
	err = cfg_get_u32(conf, section, "port", 5060, 1, 65535, &port, t->err, sizeof(t->err));
	if (!err)
		err = cfg_get_u32(conf, section, "expires", 300, 10, 86400, &expires, t->err,
				   sizeof(t->err));
	if (!err)
		err = cfg_get_bool(conf, section, "register", false, &reg, t->err, sizeof(t->err));
	if (err)
		return err;
	tc.port = (uint16_t)port;
	tc.expires = expires;
	tc.reg = reg;
	tc.context = cfg_get_str(conf, section, "context", "from_trunk");
	tc.username = cfg_get(conf, section, "username");
	tc.password = cfg_get(conf, section, "password");
	tc.state_h = callhook_trunk_state;
	tc.state_arg = t->callhook;
	if (tc.reg && (!tc.username || !tc.password)) {
		(void)re_snprintf(t->err, sizeof(t->err), "%s: [%s]: register = yes needs "
				  "username and password", cfg_where(conf, section, "register"),
				  section);
		return EINVAL;
	}
	err = sipsrv_trunk_add(t->sip, &tc);
	if (err)
		(void)re_snprintf(t->err, sizeof(t->err), "%s: [%s]: cannot set up trunk: %m",
				  cfg_where(conf, section, "host"), section, err);
	return err;
}

/* routes_trunks' hooks: trunks made through the REST API. */
static int trunk_apply_h(const char *name, struct trunk_conf *tc, void *arg)
{
	struct tamas *t = arg;
	int err = sipsrv_trunk_remove(t->sip, name);

	if (err && err != ENOENT)
		return err;
	if (!tc) {
		if (!err)
			log_info("tamasd: trunk %s out of service", name);
		return 0;
	}
	tc->state_h = callhook_trunk_state;
	tc->state_arg = t->callhook;
	err = sipsrv_trunk_add(t->sip, tc);
	if (!err)
		log_info("tamasd: trunk %s in service (host=%s:%u register=%s)", name, tc->host,
			 tc->port, tc->reg ? "yes" : "no");
	return err;
}

static bool trunk_in_conf_h(const char *name, void *arg)
{
	struct tamas *t = arg;
	char section[128];

	(void)re_snprintf(section, sizeof(section), "trunk %s", name);
	return cfg_get(t->conf, section, "host") != NULL;
}

static int user_section_h(const struct cfg *conf, const char *section, const char *name,
			  void *arg)
{
	struct tamas *t = arg;
	const char *pw = cfg_get(conf, section, "password");
	const char *ctx = cfg_get_str(conf, section, "context", "main_routing");
	char rnd[17];
	int err;

	if (!pw || !*pw) {
		(void)re_snprintf(t->err, sizeof(t->err), "%s: [%s]: password is required",
				  t->conf_path, section);
		return EINVAL;
	}
	if (!strcmp(pw, "random")) {
		rand_str(rnd, sizeof(rnd));
		pw = rnd;
		log_info("tamasd: seeded user %s with a generated password (%s)", name, pw);
	}
	err = store_user_add(t->store, name, pw, ctx, false);
	if (err && err != EEXIST) {
		(void)re_snprintf(t->err, sizeof(t->err), "cannot seed user %s: %m", name, err);
		return err;
	}
	return 0;
}

static int seed_users(struct tamas *t)
{
	unsigned n = 0;
	int err = store_user_count(t->store, &n);

	if (err || n > 0)
		return err;
	return cfg_apply_sections(t->conf, "user", user_section_h, t);
}

static void qlog_h(const char *callid, const char *queue, const char *agent,
		   const char *event, const char *const data[5], void *arg)
{
	struct tamas *t = arg;
	int err = queuelog_add(t->store, callid, queue, agent, event, data);

	if (err)
		log_error("queue: queue_log row not written (queue=%s event=%s callid=%s "
			  "agent=%s err=%m)", queue, event, callid, agent, err);
	queuehook_event(t->queuehook, callid, queue, agent, event, data);
}

/* A refused caller: no queue_log row (as Asterisk), only the webhook. */
static void qrefused_h(const char *callid, const char *queue, const char *src,
		       const char *status, void *arg)
{
	struct tamas *t = arg;

	queuehook_refused(t->queuehook, callid, queue, src, status);
}

struct queue_sec { struct tamas *t; const char *queue; };

static const char *const queue_keys[] = {
	"strategy", "timeout", "retry", "wrapuptime", "maxlen", "joinempty", "leavewhenempty",
	"musicclass", "autopause", "ringinuse", "announce-frequency", "announce-position",
	"announce-holdtime", "announce-to-first-user", "periodic-announce",
	"periodic-announce-frequency", "context", "timeout_dest", "failure_dest", "maxwait",
};

/* member keys ("member", "member2", "member.alice": the file format allows a
 * key once per section) and a check that every other key is known. */
static int queue_key_h(const char *key, const char *value, const char *where, void *arg)
{
	struct queue_sec *qs = arg;
	struct tamas *t = qs->t;
	char iface[64], *comma;
	unsigned long pen = 0;
	char *end = NULL;
	int err;

	if (strncasecmp(key, "member", 6)) {
		for (size_t i = 0; i < ARRAY_SIZE(queue_keys); i++) {
			if (!strcasecmp(key, queue_keys[i]))
				return 0;
		}
		(void)re_snprintf(t->err, sizeof(t->err), "%s: [queue %s]: unknown key '%s'",
				  where, qs->queue, key);
		return EINVAL;
	}
	str_ncpy(iface, value, sizeof(iface));
	comma = strchr(iface, ',');
	if (comma) {
		*comma++ = '\0';
		while (*comma == ' ')
			++comma;
		pen = strtoul(comma, &end, 10);
		if (!*comma || *end || pen > 1000000) {
			(void)re_snprintf(t->err, sizeof(t->err), "%s: [queue %s]: %s: penalty must "
					  "be a number from 0 to 1000000, got '%s'", where,
					  qs->queue, key, comma);
			return EINVAL;
		}
	}
	for (size_t n = strlen(iface); n && iface[n - 1] == ' '; --n)
		iface[n - 1] = '\0';
	err = queue_member_add(qs->queue, iface, (unsigned)pen, false, false, "CONFIG");
	if (err == EEXIST)
		(void)re_snprintf(t->err, sizeof(t->err), "%s: [queue %s]: %s is listed twice",
				  where, qs->queue, iface);
	else if (err)
		(void)re_snprintf(t->err, sizeof(t->err), "%s: [queue %s]: %s: expected "
				  "TECH/resource[,penalty] (e.g. SIP/1001,0), got '%s'", where,
				  qs->queue, key, value);
	return err;
}

static int queue_section_h(const struct cfg *conf, const char *section, const char *name,
			   void *arg)
{
	struct tamas *t = arg;
	struct queue_conf qc = { .name = name };
	struct queue_sec qs = { .t = t, .queue = name };
	const char *v;
	char why[200];
	int err;

	v = cfg_get_str(conf, section, "strategy", "ringall");
	if (qstrategy_parse(v, &qc.strategy)) {
		(void)re_snprintf(t->err, sizeof(t->err), "%s: [%s]: strategy: expected ringall, "
				  "leastrecent, fewestcalls, random, rrmemory, linear or wrandom, "
				  "got '%s'", cfg_where(conf, section, "strategy"), section, v);
		return EINVAL;
	}
	err = cfg_get_u32(conf, section, "timeout", 15, 0, 86400, &qc.timeout_s, t->err,
			  sizeof(t->err));
	if (!err)
		err = cfg_get_u32(conf, section, "retry", 5, 0, 3600, &qc.retry_s, t->err,
				  sizeof(t->err));
	if (!err)
		err = cfg_get_u32(conf, section, "wrapuptime", 0, 0, 86400, &qc.wrapup_s, t->err,
				  sizeof(t->err));
	if (!err)
		err = cfg_get_u32(conf, section, "maxlen", 0, 0, 1000000, &qc.maxlen, t->err,
				  sizeof(t->err));
	if (!err)
		err = cfg_get_bool(conf, section, "autopause", false, &qc.autopause, t->err,
				   sizeof(t->err));
	if (!err)
		err = cfg_get_bool(conf, section, "ringinuse", false, &qc.ringinuse, t->err,
				   sizeof(t->err));
	if (!err)
		err = cfg_get_u32(conf, section, "announce-frequency", 0, 0, 86400,
				  &qc.announce_freq_s, t->err, sizeof(t->err));
	if (!err)
		err = cfg_get_bool(conf, section, "announce-position", true,
				   &qc.announce_position, t->err, sizeof(t->err));
	if (!err)
		err = cfg_get_bool(conf, section, "announce-holdtime", true,
				   &qc.announce_holdtime, t->err, sizeof(t->err));
	if (!err)
		err = cfg_get_bool(conf, section, "announce-to-first-user", false,
				   &qc.announce_first, t->err, sizeof(t->err));
	if (!err)
		err = cfg_get_u32(conf, section, "periodic-announce-frequency", 0, 0, 86400,
				  &qc.periodic_freq_s, t->err, sizeof(t->err));
	if (!err)
		err = cfg_get_u32(conf, section, "maxwait", 0, 0, 86400, &qc.maxwait_s, t->err,
				  sizeof(t->err));
	if (err)
		return err;
	qc.periodic = cfg_get(conf, section, "periodic-announce");
	qc.context = cfg_get(conf, section, "context");
	qc.timeout_dest = cfg_get(conf, section, "timeout_dest");   /* checked in dests_setup */
	qc.failure_dest = cfg_get(conf, section, "failure_dest");
	if (queue_empty_parse(cfg_get_str(conf, section, "joinempty", ""), true, &qc.joinempty,
			      why, sizeof(why))) {
		(void)re_snprintf(t->err, sizeof(t->err), "%s: [%s]: joinempty: %s",
				  cfg_where(conf, section, "joinempty"), section, why);
		return EINVAL;
	}
	if (queue_empty_parse(cfg_get_str(conf, section, "leavewhenempty", ""), false,
			      &qc.leavewhenempty, why, sizeof(why))) {
		(void)re_snprintf(t->err, sizeof(t->err), "%s: [%s]: leavewhenempty: %s",
				  cfg_where(conf, section, "leavewhenempty"), section, why);
		return EINVAL;
	}
	qc.musicclass = cfg_get(conf, section, "musicclass");
	if (qc.musicclass && *qc.musicclass && !mohset_exists(t->moh, qc.musicclass)) {
		(void)re_snprintf(t->err, sizeof(t->err), "%s: [%s]: musicclass: no [moh %s]",
				  cfg_where(conf, section, "musicclass"), section, qc.musicclass);
		return EINVAL;
	}
	err = queue_add(&qc);
	if (err) {
		(void)re_snprintf(t->err, sizeof(t->err), "%s: [%s]: %s", t->conf_path, section,
				  err == EEXIST ? "a queue of that name already exists"
				  : "bad queue name");
		return err;
	}
	return cfg_apply_keys(conf, section, queue_key_h, &qs);
}

static int qmember_add_h(const char *queue, const char *iface, unsigned penalty, bool paused,
			 void *arg)
{
	struct tamas *t = arg;
	return queuemember_add(t->store, queue, iface, penalty, paused);
}

static int qmember_del_h(const char *queue, const char *iface, void *arg)
{
	struct tamas *t = arg;
	return queuemember_del(t->store, queue, iface);
}

static int qmember_pause_h(const char *queue, const char *iface, bool paused, void *arg)
{
	struct tamas *t = arg;
	return queuemember_set_paused(t->store, queue, iface, paused);
}

/* A stored dynamic member whose queue left the config (or that is now a
 * static member) stays stored and is skipped with a warning. */
static int qmember_restore_h(const char *queue, const char *iface, unsigned penalty,
			     bool paused, void *arg)
{
	int err = queue_member_restore(queue, iface, penalty, paused);

	(void)arg;
	if (err)
		log_warn("queue: stored member not restored (queue=%s member=%s err=%m)", queue,
			 iface, err);
	return 0;
}

struct callback_sec { struct tamas *t; const struct cfg *conf; const char *section; };

static int callback_key_h(const char *key, const char *value, const char *where, void *arg)
{
	struct callback_sec *cs = arg;

	(void)value;
	if (cbconf_key_known(key))
		return 0;
	(void)re_snprintf(cs->t->err, sizeof(cs->t->err), "%s: [%s]: unknown key '%s'", where,
			  cs->section, key);
	return EINVAL;
}

static const char *callback_get_h(const char *key, void *arg)
{
	const struct callback_sec *cs = arg;

	return cfg_get(cs->conf, cs->section, key);
}

/* The line a "KEY: reason" from cbconf_parse/callback_add is about. */
static const char *callback_where(const struct callback_sec *cs, const char *why)
{
	char key[32];
	size_t n = strcspn(why, ":");

	if (n >= sizeof(key))
		return cs->t->conf_path;
	str_ncpy(key, why, n + 1);
	if (!cbconf_key_known(key))
		return cs->t->conf_path;
	return cfg_get(cs->conf, cs->section, key) ? cfg_where(cs->conf, cs->section, key)
						    : cs->t->conf_path;
}

/* [callback NAME]: the callback-request module's definitions. */
static int callback_section_h(const struct cfg *conf, const char *section, const char *name,
			      void *arg)
{
	struct tamas *t = arg;
	struct callback_sec cs = { t, conf, section };
	struct callback_conf cc;
	char why[200];
	int err = cfg_apply_keys(conf, section, callback_key_h, &cs);

	if (err)
		return err;
	err = cbconf_parse(&cc, name, callback_get_h, &cs, why, sizeof(why));
	if (!err)
		err = callback_add(t->callbacks, &cc, why, sizeof(why));
	if (err)   /* why starts with the key it is about */
		(void)re_snprintf(t->err, sizeof(t->err), "%s: [%s]: %s",
				  callback_where(&cs, why), section, why);
	return err;
}

/* --- destinations (pbx/dest) ---------------------------------------------- */

static int cb_lookup_h(const char *key, bool by_code, const char **name, const char **next,
		       const char **error, void *arg)
{
	return callback_lookup(arg, key, by_code, name, next, error);
}

static bool cb_exists_h(const char *name, void *arg)
{
	const char *n, *x, *e;

	return !callback_lookup(arg, name, false, &n, &x, &e);
}

static bool queue_exists_h(const char *name, void *arg)
{
	(void)arg;
	return queue_exists(name);
}

struct dest_sec { struct tamas *t; const char *const *keys; size_t nkeys; };

/* The destination keys of a section: well formed and naming modules that
 * exist (every section is loaded by now); [user N]'s become its exits. */
static int dest_section_h(const struct cfg *conf, const char *section, const char *name,
			  void *arg)
{
	const struct dest_sec *ds = arg;
	struct tamas *t = ds->t;
	char why[200];
	int err;

	for (size_t i = 0; i < ds->nkeys; i++) {
		const char *v = cfg_get(conf, section, ds->keys[i]);
		if (!v || !*v || !dest_check(t->dests, v, why, sizeof(why)))
			continue;
		(void)re_snprintf(t->err, sizeof(t->err), "%s: [%s]: %s: %s",
				  cfg_where(conf, section, ds->keys[i]), section, ds->keys[i], why);
		return EINVAL;
	}
	if (strcmp(ds->keys[0], "busy_dest"))
		return 0;
	err = dest_user_set(t->dests, name, cfg_get(conf, section, "busy_dest"),
			    cfg_get(conf, section, "noanswer_dest"),
			    cfg_get(conf, section, "unavail_dest"));
	if (err)
		(void)re_snprintf(t->err, sizeof(t->err), "[%s]: cannot keep its exits: %m",
				  section, err);
	return err;
}

/* Callbacks and queues as destinations, their dial codes in every context,
 * and every destination key checked. [user N] exits are read here at every
 * start (users themselves are seeded once into the store). */
static int dests_setup(struct tamas *t)
{
	static const char *const user_keys[] = { "busy_dest", "noanswer_dest", "unavail_dest" };
	static const char *const queue_keys_d[] = { "timeout_dest", "failure_dest" };
	static const char *const cb_keys[] = { "next", "error" };
	const struct dest_kind cbk = {
		.prefix = "callback", .app = "Callback", .status_var = "CALLBACKSTATUS",
		.ok = "REGISTERED", .exists = cb_exists_h, .lookup = cb_lookup_h,
		.arg = t->callbacks,
	};
	const struct dest_kind qk = { .prefix = "queue", .app = "Queue", .exists = queue_exists_h };
	struct dest_sec us = { t, user_keys, ARRAY_SIZE(user_keys) };
	struct dest_sec qs = { t, queue_keys_d, ARRAY_SIZE(queue_keys_d) };
	struct dest_sec cs = { t, cb_keys, ARRAY_SIZE(cb_keys) };
	int err = dest_kind_add(t->dests, &cbk);

	if (!err)
		err = dest_kind_add(t->dests, &qk);
	if (err) {
		(void)re_snprintf(t->err, sizeof(t->err), "dest: cannot start: %m", err);
		return err;
	}
	dialplan_set_code_h(t->dp, dest_code_app, t->dests);
	err = cfg_apply_sections(t->conf, "user", dest_section_h, &us);
	if (!err)
		err = cfg_apply_sections(t->conf, "queue", dest_section_h, &qs);
	if (!err)
		err = cfg_apply_sections(t->conf, "callback", dest_section_h, &cs);
	return err;
}

/* A callback request's transition: its attempt row, then the webhook. */
static void cbevent_h(const struct callback_event *ev, void *arg)
{
	struct tamas *t = arg;
	int err = 0;

	if (ev->state == CALLBACK_CALLING) {
		struct cbreq_attempt a = {
			.req_id = ev->id, .attempt = ev->attempt,
			.call_id = ev->originated_call_id, .agent = ev->agent,
		};

		err = cbreq_attempt_start(t->store, &a);
	}
	else if (ev->state == CALLBACK_RETRY || ev->state == CALLBACK_DONE ||
		 ev->state == CALLBACK_FAILED ||
		 (ev->state == CALLBACK_HANDLED && ev->outcome[0])) {
		err = cbreq_attempt_end(t->store, ev->id, ev->attempt, ev->outcome);
	}
	if (err)
		log_error("callback: attempt not recorded (id=%s attempt=%u state=%s err=%m)",
			  ev->id, ev->attempt, callback_state_name(ev->state), err);
	cbhook_emit(t->webhook, ev);
}

/* [queue NAME]: call-center queues (Asterisk queues.conf keys), then the
 * dynamic members the store kept. */
static int queues_setup(struct tamas *t)
{
	struct queue_persist qp = { qmember_add_h, qmember_del_h, qmember_pause_h, t };
	int err;

	queue_set_log_h(qlog_h, t);
	queue_set_refused_h(qrefused_h, t);
	err = cfg_apply_sections(t->conf, "queue", queue_section_h, t);
	if (err)
		return err;
	/* Queues added over the API, before their stored members. */
	err = routes_qdef_load(t->store);
	if (err) {
		(void)re_snprintf(t->err, sizeof(t->err), "queue: cannot read stored queues: %m",
				  err);
		return err;
	}
	err = queuemember_apply(t->store, qmember_restore_h, t);
	if (err) {
		(void)re_snprintf(t->err, sizeof(t->err), "queue: cannot read stored members: %m",
				  err);
		return err;
	}
	queue_set_persist(&qp);
	return 0;
}

/* [http]: the REST API (Simotel API v4). Accounts come from the store
 * (tamasctl apiuser add); none ship, so a fresh install answers 401. */
static int http_setup(struct tamas *t)
{
	const char *bind = cfg_get_str(t->conf, "http", "bind", "127.0.0.1");
	const char *allow = cfg_get_str(t->conf, "http", "allow_ips", "");
	struct apiauth_conf acf = { .allow_ips = allow };
	struct http_conf hcf = { 0 };
	uint32_t max_body, max_upload, window, block;
	struct sa laddr;
	uint16_t port;
	bool enabled;
	char why[160];
	int err;

	err = cfg_get_bool(t->conf, "http", "enabled", true, &enabled, t->err, sizeof(t->err));
	if (err || !enabled)
		return err;
	err = conf_u16(t, "http", "port", 8080, 1, &port);
	if (!err && sa_set_str(&laddr, bind, port)) {
		(void)re_snprintf(t->err, sizeof(t->err), "%s: http.bind: not an IP address: '%s'",
				  cfg_where(t->conf, "http", "bind"), bind);
		err = EINVAL;
	}
	if (!err && apiauth_cidrs_valid(allow, why, sizeof(why))) {
		(void)re_snprintf(t->err, sizeof(t->err), "%s: http.allow_ips: %s",
				  cfg_where(t->conf, "http", "allow_ips"), why);
		err = EINVAL;
	}
	if (!err)
		err = cfg_get_u32(t->conf, "http", "max_body", 1048576, 1024, 64u << 20, &max_body,
				  t->err, sizeof(t->err));
	/* Simotel's [upload_size] audio limit (spec §1.6). */
	if (!err)
		err = cfg_get_u32(t->conf, "http", "max_upload", 5242880, 1024, 256u << 20,
				  &max_upload, t->err, sizeof(t->err));
	if (!err)
		err = cfg_get_u32(t->conf, "http", "timeout", 30, 1, 3600, &hcf.timeout_s,
				  t->err, sizeof(t->err));
	if (!err)
		err = cfg_get_u32(t->conf, "http", "max_connections", 256, 1, 65536,
				  &hcf.max_conns, t->err, sizeof(t->err));
	if (!err)
		err = cfg_get_u32(t->conf, "http", "auth_fail_limit", 10, 0, 1000000,
				  &acf.fail_limit, t->err, sizeof(t->err));
	if (!err)
		err = cfg_get_u32(t->conf, "http", "auth_fail_window", 60, 1, 86400, &window,
				  t->err, sizeof(t->err));
	if (!err)
		err = cfg_get_u32(t->conf, "http", "auth_block", 300, 1, 86400, &block,
				  t->err, sizeof(t->err));
	if (err)
		return err;
	hcf.tls_cert = cfg_get(t->conf, "http", "tls_cert");
	hcf.tls_key = cfg_get(t->conf, "http", "tls_key");
	if (!hcf.tls_cert != !hcf.tls_key) {
		(void)re_snprintf(t->err, sizeof(t->err), "%s: http.tls_cert and http.tls_key "
				  "go together", cfg_where(t->conf, "http", hcf.tls_cert ?
							   "tls_cert" : "tls_key"));
		return EINVAL;
	}
	hcf.laddr = &laddr;
	hcf.max_body = max_body;
	acf.fail_window_ms = window * 1000;
	acf.block_ms = block * 1000;
	err = apiauth_alloc(&t->apiauth, t->store, &acf);
	if (!err)
		err = http_alloc(&t->http, &hcf, t->apiauth, why, sizeof(why));
	if (err) {
		(void)re_snprintf(t->err, sizeof(t->err), "%s: %s", cfg_where(t->conf, "http",
				  hcf.tls_cert ? "tls_cert" : "port"), why);
		return err;
	}
	t->routes_pbx.store = t->store;
	t->routes_pbx.event_h = callhook_pbx_event;
	t->routes_pbx.arg = t->callhook;
	t->routes_call.store = t->store;
	t->routes_call.trunk_h = is_trunk_h;
	t->routes_call.arg = t;
	err = routes_pbx_register(t->http, &t->routes_pbx);
	if (!err)
		err = routes_call_register(t->http, &t->routes_call);
	if (!err)
		err = routes_trunks_register(t->http, &t->routes_trunks);
	t->routes_reports.store = t->store;
	t->routes_reports.callhook = t->callhook;
	t->routes_reports.recordings_dir = t->media.recordings_dir;
	if (!err)
		err = routes_reports_register(t->http, &t->routes_reports);
	if (!err)
		err = routes_poll_register(t->http, &t->routes_poll);
	t->routes_queues.store = t->store;
	if (!err)
		err = routes_queues_register(t->http, &t->routes_queues);
	t->routes_qdef.store = t->store;
	if (!err)
		err = routes_qdef_register(t->http, &t->routes_qdef);
	t->routes_qreport.store = t->store;
	if (!err)
		err = routes_qreport_register(t->http, &t->routes_qreport);
	t->routes_callback.store = t->store;
	t->routes_callback.callbacks = t->callbacks;
	if (!err)
		err = routes_callback_register(t->http, &t->routes_callback);
	t->routes_cbdef.store = t->store;
	t->routes_cbdef.callbacks = t->callbacks;
	t->routes_cbdef.dests = t->dests;
	if (!err)
		err = routes_cbdef_register(t->http, &t->routes_cbdef);
	if (!err)
		err = routes_lists_alloc(&t->routes_lists, t->http, t->store);
	if (err) {
		(void)re_snprintf(t->err, sizeof(t->err), "http: cannot add routes: %m", err);
		return err;
	}
	{
		struct routes_mgmt_conf mcf = {
			.store = t->store, .moh = t->moh, .tts = t->tts,
			.announce_dir = t->media.announce_dir, .tts_lang = t->media.language,
			.max_upload = max_upload,
		};

		err = routes_mgmt_alloc(&t->routes_mgmt, t->http, &mcf, why, sizeof(why));
		if (err)
			(void)re_snprintf(t->err, sizeof(t->err), "%s: %s",
					  cfg_where(t->conf, "media", "announcements_dir"), why);
	}
	return err;
}

/* Must run before the first fd_listen(): libre 1.1.0 fixes its fd table
 * size at first use and never grows it. */
static uint64_t raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 1024;
	rl.rlim_cur = rl.rlim_max;
	(void)setrlimit(RLIMIT_NOFILE, &rl);
	(void)getrlimit(RLIMIT_NOFILE, &rl);
	(void)fd_setsize((int)MIN(rl.rlim_cur, 1u << 20));
	return rl.rlim_cur;
}

static void log_capacity(struct sipsrv *sip, uint64_t nofile)
{
	/* Four relay sockets per anchored call, plus SIP/TCP and files. */
	log_info("tamasd: open files limit %llu: room for about %llu anchored calls "
		 "(rtp pool %u port pairs)", (unsigned long long)nofile,
		 (unsigned long long)(nofile > 64 ? (nofile - 64) / 4 : 0),
		 sipsrv_rtp_capacity(sip));
}

static bool any_chan_h(struct chan *ch, void *arg)
{
	(void)ch;
	(void)arg;
	return true;
}

static void stop_h(void *arg)
{
	(void)arg;
	re_cancel();
}

/* Phones should hear a BYE, not silence, when tamasd stops: hang every
 * channel up, give the BYEs a moment to leave, then end the loop. A second
 * signal stops at once. */
static void tamas_begin_stop(struct tamas *t)
{
	struct chan *ch;
	unsigned n = 0;

	if (t->stopping) {
		re_cancel();
		return;
	}
	t->stopping = true;
	while ((ch = chan_apply(any_chan_h, NULL)) != NULL) {
		chan_hangup(ch, CAUSE_NORMAL_CLEARING);
		++n;
	}
	if (!n) {
		re_cancel();
		return;
	}
	log_info("tamasd: hung up %u channels before stopping", n);
	tmr_start(&t->tmr_stop, 300, stop_h, t);
}

static void signal_fd_h(int flags, void *arg)
{
	struct tamas *t = arg;
	struct signalfd_siginfo si;
	(void)flags;

	while (read(t->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			int err = dialplan_reload(t->dp, t->err, sizeof(t->err));
			if (err)
				log_error("dialplan: reload failed, keeping the old one: %s", t->err);
			else
				log_info("dialplan: reloaded on SIGHUP");
			continue;
		}
		log_info("tamasd: signal %u, stopping", si.ssi_signo);
		tamas_begin_stop(t);
	}
}

static int signals_init(struct tamas *t)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return errno;
	signal(SIGPIPE, SIG_IGN);
	t->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (t->sigfd < 0)
		return errno;
	return fd_listen(t->sigfd, FD_READ, signal_fd_h, t);
}

/* [api]: Simotel's call_limit warning beeper (simotel.ini's keys) and what
 * an originated call's first party hears while the second is dialled. */
static int api_setup(struct tamas *t)
{
	struct calllimit_conf lc;
	struct originate_conf oc = { .dp = t->dp };
	const char *ann, *hold;
	int err;

	calllimit_conf_default(&lc);
	err = cfg_get_bool(t->conf, "api", "call_limit_warning_beeper_enabled", lc.beeper,
			   &lc.beeper, t->err, sizeof(t->err));
	if (!err)
		err = cfg_get_u32(t->conf, "api", "call_limit_warning_beeper_time_to_end_sec",
				  lc.time_to_end_s, 1, 3600, &lc.time_to_end_s, t->err,
				  sizeof(t->err));
	if (!err)
		err = cfg_get_u32(t->conf, "api", "call_limit_warning_beeper_repeat_time_sec",
				  lc.repeat_s, 0, 3600, &lc.repeat_s, t->err, sizeof(t->err));
	if (err)
		return err;
	ann = cfg_get_str(t->conf, "api", "call_limit_warning_beeper_announce", "beep");
	if (!*ann || strlen(ann) >= sizeof(lc.announce)) {
		(void)re_snprintf(t->err, sizeof(t->err), "%s: api.call_limit_warning_beeper_"
				  "announce: expected a prompt name of 1 to %zu characters",
				  cfg_where(t->conf, "api", "call_limit_warning_beeper_announce"),
				  sizeof(lc.announce) - 1);
		return EINVAL;
	}
	str_ncpy(lc.announce, ann, sizeof(lc.announce));
	dial_set_limit_conf(&lc);
	/* Present but empty means silence, so not cfg_get_str's default. */
	hold = cfg_get(t->conf, "api", "originate_hold");
	str_ncpy(oc.hold, hold ? hold : "moh", sizeof(oc.hold));
	originate_set_conf(&oc);
	return 0;
}

/* [webhook]: events into the outbox, the Cdr event in the CDR's own
 * transaction (cdrq's written hook). */
static int webhook_setup(struct tamas *t)
{
	int err = webhook_alloc(&t->webhook, t->store, &t->webhook_cf);

	if (!err)
		err = callhook_alloc(&t->callhook, t->webhook, is_trunk_h, t);
	if (!err)
		callhook_set_store(t->callhook, t->store);
	if (!err)
		err = queuehook_alloc(&t->queuehook, t->webhook);
	if (err) {
		(void)re_snprintf(t->err, sizeof(t->err), "webhook: cannot start: %m", err);
		return err;
	}
	cdrq_set_written_h(t->cdrq, callhook_cdr_written, t->callhook);
	return 0;
}

/* TrunkAPI/ExtenAPI: method and Basic credentials are the webhooks' (Simotel
 * has one "API Method" and one API user for events and components). */
static int dpapi_setup(struct tamas *t)
{
	int err = httpc_alloc(&t->httpc);

	t->dpapi.httpc = t->httpc;
	t->dpapi.get = t->webhook_cf.get;
	t->dpapi.username = t->webhook_cf.username;
	t->dpapi.password = t->webhook_cf.password;
	if (!err)
		err = apps_dpapi_register(&t->dpapi);
	if (err)
		(void)re_snprintf(t->err, sizeof(t->err), "dpapi: cannot start: %m", err);
	return err;
}

static int tamas_start(struct tamas *t)
{
	struct sipsrv_conf scf;
	const char *lvl = cfg_get_str(t->conf, "general", "log_level", "info");
	int err;

	log_set_level(!strcmp(lvl, "debug") ? LOG_DEBUG : !strcmp(lvl, "warn") ? LOG_WARN
		      : !strcmp(lvl, "error") ? LOG_ERROR : LOG_INFO);
	err = tmrheap_selftest();
	if (err) {
		str_ncpy(t->err, "libre's timers are not interposed (libre built differently "
			 "than Debian's 1.1.0?); refusing to run with O(n) timers", sizeof(t->err));
		return err;
	}
	err = sip_conf(t, &scf);
	if (!err)
		err = webhook_conf_load(&t->webhook_cf, t->conf, t->err, sizeof(t->err));
	if (!err)
		err = dpapi_conf_load(&t->dpapi, t->conf, t->err, sizeof(t->err));
	if (err)
		return err;
	err = store_open(&t->store, cfg_get_str(t->conf, "store", "path", "var/tamas.db"),
			 t->err, sizeof(t->err));
	if (err)
		return err;
	{
		const char *sync = cfg_get_str(t->conf, "store", "synchronous", "full");
		if (strcmp(sync, "full") && strcmp(sync, "normal")) {
			(void)re_snprintf(t->err, sizeof(t->err), "%s: store.synchronous: expected "
					  "full or normal, got '%s'",
					  cfg_where(t->conf, "store", "synchronous"), sync);
			return EINVAL;
		}
		err = store_set_synchronous(t->store, !strcmp(sync, "full"));
		if (err)
			return err;
	}
	err = cdrq_alloc(&t->cdrq, t->store, 5, 256);
	if (err)
		return err;
	err = webhook_setup(t);
	if (err)
		return err;
	err = seed_users(t);
	if (err)
		return err;
	chan_init(cdr_h, t);
	chan_set_db(db_get_h, db_put_h, db_del_h, t);
	err = media_init(t);
	if (err)
		return err;
	t->routes_poll.store = t->store;
	t->routes_poll.webhook = t->webhook;
	err = dpapi_setup(t);
	if (err)
		return err;
	err = apps_basic_register();
	err |= apps_poll_register(routes_poll_record, &t->routes_poll);
	err |= dial_app_register();
	err |= dialplan_apps_register();
	err |= queue_app_register();
	err |= queue_member_apps_register();
	err |= callback_alloc(&t->callbacks, t->store);
	err |= dest_alloc(&t->dests);
	err |= dial_register_tech("SIP", sip_request_h, t);
	err |= dial_register_tech("PJSIP", sip_request_h, t);
	if (err) {
		str_ncpy(t->err, "cannot register applications", sizeof(t->err));
		return EINVAL;
	}
	callback_set_tts(t->callbacks, t->tts, t->media.language);
	err = dialplan_alloc(&t->dp, cfg_get_str(t->conf, "dialplan", "file",
						  "etc/extensions.lua"), t->err, sizeof(t->err));
	if (err)
		return err;
	t->media.dp = t->dp;
	dial_set_dialplan(t->dp);
	queue_set_dialplan(t->dp);
	transfer_set_dialplan(t->dp);
	transfer_set_done_h(callhook_transfer, t->callhook);
	err = api_setup(t);
	if (!err)
		err = features_setup(t);
	if (!err)
		err = queues_setup(t);
	if (!err)
		err = cfg_apply_sections(t->conf, "callback", callback_section_h, t);
	if (!err)
		err = dests_setup(t);
	if (err)
		return err;
	callback_set_event_h(t->callbacks, cbevent_h, t);
	{
		/* The API's callbacks after tamas.conf's, which win a clash. */
		struct routes_cbdef rd = { t->store, t->callbacks, t->dests };
		unsigned n = 0;

		err = routes_cbdef_load(&rd, &n);
		if (err) {
			(void)re_snprintf(t->err, sizeof(t->err), "callback: cannot read the stored "
					  "callbacks: %m", err);
			return err;
		}
		if (n)
			log_info("callback: %u callbacks defined through the API are in service", n);
	}
	err = callback_start(t->callbacks, 2000);
	if (err) {
		(void)re_snprintf(t->err, sizeof(t->err), "callback: cannot start: %m", err);
		return err;
	}
	chan_set_redirect_hook(redirect_h, t);
	chan_set_hangup_hook(hangup_hook_h, t);
	chan_set_reachable_h(reachable_h, t);
	chan_set_connected_sub_hook(cl_sub_h, t);
	chan_set_redirecting_sub_hook(rd_sub_h, t);
	err = sipsrv_alloc(&t->sip, &scf, user_h, call_h, t);
	if (err) {
		(void)re_snprintf(t->err, sizeof(t->err), "cannot start SIP on %J: %m",
				  &scf.laddr, err);
		return err;
	}
	err = cfg_apply_sections(t->conf, "trunk", trunk_section_h, t);
	if (err)
		return err;
	t->routes_trunks = (struct routes_trunks){
		.store = t->store, .apply_h = trunk_apply_h, .conf_h = trunk_in_conf_h,
		.event_h = callhook_pbx_event, .arg = t, .event_arg = t->callhook,
	};
	err = routes_trunks_load(&t->routes_trunks);
	if (err) {
		(void)re_snprintf(t->err, sizeof(t->err), "cannot load trunks from the store: %m",
				  err);
		return err;
	}
	t->cmd.store = t->store;
	t->cmd.sip = t->sip;
	t->cmd.dp = t->dp;
	err = ctl_listen(&t->ctl, cfg_get_str(t->conf, "control", "socket", "var/tamasd.ctl"),
			 ctlcmd_h, &t->cmd);
	if (err) {
		(void)re_snprintf(t->err, sizeof(t->err), "control.socket %s: %m",
				  cfg_get_str(t->conf, "control", "socket", "var/tamasd.ctl"), err);
		return err;
	}
	err = http_setup(t);
	if (err)
		return err;
	log_capacity(t->sip, t->nofile);
	log_info("tamasd: ready (sip=%J transports=%s%s)", &scf.laddr, scf.udp ? "udp " : "",
		 scf.tcp ? "tcp" : "");
	return 0;
}

static void tamas_stop(struct tamas *t)
{
	tmr_cancel(&t->tmr_stop);
	t->http = mem_deref(t->http);
	t->routes_mgmt = mem_deref(t->routes_mgmt);   /* before tts: cancels renderings */
	t->routes_lists = mem_deref(t->routes_lists);
	t->apiauth = mem_deref(t->apiauth);
	t->ctl = mem_deref(t->ctl);
	t->sip = mem_deref(t->sip);
	t->dp = mem_deref(t->dp);
	app_unregister_all();
	features_close();
	queue_close();
	dial_close();
	chan_close();
	/* After the channels: a Callback app still running uses its callback. */
	t->callbacks = mem_deref(t->callbacks);
	t->dests = mem_deref(t->dests);
	t->httpc = mem_deref(t->httpc);   /* after the channels: they cancel theirs */
	t->tts = mem_deref(t->tts);
	t->recw = mem_deref(t->recw);   /* finishes every recording file */
	t->moh = mem_deref(t->moh);
	t->cdrq = mem_deref(t->cdrq);   /* writes what is still queued */
	/* After cdrq: its last group queues Cdr events. Undelivered events
	 * stay in the outbox for the next start. */
	t->callhook = mem_deref(t->callhook);
	t->queuehook = mem_deref(t->queuehook);   /* after the channels' last queue events */
	t->webhook = mem_deref(t->webhook);
	if (t->sigfd >= 0) {
		fd_close(t->sigfd);
		close(t->sigfd);
	}
	store_close(t->store);
	cfg_free(t->conf);
}

int main(int argc, char *argv[])
{
	struct tamas t = { .sigfd = -1, .conf_path = "etc/tamas.conf" };
	char *overrides[MAX_OVERRIDES];
	size_t n = 0;
	int c, err;

	while ((c = getopt(argc, argv, "c:s:h")) != -1) {
		switch (c) {
		case 'c': t.conf_path = optarg; break;
		case 's':
			if (n == MAX_OVERRIDES) {
				fprintf(stderr, "tamasd: too many -s overrides\n");
				return 2;
			}
			overrides[n++] = optarg;
			break;
		default: usage(); return c == 'h' ? 0 : 2;
		}
	}
	err = cfg_load(&t.conf, t.conf_path, overrides, n, t.err, sizeof(t.err));
	if (err) {
		fprintf(stderr, "tamasd: %s\n", t.err);
		return 1;
	}
	err = libre_init();
	if (err) {
		fprintf(stderr, "tamasd: libre init failed: %s\n", strerror(err));
		cfg_free(t.conf);
		return 1;
	}
	t.nofile = raise_nofile();
	err = signals_init(&t);
	if (!err)
		err = tamas_start(&t);
	if (err) {
		fprintf(stderr, "tamasd: %s\n", t.err[0] ? t.err : strerror(err));
		t.exit_code = 1;
	}
	else {
		err = re_main(NULL);
		if (err && err != EINTR) {
			log_error("tamasd: main loop failed: %m", err);
			t.exit_code = 1;
		}
	}
	tamas_stop(&t);
	libre_close();
	tmr_debug();
	mem_debug();
	log_info("tamasd: stopped");
	return t.exit_code;
}
