/* callhook: CDR rows and channel events turned into webhook fields. An
 * extension's NewState is the sum of its legs: InUse while one is up (or is
 * the extension's own outgoing call), Ringing while one rings, else Idle;
 * an event goes out only when that sum changes. */
#include "core/rejansson.h"
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <time.h>
#include "api/callhook.h"
#include "api/webhook.h"
#include "core/log.h"
#include "pbx/chan.h"
#include "store/poll.h"

struct callhook {
	struct webhook *wh;
	struct store *st;            /* survey scores; may be NULL */
	callhook_trunk_h *trunkh;
	void *arg;
	struct hash *exts;           /* struct ext_state by extension */
	struct list legs;            /* struct leg_watch */
	struct list outs;            /* struct out_pending */
};

/* A trunk leg's OutgoingCall, sent on the next loop turn: whoever placed
 * the leg (Dial, originate) has set its variables by then, such as the
 * ORIGINATED_CALL_ID the event carries (spec §2.2). */
struct out_pending {
	struct le le;
	struct tmr tmr;
	struct callhook *h;
	struct chan *ch;             /* reference */
	char trunk[64], num[64];
};

/* One extension with legs in progress. */
struct ext_state {
	struct le he;
	char ext[64];
	unsigned ringing, up;
	const char *state;           /* last state sent: a static string */
};

/* One followed extension leg. */
struct leg_watch {
	struct le le;
	struct chan_watch w;
	struct callhook *h;
	struct ext_state *es;        /* a reference */
	char *participant, *call_id;
	bool outbound, ringing, up;
};

/* --- names: channel -> resource -> trunk -------------------------------- */

/* "SIP/prov/0912-0000abcd" -> "prov/0912": the part after the technology,
 * without the 8-hex-digit suffix chan_alloc adds. */
static bool chan_resource(const char *name, char *buf, size_t sz)
{
	const char *r = name ? strchr(name, '/') : NULL;
	size_t len;

	if (!r)
		return false;
	++r;
	len = strlen(r);
	if (len > 9 && r[len - 9] == '-') {
		bool hex = true;

		for (size_t i = len - 8; i < len; i++)
			hex = hex && isxdigit((unsigned char)r[i]);
		if (hex)
			len -= 9;
	}
	if (!len || len >= sz)
		return false;
	memcpy(buf, r, len);
	buf[len] = '\0';
	return true;
}

/* A resource on a trunk: "TRUNK" (inbound), "TRUNK/NUMBER" or
 * "NUMBER@TRUNK" (Dial). Fills trunk (and number when there is one). */
static bool resource_trunk(const struct callhook *h, const char *res, char *trunk,
			   size_t tsz, const char **number)
{
	const char *slash = strchr(res, '/'), *at = strchr(res, '@');
	size_t len;

	*number = NULL;
	if (slash) {
		len = (size_t)(slash - res);
		*number = slash + 1;
		if (len >= tsz)
			return false;
		memcpy(trunk, res, len);
		trunk[len] = '\0';
	}
	else if (at) {
		str_ncpy(trunk, at + 1, tsz);
		*number = res;   /* up to '@'; callers print with %b */
	}
	else
		str_ncpy(trunk, res, tsz);
	return h->trunkh && *trunk && h->trunkh(trunk, h->arg);
}

static bool chan_trunk(const struct callhook *h, const char *chname, char *trunk,
		       size_t tsz)
{
	char res[128];
	const char *num;

	if (!chan_resource(chname, res, sizeof(res)))
		return false;
	return resource_trunk(h, res, trunk, tsz, &num);
}

const char *callhook_cdr_type(const struct callhook *h, const struct cdr_rec *rec,
			      char *entry, size_t entrysz, char *outgoing, size_t outsz)
{
	bool in, out;

	if (!h || !rec || !entry || !entrysz || !outgoing || !outsz)
		return "local";
	in = chan_trunk(h, rec->channel, entry, entrysz);
	out = chan_trunk(h, rec->dstchannel, outgoing, outsz);
	if (!in)
		entry[0] = '\0';
	if (!out)
		outgoing[0] = '\0';
	if (in)
		return "incoming";
	if (out)
		return "outgoing";
	if (rec->dst && rec->dst[0] == '*')
		return "feature";
	return "local";
}

/* --- Cdr ----------------------------------------------------------------- */

static const char *cdr_origid(const struct cdr_rec *rec)
{
	return str_isset(rec->originated_call_id) ? rec->originated_call_id : NULL;
}

static const char *basename_of(const char *path)
{
	const char *s = path ? strrchr(path, '/') : NULL;

	return s ? s + 1 : (path ? path : "");
}

void callhook_set_store(struct callhook *h, struct store *st)
{
	if (h)
		h->st = st;
}

struct score {
	int64_t point;
	char label[128];
	bool found;
};

static int score_h(const struct poll_rec *r, void *arg)
{
	struct score *sc = arg;

	sc->point = r->point;
	str_ncpy(sc->label, r->label ? r->label : "", sizeof(sc->label));
	sc->found = true;
	return 0;
}

int callhook_cdr_written(const struct cdr_rec *rec, void *arg)
{
	struct callhook *h = arg;
	char start[40] = "", end[40] = "", entry[64], outp[64];
	const char *type, *record, *origid;
	struct score sc = { .found = false };
	int64_t wait;

	if (!h || !rec || !webhook_wants(h->wh, "Cdr"))
		return 0;
	/* simotel-webhooks.md §2.1: no Cdr for an originate call whose first
	 * party never answered (its row's answer time is the first party's). */
	if (cdr_origid(rec) && !rec->answer_us)
		return 0;
	type = callhook_cdr_type(h, rec, entry, sizeof(entry), outp, sizeof(outp));
	(void)webhook_time_str(h->wh, rec->start_us, start, sizeof(start));
	(void)webhook_time_str(h->wh, rec->end_us, end, sizeof(end));
	/* Time before answer; an unanswered call waited all of it. */
	wait = rec->answer_us && rec->answer_us >= rec->start_us
		? (int64_t)((rec->answer_us - rec->start_us) / 1000000u) : rec->duration;
	record = basename_of(rec->recordingfile);
	origid = cdr_origid(rec);
	/* The Poll row commits before the caller hangs up, so it is there. */
	if (h->st && rec->uniqueid)
		(void)poll_last(h->st, rec->uniqueid, score_h, &sc);
	{
		const struct webhook_field f[] = {
			{ "starttime", start, 0 },
			{ "endtime", end, 0 },
			{ "src", rec->src ? rec->src : "", 0 },
			{ "dst", rec->dst ? rec->dst : "", 0 },
			{ "type", type, 0 },
			{ "disposition", rec->disposition ? rec->disposition : "", 0 },
			{ "duration", NULL, rec->duration },
			{ "billsec", NULL, rec->billsec },
			{ "wait", NULL, wait },
			{ *record ? "record" : NULL, record, 0 },
			{ *entry ? "entry_point" : NULL, entry, 0 },
			{ *outp ? "outgoing_point" : NULL, outp, 0 },
			{ "unique_id", rec->uniqueid ? rec->uniqueid : "", 0 },
			{ origid ? "originated_call_id" : NULL, origid, 0 },
			{ sc.found ? "poll_point" : NULL, NULL, sc.point },
			{ sc.found ? "poll_lable" : NULL, sc.label, 0 },
		};
		const char *key = rec->linkedid && *rec->linkedid ? rec->linkedid
			: rec->uniqueid;

		return webhook_emit_fields(h->wh, "Cdr", key, f, ARRAY_SIZE(f));
	}
}

/* --- NewState ------------------------------------------------------------ */

static bool ext_cmp(struct le *le, void *arg)
{
	return !strcmp(((struct ext_state *)le->data)->ext, arg);
}

static void ext_destructor(void *arg)
{
	struct ext_state *es = arg;

	hash_unlink(&es->he);
}

static struct ext_state *ext_get(struct callhook *h, const char *ext)
{
	struct le *le = hash_lookup(h->exts, hash_joaat_str(ext), ext_cmp, (void *)ext);
	struct ext_state *es;

	if (le)
		return mem_ref(le->data);
	es = mem_zalloc(sizeof(*es), ext_destructor);
	if (!es)
		return NULL;
	str_ncpy(es->ext, ext, sizeof(es->ext));
	es->state = "Idle";
	hash_append(h->exts, hash_joaat_str(es->ext), &es->he, es);
	return es;
}

/* Sends NewState when the extension's state changed; lw says why. */
static void ext_update(struct callhook *h, struct ext_state *es, const struct leg_watch *lw)
{
	const char *state = es->up ? "InUse" : es->ringing ? "Ringing" : "Idle";
	char key[80];
	int err;

	if (!strcmp(state, es->state))
		return;
	es->state = state;
	(void)re_snprintf(key, sizeof(key), "exten/%s", es->ext);
	{
		/* dialer=yes: InUse because the extension itself is calling out. */
		const struct webhook_field f[] = {
			{ "exten", es->ext, 0 },
			{ "state", state, 0 },
			{ "participant", lw->participant ? lw->participant : "", 0 },
			{ "direction", lw->outbound ? "in" : "out", 0 },
			{ "unique_id", lw->call_id ? lw->call_id : "", 0 },
			{ !strcmp(state, "InUse") ? "dialer" : NULL,
			  lw->outbound ? "no" : "yes", 0 },
		};

		/* One extension's states go out in order (call_key per extension,
		 * not per call): a CRM follows them as a state machine. */
		err = webhook_emit_fields(h->wh, "NewState", key, f, ARRAY_SIZE(f));
	}
	if (err)
		log_warn("callhook: NewState not queued (exten=%s state=%s): %m", es->ext,
			 state, err);
}

static void leg_destructor(void *arg)
{
	struct leg_watch *lw = arg;

	chan_watch_remove(&lw->w);
	list_unlink(&lw->le);
	mem_deref(lw->es);
	mem_deref(lw->participant);
	mem_deref(lw->call_id);
}

static void leg_event_h(struct chan *ch, enum chan_event ev, void *arg)
{
	struct leg_watch *lw = arg;
	struct ext_state *es = lw->es;
	(void)ch;

	switch (ev) {
	case CHAN_EV_ANSWER:
		if (lw->up)
			return;
		if (lw->ringing) {
			lw->ringing = false;
			--es->ringing;
		}
		lw->up = true;
		++es->up;
		break;
	case CHAN_EV_HANGUP:
		if (lw->ringing)
			--es->ringing;
		if (lw->up)
			--es->up;
		lw->ringing = lw->up = false;
		ext_update(lw->h, es, lw);
		mem_deref(lw);
		return;
	default:
		return;
	}
	ext_update(lw->h, es, lw);
}

static void leg_follow(struct callhook *h, struct chan *ch, const char *ext, bool outbound)
{
	struct leg_watch *lw = mem_zalloc(sizeof(*lw), leg_destructor);
	int err;

	if (!lw)
		return;
	lw->h = h;
	lw->outbound = outbound;
	lw->es = ext_get(h, ext);
	err = lw->es ? 0 : ENOMEM;
	/* Outbound (the extension is called): the caller is the participant.
	 * Inbound (the extension calls): the number it dialled. */
	if (!err)
		err = str_dup(&lw->participant, outbound ? chan_cid_num(ch) : chan_exten(ch));
	if (!err)
		err = str_dup(&lw->call_id, chan_linkedid(ch));
	if (err) {
		mem_deref(lw);
		return;
	}
	if (outbound) {
		lw->ringing = true;
		++lw->es->ringing;
	}
	else {
		lw->up = true;
		++lw->es->up;
	}
	list_append(&h->legs, &lw->le, lw);
	chan_watch_add(ch, &lw->w, leg_event_h, lw);
	ext_update(h, lw->es, lw);
}

/* --- channels ------------------------------------------------------------ */

static void out_destructor(void *arg)
{
	struct out_pending *o = arg;

	tmr_cancel(&o->tmr);
	list_unlink(&o->le);
	mem_deref(o->ch);
}

static void out_send(void *arg)
{
	struct out_pending *o = arg;
	const char *call_id = chan_linkedid(o->ch);
	const char *orig = chan_var_get(o->ch, "ORIGINATED_CALL_ID");
	const struct webhook_field f[] = {
		{ "number", o->num, 0 },
		{ "outgoing_point", o->trunk, 0 },
		{ "unique_id", call_id, 0 },
		{ str_isset(orig) ? "originated_call_id" : NULL, orig, 0 },
	};
	int err = webhook_emit_fields(o->h->wh, "OutgoingCall", call_id, f, ARRAY_SIZE(f));

	if (err)
		log_warn("callhook: OutgoingCall not queued (channel=%s): %m", chan_name(o->ch),
			 err);
	mem_deref(o);
}

static int out_defer(struct callhook *h, struct chan *ch, const char *res, const char *trunk,
		     const char *number)
{
	struct out_pending *o = mem_zalloc(sizeof(*o), out_destructor);
	const char *at = strchr(res, '@');

	if (!o)
		return ENOMEM;
	o->h = h;
	o->ch = mem_ref(ch);
	str_ncpy(o->trunk, trunk, sizeof(o->trunk));
	if (number)
		(void)re_snprintf(o->num, sizeof(o->num), "%b", number,
				  at ? (size_t)(at - res) : strlen(number));
	list_append(&h->outs, &o->le, o);
	tmr_start(&o->tmr, 0, out_send, o);
	return 0;
}

void callhook_chan_new(struct callhook *h, struct chan *ch, bool outbound)
{
	char res[128], trunk[64];
	const char *number, *call_id;
	int err = 0;

	if (!h || !ch || !chan_resource(chan_name(ch), res, sizeof(res)))
		return;
	call_id = chan_linkedid(ch);
	if (!resource_trunk(h, res, trunk, sizeof(trunk), &number)) {
		if (webhook_wants(h->wh, "NewState"))
			leg_follow(h, ch, res, outbound);
		return;
	}
	if (!outbound && webhook_wants(h->wh, "IncomingCall")) {
		const struct webhook_field f[] = {
			{ "number", chan_cid_num(ch) ? chan_cid_num(ch) : "", 0 },
			{ "entry_point", trunk, 0 },
			{ "did", chan_exten(ch) ? chan_exten(ch) : "", 0 },
			{ "unique_id", call_id, 0 },
		};
		err = webhook_emit_fields(h->wh, "IncomingCall", call_id, f, ARRAY_SIZE(f));
	}
	else if (outbound && webhook_wants(h->wh, "OutgoingCall"))
		err = out_defer(h, ch, res, trunk, number);
	if (err)
		log_warn("callhook: %s not queued (channel=%s): %m", outbound ? "OutgoingCall"
			 : "IncomingCall", chan_name(ch), err);
}

/* --- lifecycle ----------------------------------------------------------- */

static void destructor(void *arg)
{
	struct callhook *h = arg;

	/* Legs hold the extension states; the hash only indexes them. */
	list_flush(&h->legs);
	list_flush(&h->outs);
	h->exts = mem_deref(h->exts);
}

int callhook_alloc(struct callhook **chp, struct webhook *wh, callhook_trunk_h *trunkh,
		   void *arg)
{
	struct callhook *h;
	int err;

	if (!chp)
		return EINVAL;
	h = mem_zalloc(sizeof(*h), destructor);
	if (!h)
		return ENOMEM;
	h->wh = wh;
	h->trunkh = trunkh;
	h->arg = arg;
	err = hash_alloc(&h->exts, 64);
	if (err) {
		mem_deref(h);
		return err;
	}
	*chp = h;
	return 0;
}

/* --- PBX events ---------------------------------------------------------- */

void callhook_pbx_event(const char *event, struct json_t *data, void *arg)
{
	struct callhook *h = arg;
	char date[40] = "";
	const char *exten;

	if (!h || !event || !webhook_wants(h->wh, event))
		return;
	if (!strcmp(event, "Ping")) {
		const struct webhook_field f[] = { { "date", date, 0 } };

		(void)webhook_time_str(h->wh, (uint64_t)time(NULL) * 1000000u, date,
				       sizeof(date));
		(void)webhook_emit_fields(h->wh, event, NULL, f, ARRAY_SIZE(f));
		return;
	}
	if (!strncmp(event, "Trunk", 5)) {
		(void)webhook_emit(h->wh, event, NULL, data);
		return;
	}
	exten = json_string_value(json_object_get(data, "number"));
	{
		/* A user just added or removed has no registration: Simotel
		 * reports "Unavailable" (simotel-webhooks.md §2.7). */
		const struct webhook_field f[] = {
			{ "exten", exten ? exten : "", 0 },
			{ "state", "Unavailable", 0 },
		};

		(void)webhook_emit_fields(h->wh, event, NULL, f, ARRAY_SIZE(f));
	}
}

/* --- Transfer, TrunkNewState --------------------------------------------- */

/* Who a channel is, as Simotel names parties: a Dial leg by the endpoint it
 * called ("210", "prov/0912..."), a calling channel by its caller number. */
static void party_of(struct chan *ch, char *buf, size_t sz)
{
	const char *num = chan_cid_num(ch);

	if ((chan_is_dial_callee(ch) || !str_isset(num)) &&
	    chan_resource(chan_name(ch), buf, sz))
		return;
	str_ncpy(buf, str_isset(num) ? num : "", sz);
}

void callhook_transfer(struct chan *transferer, struct chan *moved, const char *to_exten,
		       struct chan *to_chan, void *arg)
{
	struct callhook *h = arg;
	char xferer[128] = "", from[128] = "", to[128] = "";

	if (!h || !transferer || !moved || !webhook_wants(h->wh, "Transfer"))
		return;
	if (!chan_resource(chan_name(transferer), xferer, sizeof(xferer)))
		str_ncpy(xferer, chan_name(transferer), sizeof(xferer));
	party_of(moved, from, sizeof(from));
	if (to_exten)
		str_ncpy(to, to_exten, sizeof(to));
	else if (to_chan)
		party_of(to_chan, to, sizeof(to));
	{
		const struct webhook_field f[] = {
			{ "unique_id", chan_linkedid(moved), 0 },
			{ "transferer", xferer, 0 },
			{ "transferred_from", from, 0 },
			{ "transferred_to", to, 0 },
		};

		(void)webhook_emit_fields(h->wh, "Transfer", chan_linkedid(moved), f,
					  ARRAY_SIZE(f));
	}
}

void callhook_trunk_state(const char *name, const char *state, void *arg)
{
	struct callhook *h = arg;
	char now[32];

	if (!h || !webhook_wants(h->wh, "TrunkNewState"))
		return;
	(void)webhook_epoch_now(now, sizeof(now));
	{
		/* Simotel sends the times as JSON numbers (epoch seconds with a
		 * fraction); webhook fields are text or integers, so the
		 * state change time is sent as text with the same digits. */
		const struct webhook_field f[] = {
			{ "state", state, 0 },
			{ "trunk_name", name, 0 },
			{ "trunk_type", "SIP", 0 },
			{ "last_time", now, 0 },
			{ "last_time_sec", NULL, 0 },
			{ "date", now, 0 },
		};

		(void)webhook_emit_fields(h->wh, "TrunkNewState", name, f, ARRAY_SIZE(f));
	}
}
