/* chan: one call leg's identity, variables, state machine and Party-A CDR.
 * Signalling and media stay behind struct chan_tech; this file never sends. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/time.h>
#include <re.h>
#include "core/log.h"
#include "media/mstream.h"
#include "pbx/chan.h"

struct chan_var {
	struct le le;
	char *name;          /* as set, with its `_`/`__` prefix */
	char *value;
};

struct chan {
	struct le le_all, le_name, le_id, le_dev;   /* registry */
	bool registered;
	const struct chan_tech *tech;
	void *pvt;
	char *name;
	char uniqueid[32], linkedid[32];
	enum chan_state state;
	bool hungup;
	int cause;
	uint64_t created_us, answer_us, end_us;
	char *context, *exten;
	uint32_t loc_seq;
	char *cid_num, *cid_name;
	struct list vars;
	struct list watchers;
	struct chan *peer;                  /* not a reference: cleared both ways */
	void *dp_state;
	chan_dtmf_h *dtmfh;
	void *dtmf_arg;
	bool held;
	void *gen;                          /* background sound (mem object) */
	struct list hhandlers;              /* struct hh, top first */
	struct chan *replacement;           /* during CHAN_EV_REPLACED only */
	char *cl_num, *cl_name;             /* connected line */
	bool cl_set;
	bool adopted, dial_callee;
	bool hh_claimed;
	char scratch[64];                   /* rendered built-in variables */
	struct {
		char *dst, *dcontext, *lastapp, *lastdata, *dstchannel;
		char *disposition, *userfield, *accountcode, *recordingfile;
		bool disabled, posted;
		unsigned hold;
	} cdr;
};

/* Process-wide: counters survive chan_close like Asterisk's. */
static struct {
	struct list all;
	struct hash *by_name, *by_id;
	struct hash *by_dev;           /* by resource, for device states */
	struct hash *dev_end;          /* struct devend: when each resource was last busy */
	struct list globals;           /* struct chan_var */
	chan_cdr_h *cdrh;
	void *cdr_arg;
	chan_db_get_h *db_get;
	chan_db_put_h *db_put;
	chan_db_del_h *db_del;
	void *db_arg;
	uint32_t id_counter, name_counter;
	chan_hold_h *holdh;
	chan_end_hook_h *hanguph, *redirecth;
	void *hangup_arg, *redirect_arg;
	chan_reachable_h *reachh;
	void *reach_arg;
	chan_cl_sub_h *clsubh;
	void *clsub_arg;
	chan_rd_sub_h *rdsubh;
	void *rdsub_arg;
} mod;

struct hh {
	struct le le;
	char *loc;
};

static uint64_t now_us(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}

static const char *strip_us(const char *name)
{
	if (name[0] == '_')
		name += (name[1] == '_') ? 2 : 1;
	return name;
}

/* ---- variable lists (channel and global share the shape) ---- */

static void var_destructor(void *data)
{
	struct chan_var *v = data;

	list_unlink(&v->le);
	mem_deref(v->name);
	mem_deref(v->value);
}

static struct chan_var *vars_find(const struct list *l, const char *name)
{
	const char *key = strip_us(name);

	for (struct le *le = list_head(l); le; le = le->next) {
		struct chan_var *v = le->data;
		if (!strcmp(strip_us(v->name), key))
			return v;
	}
	return NULL;
}

static int vars_set(struct list *l, const char *name, const char *value)
{
	struct chan_var *v = vars_find(l, name);
	char *nname = NULL, *nvalue = NULL;
	int err;

	if (!name || !*strip_us(name))
		return EINVAL;
	if (!value) {
		mem_deref(v);
		return 0;
	}
	err = str_dup(&nname, name);
	err |= str_dup(&nvalue, value);
	if (err)
		goto out;
	if (!v) {
		v = mem_zalloc(sizeof(*v), var_destructor);
		if (!v) {
			err = ENOMEM;
			goto out;
		}
		list_append(l, &v->le, v);
	}
	/* Setting VAR replaces _VAR/__VAR by name; the new prefix wins. */
	mem_deref(v->name);
	mem_deref(v->value);
	v->name = nname;
	v->value = nvalue;
	return 0;
 out:
	mem_deref(nname);
	mem_deref(nvalue);
	return err;
}

/* ---- module ---- */

void chan_init(chan_cdr_h *cdrh, void *arg)
{
	mod.cdrh = cdrh;
	mod.cdr_arg = arg;
	if (!mod.by_name)
		hash_alloc(&mod.by_name, 256);
	if (!mod.by_id)
		hash_alloc(&mod.by_id, 256);
	if (!mod.by_dev)
		hash_alloc(&mod.by_dev, 256);
	if (!mod.dev_end)
		hash_alloc(&mod.dev_end, 256);
}

void chan_close(void)
{
	/* Channels are owned by their creators; only forget them here. */
	while (mod.all.head) {
		struct chan *ch = mod.all.head->data;
		list_unlink(&ch->le_all);
		hash_unlink(&ch->le_name);
		hash_unlink(&ch->le_id);
		hash_unlink(&ch->le_dev);
		ch->registered = false;
	}
	mod.by_name = mem_deref(mod.by_name);
	mod.by_dev = mem_deref(mod.by_dev);
	hash_flush(mod.dev_end);
	mod.dev_end = mem_deref(mod.dev_end);
	mod.by_id = mem_deref(mod.by_id);
	list_flush(&mod.globals);
	mod.cdrh = NULL;
	mod.cdr_arg = NULL;
	chan_set_db(NULL, NULL, NULL, NULL);
}

void chan_set_db(chan_db_get_h *geth, chan_db_put_h *puth, chan_db_del_h *delh, void *arg)
{
	mod.db_get = geth;
	mod.db_put = puth;
	mod.db_del = delh;
	mod.db_arg = arg;
}

int chan_global_set(const char *name, const char *value)
{
	return vars_set(&mod.globals, name, value);
}

const char *chan_global_get(const char *name)
{
	struct chan_var *v = name ? vars_find(&mod.globals, name) : NULL;

	return v ? v->value : NULL;
}

static void registry_remove(struct chan *ch)
{
	if (!ch->registered)
		return;
	list_unlink(&ch->le_all);
	hash_unlink(&ch->le_name);
	hash_unlink(&ch->le_id);
	hash_unlink(&ch->le_dev);
	ch->registered = false;
}

/* ---- CDR ---- */

static const char *disposition_final(const struct chan *ch)
{
	if (ch->cdr.disposition)
		return ch->cdr.disposition;
	if (ch->answer_us)
		return "ANSWERED";
	switch (ch->cause) {
	case 0:                               return "FAILED";
	case CAUSE_USER_BUSY:                 return "BUSY";
	case CAUSE_NORMAL_CIRCUIT_CONGESTION: return "FAILED";
	case CAUSE_NO_ROUTE_DESTINATION:
	case CAUSE_SUBSCRIBER_ABSENT:         return "FAILED";
	default:                              return "NO ANSWER";
	}
}

static void clid_print(const struct chan *ch, char *buf, size_t sz)
{
	const char *name = ch->cid_name, *num = ch->cid_num;

	if (str_isset(name) && str_isset(num))
		re_snprintf(buf, sz, "\"%s\" <%s>", name, num);
	else
		re_snprintf(buf, sz, "%s", str_isset(name) ? name : (num ? num : ""));
}

static void cdr_fill(const struct chan *ch, struct cdr_rec *r, char *clid, size_t clsz)
{
	uint64_t end = ch->end_us ? ch->end_us : now_us();
	const struct chan_var *orig;

	memset(r, 0, sizeof(*r));
	clid_print(ch, clid, clsz);
	r->start_us = ch->created_us;
	r->answer_us = ch->answer_us;
	r->end_us = end;
	r->clid = clid;
	r->src = ch->cid_num ? ch->cid_num : "";
	r->dst = ch->cdr.dst ? ch->cdr.dst : "";
	r->dcontext = ch->cdr.dcontext ? ch->cdr.dcontext : "";
	r->channel = ch->name;
	r->dstchannel = ch->cdr.dstchannel ? ch->cdr.dstchannel : "";
	r->lastapp = ch->cdr.lastapp ? ch->cdr.lastapp : "";
	r->lastdata = ch->cdr.lastdata ? ch->cdr.lastdata : "";
	r->disposition = disposition_final(ch);
	r->uniqueid = ch->uniqueid;
	r->linkedid = ch->linkedid;
	r->userfield = ch->cdr.userfield ? ch->cdr.userfield : "";
	r->accountcode = ch->cdr.accountcode ? ch->cdr.accountcode : "";
	r->recordingfile = ch->cdr.recordingfile ? ch->cdr.recordingfile : "";
	orig = vars_find(&ch->vars, "ORIGINATED_CALL_ID");
	r->originated_call_id = orig ? orig->value : "";
	r->duration = (int64_t)((end - ch->created_us) / 1000000u);
	r->billsec = ch->answer_us && end > ch->answer_us ?
		(int64_t)((end - ch->answer_us) / 1000000u) : 0;
}

static void cdr_post(struct chan *ch)
{
	struct cdr_rec r;
	char clid[256];

	if (ch->cdr.posted || ch->cdr.disabled || ch->cdr.hold)
		return;
	ch->cdr.posted = true;
	if (!mod.cdrh)
		return;
	cdr_fill(ch, &r, clid, sizeof(clid));
	mod.cdrh(&r, mod.cdr_arg);
}

/* ---- lifecycle ---- */

static void chan_destructor(void *data)
{
	struct chan *ch = data;

	/* A channel that was never hung up still ends: account for it. */
	if (!ch->end_us)
		ch->end_us = now_us();
	ch->cdr.hold = 0;
	cdr_post(ch);
	if (ch->peer && ch->peer->peer == ch)
		ch->peer->peer = NULL;
	registry_remove(ch);
	while (ch->watchers.head)
		list_unlink(ch->watchers.head);
	mem_deref(ch->gen);
	mem_deref(ch->cl_num);
	mem_deref(ch->cl_name);
	list_flush(&ch->hhandlers);
	list_flush(&ch->vars);
	mem_deref(ch->name);
	mem_deref(ch->context);
	mem_deref(ch->exten);
	mem_deref(ch->cid_num);
	mem_deref(ch->cid_name);
	mem_deref(ch->cdr.dst);
	mem_deref(ch->cdr.dcontext);
	mem_deref(ch->cdr.lastapp);
	mem_deref(ch->cdr.lastdata);
	mem_deref(ch->cdr.dstchannel);
	mem_deref(ch->cdr.disposition);
	mem_deref(ch->cdr.userfield);
	mem_deref(ch->cdr.recordingfile);
	mem_deref(ch->cdr.accountcode);
}

static int inherit_vars(struct chan *ch, const struct chan *parent)
{
	for (struct le *le = list_head(&parent->vars); le; le = le->next) {
		const struct chan_var *v = le->data;
		int err;

		if (v->name[0] != '_')
			continue;
		/* `_X` arrives as `X` (stops here); `__X` keeps propagating. */
		err = vars_set(&ch->vars, v->name[1] == '_' ? v->name : v->name + 1,
			       v->value);
		if (err)
			return err;
	}
	return 0;
}

int chan_alloc(struct chan **chp, const struct chan_tech *tech, void *pvt,
	       const char *resource, const struct chan *parent)
{
	struct chan *ch;
	int err;

	if (!chp || !tech || !tech->name || !resource)
		return EINVAL;
	if (!mod.by_name || !mod.by_id || !mod.by_dev)
		chan_init(mod.cdrh, mod.cdr_arg);
	if (!mod.by_name || !mod.by_id || !mod.by_dev)
		return ENOMEM;
	ch = mem_zalloc(sizeof(*ch), chan_destructor);
	if (!ch)
		return ENOMEM;
	ch->tech = tech;
	ch->pvt = pvt;
	ch->created_us = now_us();
	re_snprintf(ch->uniqueid, sizeof(ch->uniqueid), "%llu.%u",
		    (unsigned long long)(ch->created_us / 1000000u), mod.id_counter++);
	re_snprintf(ch->linkedid, sizeof(ch->linkedid), "%s",
		    parent ? parent->linkedid : ch->uniqueid);
	err = re_sdprintf(&ch->name, "%s/%s-%08x", tech->name, resource,
			  mod.name_counter++);
	if (!err && parent)
		err = inherit_vars(ch, parent);
	if (err)
		goto out;
	list_append(&mod.all, &ch->le_all, ch);
	hash_append(mod.by_name, hash_joaat_str(ch->name), &ch->le_name, ch);
	hash_append(mod.by_id, hash_joaat_str(ch->uniqueid), &ch->le_id, ch);
	hash_append(mod.by_dev, hash_joaat_ci(resource, strlen(resource)), &ch->le_dev, ch);
	ch->registered = true;
 out:
	if (err)
		mem_deref(ch);
	else
		*chp = ch;
	return err;
}

void *chan_pvt(const struct chan *ch) { return ch ? ch->pvt : NULL; }
void chan_set_pvt(struct chan *ch, void *pvt) { if (ch) ch->pvt = pvt; }
const struct chan_tech *chan_tech(const struct chan *ch) { return ch ? ch->tech : NULL; }
const char *chan_name(const struct chan *ch) { return ch ? ch->name : NULL; }
const char *chan_uniqueid(const struct chan *ch) { return ch ? ch->uniqueid : NULL; }
const char *chan_linkedid(const struct chan *ch) { return ch ? ch->linkedid : NULL; }
enum chan_state chan_state(const struct chan *ch) { return ch ? ch->state : CHAN_STATE_DOWN; }
bool chan_is_hungup(const struct chan *ch) { return !ch || ch->hungup; }
int chan_cause(const struct chan *ch) { return ch ? ch->cause : 0; }
void chan_set_cause(struct chan *ch, int cause) { if (ch) ch->cause = cause; }
uint64_t chan_created_us(const struct chan *ch) { return ch ? ch->created_us : 0; }
const char *chan_context(const struct chan *ch) { return ch && ch->context ? ch->context : ""; }
const char *chan_exten(const struct chan *ch) { return ch && ch->exten ? ch->exten : ""; }
uint32_t chan_location_seq(const struct chan *ch) { return ch ? ch->loc_seq : 0; }
const char *chan_cid_num(const struct chan *ch) { return ch && ch->cid_num ? ch->cid_num : ""; }
const char *chan_cid_name(const struct chan *ch) { return ch && ch->cid_name ? ch->cid_name : ""; }
void *chan_dialplan_state(const struct chan *ch) { return ch ? ch->dp_state : NULL; }
void chan_set_dialplan_state(struct chan *ch, void *st) { if (ch) ch->dp_state = st; }
struct chan *chan_bridged_peer(const struct chan *ch) { return ch ? ch->peer : NULL; }
uint32_t chan_count(void) { return list_count(&mod.all); }

const char *chan_state_name(enum chan_state st)
{
	/* Asterisk's ast_state2str spelling, as CHANNEL(state) shows it. */
	switch (st) {
	case CHAN_STATE_DOWN:    return "Down";
	case CHAN_STATE_RINGING: return "Ringing";
	case CHAN_STATE_UP:      return "Up";
	}
	return "Unknown";
}

/* Replace *dst with a copy of src (NULL clears). */
static int str_replace(char **dst, const char *src)
{
	char *s = NULL;

	if (src) {
		int err = str_dup(&s, src);
		if (err)
			return err;
	}
	mem_deref(*dst);
	*dst = s;
	return 0;
}

int chan_set_location(struct chan *ch, const char *context, const char *exten)
{
	int err;

	char *c = NULL, *e = NULL;

	if (!ch || !context || !exten)
		return EINVAL;
	/* Copy first: callers pass chan_context(ch) back in. */
	err = str_dup(&c, context);
	err |= str_dup(&e, exten);
	if (err) {
		mem_deref(c);
		mem_deref(e);
		return err;
	}
	mem_deref(ch->context);
	mem_deref(ch->exten);
	ch->context = c;
	ch->exten = e;
	++ch->loc_seq;
	/* The `h` run is bookkeeping, not where the call went (Asterisk keeps
	 * dst/dcontext out of the hangup extension). */
	if (strcmp(e, "h")) {
		err = str_replace(&ch->cdr.dst, e);
		err |= str_replace(&ch->cdr.dcontext, c);
	}
	return err;
}

int chan_set_cid(struct chan *ch, const char *num, const char *name)
{
	int err;

	char *n = NULL, *m = NULL;

	if (!ch)
		return EINVAL;
	/* Copy first: callers pass the current values back in. */
	err = num ? str_dup(&n, num) : 0;
	err |= name ? str_dup(&m, name) : 0;
	if (err) {
		mem_deref(n);
		mem_deref(m);
		return err;
	}
	mem_deref(ch->cid_num);
	mem_deref(ch->cid_name);
	ch->cid_num = n;
	ch->cid_name = m;
	return 0;
}

/* ---- variables ---- */

static const char *builtin_get(struct chan *ch, const char *name)
{
	if (!strcmp(name, "EXTEN"))
		return chan_exten(ch);
	if (!strcmp(name, "CONTEXT"))
		return chan_context(ch);
	if (!strcmp(name, "PRIORITY"))
		return "1";        /* Lua extensions exist only at priority 1 */
	if (!strcmp(name, "CHANNEL"))
		return ch->name;
	if (!strcmp(name, "UNIQUEID"))
		return ch->uniqueid;
	if (!strcmp(name, "HANGUPCAUSE")) {
		re_snprintf(ch->scratch, sizeof(ch->scratch), "%d", ch->cause);
		return ch->scratch;
	}
	if (!strcmp(name, "EPOCH")) {
		re_snprintf(ch->scratch, sizeof(ch->scratch), "%llu",
			    (unsigned long long)time(NULL));
		return ch->scratch;
	}
	return NULL;
}

const char *chan_var_get(struct chan *ch, const char *name)
{
	const struct chan_var *v;
	const char *s;

	if (!ch || !name)
		return NULL;
	s = builtin_get(ch, name);
	if (s)
		return s;
	v = vars_find(&ch->vars, name);
	if (v)
		return v->value;
	return chan_global_get(name);
}

int chan_var_set(struct chan *ch, const char *name, const char *value)
{
	if (!ch || !name)
		return EINVAL;
	return vars_set(&ch->vars, name, value);
}

void chan_var_apply(const struct chan *ch, chan_var_h *h, void *arg)
{
	if (!ch || !h)
		return;
	for (struct le *le = list_head(&ch->vars); le; le = le->next) {
		const struct chan_var *v = le->data;
		h(v->name, v->value, arg);
	}
}

/* ---- expressions: FUNC(args) and VAR:offset:length ---- */

static int out_str(char *buf, size_t sz, const char *s)
{
	if (!buf || !sz)
		return EINVAL;
	str_ncpy(buf, s ? s : "", sz);
	return 0;
}

/* Asterisk's substring() (main/pbx_variables.c), negative values included. */
static void substring(const char *val, long offset, long length, char *buf, size_t sz)
{
	long lr = (long)strlen(val);

	if (offset < 0) {
		offset += lr;
		if (offset < 0)
			offset = 0;
	}
	if (offset >= lr) {
		out_str(buf, sz, "");
		return;
	}
	if (length < 0) {
		length = lr - offset + length;
		if (length < 0)
			length = 0;
	}
	else if (length > lr - offset) {
		length = lr - offset;
	}
	if ((size_t)length >= sz)
		length = (long)sz - 1;
	memcpy(buf, val + offset, (size_t)length);
	buf[length] = '\0';
}

static int var_read(struct chan *ch, const char *expr, char *buf, size_t sz)
{
	char name[256];
	const char *colon = strchr(expr, ':');
	long offset = 0, length = LONG_MAX;
	const char *val;
	size_t n = colon ? (size_t)(colon - expr) : strlen(expr);

	if (n >= sizeof(name))
		return ENAMETOOLONG;
	memcpy(name, expr, n);
	name[n] = '\0';
	val = chan_var_get(ch, name);
	if (!val)
		return ENOENT;
	if (!colon)
		return out_str(buf, sz, val);
	offset = strtol(colon + 1, NULL, 10);
	colon = strchr(colon + 1, ':');
	if (colon && colon[1])
		length = strtol(colon + 1, NULL, 10);
	substring(val, offset, length, buf, sz);
	return 0;
}

static void time_print(uint64_t us, char *buf, size_t sz)
{
	time_t t = (time_t)(us / 1000000u);
	struct tm tm;

	if (!us) {
		out_str(buf, sz, "");
		return;
	}
	localtime_r(&t, &tm);
	strftime(buf, sz, "%Y-%m-%d %H:%M:%S", &tm);
}

static int rd_read(struct chan *ch, const char *f, char *buf, size_t sz);
static int rd_write(struct chan *ch, const char *f, const char *value);

static int cdr_read(struct chan *ch, const char *f, char *buf, size_t sz)
{
	struct cdr_rec r;
	char clid[256];

	cdr_fill(ch, &r, clid, sizeof(clid));
	if (!ch->end_us && !ch->cdr.disposition && !ch->answer_us)
		r.disposition = "NO ANSWER";   /* unset prints as NO ANSWER */
	const struct { const char *n; const char *v; } s[] = {
		{"clid", r.clid}, {"src", r.src}, {"dst", r.dst},
		{"dcontext", r.dcontext}, {"channel", r.channel},
		{"dstchannel", r.dstchannel}, {"lastapp", r.lastapp},
		{"lastdata", r.lastdata}, {"disposition", r.disposition},
		{"uniqueid", r.uniqueid}, {"linkedid", r.linkedid},
		{"userfield", r.userfield}, {"accountcode", r.accountcode},
		{"recordingfile", r.recordingfile},
	};
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		if (!strcmp(f, s[i].n))
			return out_str(buf, sz, s[i].v);
	if (!strcmp(f, "start"))
		time_print(r.start_us, buf, sz);
	else if (!strcmp(f, "answer"))
		time_print(r.answer_us, buf, sz);
	else if (!strcmp(f, "end"))
		time_print(ch->end_us, buf, sz);
	else if (!strcmp(f, "duration"))
		re_snprintf(buf, sz, "%lld", (long long)r.duration);
	else if (!strcmp(f, "billsec"))
		re_snprintf(buf, sz, "%lld", (long long)r.billsec);
	else
		return out_str(buf, sz, "");   /* unknown CDR variable reads empty */
	return 0;
}

static int channel_read(struct chan *ch, const char *f, char *buf, size_t sz)
{
	if (!strcmp(f, "name"))
		return out_str(buf, sz, ch->name);
	if (!strcmp(f, "uniqueid"))
		return out_str(buf, sz, ch->uniqueid);
	if (!strcmp(f, "linkedid"))
		return out_str(buf, sz, ch->linkedid);
	if (!strcmp(f, "state"))
		return out_str(buf, sz, chan_state_name(ch->state));
	if (!strcmp(f, "context"))
		return out_str(buf, sz, chan_context(ch));
	if (!strcmp(f, "exten"))
		return out_str(buf, sz, chan_exten(ch));
	if (!strcmp(f, "channeltype"))
		return out_str(buf, sz, ch->tech->name);
	if (!strcmp(f, "hangupcause"))
		return re_snprintf(buf, sz, "%d", ch->cause) < 0 ? EINVAL : 0;
	if (!strcmp(f, "language"))
		return out_str(buf, sz, chan_var_get(ch, "CHANNEL_LANGUAGE"));
	if (!strcmp(f, "musicclass"))
		return out_str(buf, sz, chan_var_get(ch, "CHANNEL_MUSICCLASS"));
	return ENOENT;
}

static int callerid_read(struct chan *ch, const char *f, char *buf, size_t sz)
{
	if (!strcmp(f, "num") || !strcmp(f, "number"))
		return out_str(buf, sz, chan_cid_num(ch));
	if (!strcmp(f, "name"))
		return out_str(buf, sz, chan_cid_name(ch));
	if (!strcmp(f, "all")) {
		re_snprintf(buf, sz, "\"%s\" <%s>", chan_cid_name(ch), chan_cid_num(ch));
		return 0;
	}
	return EINVAL;
}

/* "family/key" -> two strings in buf. */
static int db_split(const char *args, char *fam, size_t sz, const char **key)
{
	const char *slash = strchr(args, '/');

	if (!slash || slash == args || !slash[1] || (size_t)(slash - args) >= sz)
		return EINVAL;
	memcpy(fam, args, (size_t)(slash - args));
	fam[slash - args] = '\0';
	*key = slash + 1;
	return 0;
}

static int db_read(const char *args, bool del, char *buf, size_t sz)
{
	char fam[256];
	const char *key;
	int err = db_split(args, fam, sizeof(fam), &key);

	if (err)
		return err;
	if (!mod.db_get)
		return ENOSYS;
	/* A missing key reads as empty, as func_db does. */
	err = mod.db_get(fam, key, buf, sz, mod.db_arg);
	if (err == ENOENT)
		return out_str(buf, sz, "");
	if (err)
		return err;
	if (del && mod.db_del)
		err = mod.db_del(fam, key, mod.db_arg);
	return err;
}

static int db_write(const char *args, const char *value)
{
	char fam[256];
	const char *key;
	int err = db_split(args, fam, sizeof(fam), &key);

	if (err)
		return err;
	if (!mod.db_put)
		return ENOSYS;
	return mod.db_put(fam, key, value, mod.db_arg);
}

/* Split "FUNC(args)" into name and args; false if expr is not a call. */
static bool func_split(const char *expr, char *name, size_t nsz, char *args, size_t asz)
{
	const char *lp = strchr(expr, '(');
	size_t len = strlen(expr), n;

	if (!lp || !len || expr[len - 1] != ')')
		return false;
	n = (size_t)(lp - expr);
	if (n >= nsz || len - n - 2 >= asz)
		return false;
	memcpy(name, expr, n);
	name[n] = '\0';
	memcpy(args, lp + 1, len - n - 2);
	args[len - n - 2] = '\0';
	return true;
}

void chan_set_reachable_h(chan_reachable_h *h, void *arg)
{
	mod.reachh = h;
	mod.reach_arg = arg;
}

/* When a resource's last channel ended; one per phone or trunk seen. */
struct devend {
	struct le le;
	char res[64];
	uint64_t end_us;
};

static bool devend_cmp(struct le *le, void *arg)
{
	const struct devend *d = le->data;

	return !strcasecmp(d->res, arg);
}

static struct devend *devend_find(const char *res)
{
	struct le *le = mod.dev_end ? hash_lookup(mod.dev_end,
						  hash_joaat_ci(res, strlen(res)),
						  devend_cmp, (void *)res) : NULL;

	return le ? le->data : NULL;
}

/* A SIP/PJSIP channel ended: its resource was busy until now. */
static void devend_note(const struct chan *ch)
{
	const char *r = strchr(ch->name, '/'), *dash = strrchr(ch->name, '-');
	char res[64];
	struct devend *d;

	if (!mod.dev_end || !r || !dash || dash <= r + 1 || (size_t)(dash - r) > sizeof(res) ||
	    (strncasecmp(ch->name, "SIP/", 4) && strncasecmp(ch->name, "PJSIP/", 6)))
		return;
	str_ncpy(res, r + 1, (size_t)(dash - r));
	d = devend_find(res);
	if (!d) {
		d = mem_zalloc(sizeof(*d), NULL);
		if (!d)
			return;
		str_ncpy(d->res, res, sizeof(d->res));
		hash_append(mod.dev_end, hash_joaat_ci(res, strlen(res)), &d->le, d);
	}
	d->end_us = ch->end_us;
}

/* A live SIP or PJSIP channel of resource ("1001" for SIP/1001-0000001a):
 * the device index holds them by resource, so a queue asking for each of
 * its members does not walk every channel. */
static bool device_busy(const char *res)
{
	size_t n = strlen(res);
	struct le *le = mod.by_dev ? hash_list(mod.by_dev, hash_joaat_ci(res, n))->head
				   : NULL;

	for (; le; le = le->next) {
		const struct chan *ch = le->data;
		const char *r = strchr(ch->name, '/');

		if (ch->hungup || !r || (strncasecmp(ch->name, "SIP/", 4) &&
					 strncasecmp(ch->name, "PJSIP/", 6)))
			continue;
		if (!strncasecmp(r + 1, res, n) && r[1 + n] == '-')
			return true;
	}
	return false;
}

/* Asterisk's device states for "TECH/resource": UNAVAILABLE when it is not
 * registered, INUSE with a live channel, NOT_INUSE otherwise. */
const char *chan_device_state(const char *dev)
{
	const char *slash = strchr(dev, '/');
	char tech[16];

	if (!slash || (size_t)(slash - dev) >= sizeof(tech))
		return "INVALID";
	str_ncpy(tech, dev, (size_t)(slash - dev) + 1);
	if (mod.reachh && !mod.reachh(tech, slash + 1, mod.reach_arg))
		return "UNAVAILABLE";
	return device_busy(slash + 1) ? "INUSE" : "NOT_INUSE";
}

void chan_routine_complete(const struct chan *ch, const char *arg, char *out, size_t sz)
{
	const char *paren = strchr(arg, '(');
	size_t head = paren ? (size_t)(paren - arg) : strlen(arg);
	unsigned seps = 0;

	for (size_t i = 0; i < head; i++)
		seps += arg[i] == '^' || arg[i] == ',';
	if (seps >= 2)
		str_ncpy(out, arg, sz);
	else if (seps == 1)
		(void)re_snprintf(out, sz, "%s^%s", chan_context(ch), arg);
	else
		(void)re_snprintf(out, sz, "%s^%s^%s", chan_context(ch), chan_exten(ch), arg);
}

uint32_t chan_device_idle_s(const char *dev)
{
	const char *slash = dev ? strchr(dev, '/') : NULL;
	const struct devend *d;
	uint64_t now = now_us();

	if (!slash)
		return UINT32_MAX;
	if (device_busy(slash + 1))
		return 0;
	d = devend_find(slash + 1);
	if (!d)
		return UINT32_MAX;
	return now > d->end_us ? (uint32_t)((now - d->end_us) / 1000000u) : 0;
}

int chan_expr_read(struct chan *ch, const char *expr, char *buf, size_t sz)
{
	char name[64], args[1024];
	const char *g;

	if (!ch || !expr || !buf || !sz)
		return EINVAL;
	if (!func_split(expr, name, sizeof(name), args, sizeof(args)))
		return var_read(ch, expr, buf, sz);
	if (!strcmp(name, "CALLERID"))
		return callerid_read(ch, args, buf, sz);
	if (!strcmp(name, "CHANNEL"))
		return channel_read(ch, args, buf, sz);
	if (!strcmp(name, "CDR"))
		return cdr_read(ch, args, buf, sz);
	if (!strcmp(name, "HANGUPCAUSE"))
		return re_snprintf(buf, sz, "%d", ch->cause) < 0 ? EINVAL : 0;
	if (!strcmp(name, "GLOBAL")) {
		g = chan_global_get(args);
		return out_str(buf, sz, g);
	}
	if (!strcmp(name, "REDIRECTING"))
		return rd_read(ch, args, buf, sz);
	if (!strcmp(name, "CONNECTEDLINE")) {
		if (!strcmp(args, "num") || !strcmp(args, "number"))
			return out_str(buf, sz, ch->cl_num);
		if (!strcmp(args, "name"))
			return out_str(buf, sz, ch->cl_name);
		return ENOENT;
	}
	if (!strcmp(name, "DEVICE_STATE"))
		return out_str(buf, sz, chan_device_state(args));
	if (!strcmp(name, "DB"))
		return db_read(args, false, buf, sz);
	if (!strcmp(name, "DB_DELETE"))
		return db_read(args, true, buf, sz);
	return ENOENT;
}

/* ast_callerid_split: `"Name" <num>`, `Name <num>`, a bare number or name. */
static int callerid_all_write(struct chan *ch, const char *v)
{
	char name[256] = "", num[128] = "";
	const char *lt = strchr(v, '<'), *gt = lt ? strchr(lt, '>') : NULL;

	if (lt && gt) {
		size_t n = (size_t)(lt - v);
		const char *s = v;
		while (n && isspace((unsigned char)s[n - 1]))
			--n;
		while (n && isspace((unsigned char)*s))
			++s, --n;
		if (n >= 2 && s[0] == '"' && s[n - 1] == '"')
			++s, n -= 2;
		re_snprintf(name, sizeof(name), "%b", s, n);
		re_snprintf(num, sizeof(num), "%b", lt + 1, (size_t)(gt - lt - 1));
	}
	else if (strspn(v, "0123456789+*#") == strlen(v)) {
		str_ncpy(num, v, sizeof(num));
	}
	else {
		str_ncpy(name, v, sizeof(name));
	}
	return chan_set_cid(ch, num, name);
}

static int cdr_write(struct chan *ch, const char *f, const char *value)
{
	if (!strcmp(f, "userfield"))
		return str_replace(&ch->cdr.userfield, value);
	if (!strcmp(f, "accountcode"))
		return str_replace(&ch->cdr.accountcode, value);
	if (!strcmp(f, "recordingfile"))
		return str_replace(&ch->cdr.recordingfile, value);
	return EPERM;
}

static void hh_destructor(void *data)
{
	struct hh *h = data;

	list_unlink(&h->le);
	mem_deref(h->loc);
}

/* Missing context/exten are filled from where the channel is now (§4.6). */
static int hh_push(struct chan *ch, const char *loc)
{
	const char *paren = strchr(loc, '(');
	size_t head = paren ? (size_t)(paren - loc) : strlen(loc);
	unsigned commas = 0;
	struct hh *h;
	int err;

	for (size_t i = 0; i < head; i++)
		commas += loc[i] == ',' || loc[i] == '^';
	h = mem_zalloc(sizeof(*h), hh_destructor);
	if (!h)
		return ENOMEM;
	if (commas >= 2)
		err = str_dup(&h->loc, loc);
	else if (commas == 1)
		err = re_sdprintf(&h->loc, "%s,%s", chan_context(ch), loc);
	else
		err = re_sdprintf(&h->loc, "%s,%s,%s", chan_context(ch), chan_exten(ch), loc);
	if (err) {
		mem_deref(h);
		return err;
	}
	list_prepend(&ch->hhandlers, &h->le, h);
	return 0;
}

static void notify(struct chan *ch, enum chan_event ev);

static int hh_write(struct chan *ch, const char *op, const char *value)
{
	if (!strcmp(op, "push"))
		return str_isset(value) ? hh_push(ch, value) : EINVAL;
	if (!strcmp(op, "pop")) {
		mem_deref(list_ledata(ch->hhandlers.head));
		return str_isset(value) ? hh_push(ch, value) : 0;
	}
	if (!strcmp(op, "wipe")) {
		list_flush(&ch->hhandlers);
		return str_isset(value) ? hh_push(ch, value) : 0;
	}
	return EINVAL;
}

bool chan_hangup_handlers_claim(struct chan *ch)
{
	if (!ch || ch->hh_claimed || !ch->hhandlers.head)
		return false;
	ch->hh_claimed = true;
	return true;
}

char *chan_hangup_handler_pop(struct chan *ch)
{
	struct hh *h = ch ? list_ledata(ch->hhandlers.head) : NULL;
	char *loc;

	if (!h)
		return NULL;
	loc = mem_ref(h->loc);
	mem_deref(h);
	return loc;
}

void chan_set_hangup_hook(chan_end_hook_h *h, void *arg)
{
	mod.hanguph = h;
	mod.hangup_arg = arg;
}

void chan_set_redirect_hook(chan_end_hook_h *h, void *arg)
{
	mod.redirecth = h;
	mod.redirect_arg = arg;
}

int chan_redirect(struct chan *ch, const char *ctx, const char *exten)
{
	int err;

	if (!ch || !str_isset(ctx) || !str_isset(exten))
		return EINVAL;
	if (ch->hungup)
		return ENOTCONN;
	err = chan_set_location(ch, ctx, exten);
	if (err)
		return err;
	/* ctx/exten may have been the channel's own strings, now replaced */
	log_info("chan: redirect to %s@%s (channel=%s)", chan_exten(ch), chan_context(ch),
		 ch->name);
	mem_ref(ch);
	notify(ch, CHAN_EV_REDIRECT);      /* Dial, Wait, prompts let it go */
	if (!ch->dp_state && !ch->hungup && mod.redirecth)
		mod.redirecth(ch, mod.redirect_arg);
	mem_deref(ch);
	return 0;
}

void chan_take(struct chan *ch)
{
	if (!ch || ch->hungup)
		return;
	mem_ref(ch);
	notify(ch, CHAN_EV_TAKEN);
	mem_deref(ch);
}

bool chan_replace(struct chan *old, struct chan *by)
{
	bool adopted;

	if (!old || !by || old->hungup)
		return false;
	mem_ref(old);
	old->replacement = by;
	old->adopted = false;
	notify(old, CHAN_EV_REPLACED);
	adopted = old->adopted;
	old->replacement = NULL;
	mem_deref(old);
	return adopted;
}

struct chan *chan_replacement(const struct chan *ch)
{
	return ch ? ch->replacement : NULL;
}

void chan_replace_adopted(struct chan *old)
{
	if (old)
		old->adopted = true;
}

void chan_set_dial_callee(struct chan *ch, bool on)
{
	if (ch)
		ch->dial_callee = on;
}

bool chan_is_dial_callee(const struct chan *ch)
{
	return ch && ch->dial_callee;
}

int chan_expr_write(struct chan *ch, const char *expr, const char *value)
{
	char name[64], args[1024];

	if (!ch || !expr)
		return EINVAL;
	if (!value)
		value = "";
	if (!func_split(expr, name, sizeof(name), args, sizeof(args)))
		return chan_var_set(ch, expr, value);
	if (!strcmp(name, "CALLERID")) {
		if (!strcmp(args, "num") || !strcmp(args, "number"))
			return chan_set_cid(ch, value, ch->cid_name);
		if (!strcmp(args, "name"))
			return chan_set_cid(ch, ch->cid_num, value);
		if (!strcmp(args, "all"))
			return callerid_all_write(ch, value);
		return EINVAL;
	}
	if (!strcmp(name, "CDR"))
		return cdr_write(ch, args, value);
	if (!strcmp(name, "REDIRECTING"))
		return rd_write(ch, args, value);
	if (!strcmp(name, "CONNECTEDLINE")) {
		if (!strcmp(args, "num") || !strcmp(args, "number"))
			return str_replace(&ch->cl_num, value);
		if (!strcmp(args, "name"))
			return str_replace(&ch->cl_name, value);
		return EINVAL;
	}
	if (!strcmp(name, "GLOBAL"))
		return chan_global_set(args, value);
	if (!strcmp(name, "DB"))
		return db_write(args, value);
	if (!strcmp(name, "CHANNEL") && !strncmp(args, "hangup_handler_", 15))
		return hh_write(ch, args + 15, value);
	if (!strcmp(name, "CHANNEL") && !strcmp(args, "language"))
		return chan_var_set(ch, "CHANNEL_LANGUAGE", value);
	if (!strcmp(name, "CHANNEL") && !strcmp(args, "musicclass"))
		return chan_var_set(ch, "CHANNEL_MUSICCLASS", value);
	if (!strcmp(name, "CHANNEL") || !strcmp(name, "HANGUPCAUSE") ||
	    !strcmp(name, "DB_DELETE"))
		return EPERM;
	return ENOENT;
}

/* ---- causes ---- */

static const struct { int cause; const char *name; } cause_names[] = {
	{0, "NOTDEFINED"}, {1, "UNALLOCATED"}, {2, "NO_ROUTE_TRANSIT_NET"},
	{3, "NO_ROUTE_DESTINATION"}, {16, "NORMAL_CLEARING"}, {17, "USER_BUSY"},
	{17, "BUSY"}, {18, "NO_USER_RESPONSE"}, {19, "NO_ANSWER"}, {19, "NOANSWER"},
	{20, "SUBSCRIBER_ABSENT"}, {20, "UNREGISTERED"}, {21, "CALL_REJECTED"},
	{22, "NUMBER_CHANGED"}, {23, "REDIRECTED_TO_NEW_DESTINATION"},
	{26, "ANSWERED_ELSEWHERE"}, {27, "DESTINATION_OUT_OF_ORDER"},
	{28, "INVALID_NUMBER_FORMAT"}, {29, "FACILITY_REJECTED"},
	{31, "NORMAL_UNSPECIFIED"}, {34, "NORMAL_CIRCUIT_CONGESTION"},
	{34, "CONGESTION"}, {38, "NETWORK_OUT_OF_ORDER"}, {38, "FAILURE"},
	{41, "NORMAL_TEMPORARY_FAILURE"}, {42, "SWITCH_CONGESTION"},
	{44, "REQUESTED_CHAN_UNAVAIL"}, {58, "BEARERCAPABILITY_NOTAVAIL"},
	{66, "CHAN_NOT_IMPLEMENTED"}, {66, "NOSUCHDRIVER"},
	{88, "INCOMPATIBLE_DESTINATION"}, {102, "RECOVERY_ON_TIMER_EXPIRE"},
	{111, "PROTOCOL_ERROR"}, {127, "INTERWORKING"},
};

int chan_cause_parse(const char *s)
{
	char *end;
	long v;

	if (!str_isset(s))
		return -1;
	v = strtol(s, &end, 10);
	if (end != s && !*end)
		return (v >= 0 && v <= 127) ? (int)v : -1;
	for (size_t i = 0; i < sizeof(cause_names) / sizeof(cause_names[0]); i++)
		if (!str_casecmp(s, cause_names[i].name))
			return cause_names[i].cause;
	return -1;
}

/* ---- state machine ---- */

/* Watchers may remove themselves or others while being notified: move them
 * to a private list and take one at a time, so a removal unlinks from
 * whichever list the watcher is on and is never called afterwards. */
static void notify(struct chan *ch, enum chan_event ev)
{
	struct list pending = LIST_INIT;

	mem_ref(ch);
	while (ch->watchers.head) {
		struct le *le = ch->watchers.head;
		list_unlink(le);
		list_append(&pending, le, le->data);
	}
	while (pending.head) {
		struct chan_watch *w = pending.head->data;
		list_unlink(&w->le);
		list_append(&ch->watchers, &w->le, w);
		if (w->h)
			w->h(ch, ev, w->arg);
	}
	mem_deref(ch);
}

void chan_watch_add(struct chan *ch, struct chan_watch *w, chan_event_h *h, void *arg)
{
	if (!ch || !w)
		return;
	list_unlink(&w->le);
	w->h = h;
	w->arg = arg;
	list_append(&ch->watchers, &w->le, w);
}

void chan_watch_remove(struct chan_watch *w)
{
	if (w)
		list_unlink(&w->le);
}

static void mark_answered(struct chan *ch)
{
	ch->state = CHAN_STATE_UP;
	if (!ch->answer_us)
		ch->answer_us = now_us();
}

int chan_answer(struct chan *ch)
{
	int err;

	if (!ch)
		return EINVAL;
	if (ch->hungup)
		return ENOTCONN;
	if (ch->state == CHAN_STATE_UP)
		return 0;
	if (ch->tech->answer) {
		err = ch->tech->answer(ch);
		if (err)
			return err;
	}
	mark_answered(ch);
	return 0;
}

int chan_indicate(struct chan *ch, uint16_t scode)
{
	int err = 0;

	if (!ch)
		return EINVAL;
	if (ch->hungup)
		return ENOTCONN;
	if (ch->tech->indicate)
		err = ch->tech->indicate(ch, scode);
	if (!err && scode == 180 && ch->state == CHAN_STATE_DOWN)
		ch->state = CHAN_STATE_RINGING;
	return err;
}

/* ---- redirecting (§4.4) ---- */

static const char *const rd_fields[] = { "from-num", "from-name", "to-num", "to-name",
					 "reason", "count" };

static bool rd_field_ok(const char *f)
{
	for (size_t i = 0; i < ARRAY_SIZE(rd_fields); i++)
		if (!strcmp(f, rd_fields[i]))
			return true;
	return false;
}

/* Kept as variables "REDIRECTING(<field>)": a name no dialplan variable
 * can have, and one that dies with the channel like the rest. */
static int rd_read(struct chan *ch, const char *f, char *buf, size_t sz)
{
	char var[32];

	if (!rd_field_ok(f))
		return ENOENT;
	(void)re_snprintf(var, sizeof(var), "REDIRECTING(%s)", f);
	return out_str(buf, sz, chan_var_get(ch, var));
}

static int rd_write(struct chan *ch, const char *f, const char *value)
{
	char var[32];

	if (!rd_field_ok(f))
		return EINVAL;
	(void)re_snprintf(var, sizeof(var), "REDIRECTING(%s)", f);
	return chan_var_set(ch, var, value);
}

void chan_redirecting_signal(struct chan *ch, const char *from, const char *to,
			     const char *reason)
{
	if (!ch || ch->hungup)
		return;
	(void)rd_write(ch, "from-num", from);
	(void)rd_write(ch, "to-num", to);
	(void)rd_write(ch, "reason", reason ? reason : "unknown");
	notify(ch, CHAN_EV_REDIRECTING);
}

/* An interception routine's location from the channel variable var and
 * var_ARGS ("ctx,exten,1(args)"); false when var is not set. */
static bool sub_location(struct chan *ch, const char *var, char *loc, size_t sz)
{
	const char *sub = chan_var_get(ch, var), *args;
	char avar[64];

	if (!str_isset(sub))
		return false;
	(void)re_snprintf(avar, sizeof(avar), "%s_ARGS", var);
	args = chan_var_get(ch, avar);
	if (str_isset(args))
		(void)re_snprintf(loc, sz, "%s(%s)", sub, args);
	else
		str_ncpy(loc, sub, sz);
	return true;
}

void chan_redirecting_pass(struct chan *to, struct chan *from)
{
	char count[16], loc[300];

	if (!to || !from || to->hungup)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(rd_fields) - 1; i++) {
		char var[32];

		(void)re_snprintf(var, sizeof(var), "REDIRECTING(%s)", rd_fields[i]);
		(void)chan_var_set(to, var, chan_var_get(from, var));
	}
	(void)re_snprintf(count, sizeof(count), "%d",
			  atoi(chan_var_get(to, "REDIRECTING(count)") ?
			       chan_var_get(to, "REDIRECTING(count)") : "0") + 1);
	(void)rd_write(to, "count", count);
	if (mod.rdsubh && (sub_location(to, "REDIRECTING_SEND_SUB", loc, sizeof(loc)) ||
			   sub_location(to, "REDIRECTING_CALLER_SEND_SUB", loc, sizeof(loc)))) {
		mod.rdsubh(to, loc, mod.rdsub_arg);
		return;
	}
	chan_redirecting_send(to);
}

void chan_redirecting_send(struct chan *ch)
{
	if (!ch || ch->hungup || !ch->tech->redirecting)
		return;
	if (ch->tech->redirecting(ch, chan_var_get(ch, "REDIRECTING(from-num)"),
				  chan_var_get(ch, "REDIRECTING(to-num)"),
				  chan_var_get(ch, "REDIRECTING(reason)")))
		log_debug("chan: redirecting not sent (channel=%s)", ch->name);
}

void chan_set_redirecting_sub_hook(chan_rd_sub_h *h, void *arg)
{
	mod.rdsubh = h;
	mod.rdsub_arg = arg;
}

void chan_set_connected_sub_hook(chan_cl_sub_h *h, void *arg)
{
	mod.clsubh = h;
	mod.clsub_arg = arg;
}

void chan_connected_send(struct chan *ch)
{
	if (!ch || ch->hungup || !ch->tech->connected_line)
		return;
	if (ch->tech->connected_line(ch, ch->cl_num, ch->cl_name))
		log_debug("chan: connected line not sent (channel=%s)", ch->name);
}

/* Who a party is for the one it talks to: a Dial callee is the number
 * that was dialled (its CALLERID is the caller's), others their CALLERID. */
static void party_id(const struct chan *p, char *num, size_t nsz, const char **name)
{
	const char *slash = strchr(p->name, '/'), *dash = strrchr(p->name, '-');

	if (p->dial_callee && slash && dash && dash > slash) {
		const char *s = strrchr(p->name, '/');   /* SIP/trunk/NUMBER too */
		(void)re_snprintf(num, nsz, "%b", s + 1, (size_t)(dash - s - 1));
		*name = "";
		return;
	}
	str_ncpy(num, p->cid_num ? p->cid_num : "", nsz);
	*name = p->cid_name ? p->cid_name : "";
}

/* Asterisk's linkedid: bridged channels share the oldest call's id
 * ("<epoch>.<seq>"), so a transferred call stays one call in the CDRs. */
static bool id_older(const char *a, const char *b)
{
	unsigned long long ea = 0, eb = 0;
	unsigned sa = 0, sb = 0;

	(void)sscanf(a, "%llu.%u", &ea, &sa);
	(void)sscanf(b, "%llu.%u", &eb, &sb);
	return ea < eb || (ea == eb && sa < sb);
}

static void linkedid_merge(struct chan *a, struct chan *b)
{
	if (id_older(a->linkedid, b->linkedid))
		str_ncpy(b->linkedid, a->linkedid, sizeof(b->linkedid));
	else if (id_older(b->linkedid, a->linkedid))
		str_ncpy(a->linkedid, b->linkedid, sizeof(a->linkedid));
}

/* §4.3: the first peer is who the phone called or answered; a later one
 * (after a transfer) is announced, through the interception routine. */
static void connected_update(struct chan *ch, struct chan *peer)
{
	const char *name;
	char num[64], loc[300];
	bool first = !ch->cl_set;

	party_id(peer, num, sizeof(num), &name);
	if (ch->cl_set && ch->cl_num && !strcmp(ch->cl_num, num))
		return;
	(void)str_replace(&ch->cl_num, num);
	(void)str_replace(&ch->cl_name, name);
	ch->cl_set = true;
	if (first)
		return;
	if (mod.clsubh && sub_location(ch, "CONNECTED_LINE_SEND_SUB", loc, sizeof(loc))) {
		mod.clsubh(ch, loc, mod.clsub_arg);
		return;
	}
	chan_connected_send(ch);
}

int chan_bridge(struct chan *a, struct chan *b)
{
	int err = 0;

	if (!a || !b || a == b)
		return EINVAL;
	if (a->hungup || b->hungup)
		return ENOTCONN;
	if (a->peer != b)
		chan_unbridge(a);
	if (b->peer != a)
		chan_unbridge(b);
	a->peer = b;
	b->peer = a;
	(void)chan_var_set(a, "BRIDGEPEER", b->name);
	(void)chan_var_set(b, "BRIDGEPEER", a->name);
	if (a->tech->bridge)
		err = a->tech->bridge(a, b);
	if (!err && b->tech->bridge)
		err = b->tech->bridge(b, a);
	if (err) {
		chan_unbridge(a);
		return err;
	}
	linkedid_merge(a, b);
	connected_update(a, b);
	connected_update(b, a);
	return 0;
}

void chan_unbridge(struct chan *a)
{
	struct chan *b = a ? a->peer : NULL;

	if (!b)
		return;
	a->peer = NULL;
	if (b->peer == a)
		b->peer = NULL;
	if (a->tech->bridge)
		a->tech->bridge(a, NULL);
	if (b->tech->bridge)
		b->tech->bridge(b, NULL);
}

static void do_hangup(struct chan *ch, int cause, bool tell_tech)
{
	if (!ch || ch->hungup)
		return;
	mem_ref(ch);
	ch->hungup = true;
	if (cause > 0)
		ch->cause = cause;
	else if (!ch->cause)
		ch->cause = CAUSE_NORMAL_CLEARING;
	ch->end_us = now_us();
	devend_note(ch);
	/* Disconnect media while both techs still hold their legs. */
	chan_unbridge(ch);
	ch->gen = mem_deref(ch->gen);
	ch->dtmfh = NULL;
	if (tell_tech && ch->tech->hangup)
		ch->tech->hangup(ch, ch->cause);
	notify(ch, CHAN_EV_HANGUP);
	if (mod.hanguph && ch->hhandlers.head && !ch->dp_state)
		mod.hanguph(ch, mod.hangup_arg);
	cdr_post(ch);
	registry_remove(ch);
	mem_deref(ch);
}

void chan_hangup(struct chan *ch, int cause)
{
	do_hangup(ch, cause, true);
}

void chan_remote_hangup(struct chan *ch, int cause)
{
	do_hangup(ch, cause, false);
}

void chan_signal(struct chan *ch, enum chan_event ev)
{
	if (!ch || ch->hungup)
		return;
	switch (ev) {
	case CHAN_EV_RINGING:
		if (ch->state == CHAN_STATE_DOWN)
			ch->state = CHAN_STATE_RINGING;
		break;
	case CHAN_EV_PROGRESS:
		break;
	case CHAN_EV_ANSWER:
		mark_answered(ch);
		break;
	case CHAN_EV_HANGUP:
		do_hangup(ch, 0, false);
		return;
	case CHAN_EV_REDIRECT:
	case CHAN_EV_TAKEN:
	case CHAN_EV_REPLACED:
	case CHAN_EV_REDIRECTING:
		return;                 /* raised by their own functions only */
	}
	notify(ch, ev);
}

/* ---- CDR setters ---- */

void chan_cdr_set_app(struct chan *ch, const char *app, const char *data)
{
	/* Apps run from `h` after the hangup do not replace the app that was
	 * running when the call ended (what CDR readers expect to see). */
	if (!ch || ch->hungup)
		return;
	str_replace(&ch->cdr.lastapp, app);
	str_replace(&ch->cdr.lastdata, data ? data : "");
}

void chan_cdr_set_peer(struct chan *ch, const char *dstchannel)
{
	if (ch)
		str_replace(&ch->cdr.dstchannel, dstchannel);
}

void chan_cdr_set_disposition(struct chan *ch, const char *disposition)
{
	if (ch)
		str_replace(&ch->cdr.disposition, disposition);
}

void chan_cdr_disable(struct chan *ch)
{
	if (ch)
		ch->cdr.disabled = true;
}

void chan_cdr_hold(struct chan *ch, bool hold)
{
	if (!ch)
		return;
	if (hold) {
		++ch->cdr.hold;
		return;
	}
	if (ch->cdr.hold && --ch->cdr.hold == 0 && ch->hungup)
		cdr_post(ch);
}

/* ---- registry ---- */

static bool name_cmp(struct le *le, void *arg)
{
	const struct chan *ch = le->data;
	return !strcmp(ch->name, arg);
}

static bool id_cmp(struct le *le, void *arg)
{
	const struct chan *ch = le->data;
	return !strcmp(ch->uniqueid, arg);
}

struct chan *chan_find(const char *name_or_id)
{
	struct le *le;

	if (!name_or_id || !mod.by_name)
		return NULL;
	le = hash_lookup(mod.by_name, hash_joaat_str(name_or_id), name_cmp,
			 (void *)name_or_id);
	if (!le)
		le = hash_lookup(mod.by_id, hash_joaat_str(name_or_id), id_cmp,
				 (void *)name_or_id);
	return le ? le->data : NULL;
}

struct apply_ctx { chan_apply_h *h; void *arg; };

static bool apply_one(struct le *le, void *arg)
{
	struct apply_ctx *c = arg;
	return c->h(le->data, c->arg);
}

struct chan *chan_apply(chan_apply_h *h, void *arg)
{
	struct apply_ctx c = { h, arg };
	struct le *le;

	if (!h)
		return NULL;
	le = list_apply(&mod.all, true, apply_one, &c);
	return le ? le->data : NULL;
}

/* --- media and DTMF ------------------------------------------------------- */

struct mstream *chan_media(const struct chan *ch)
{
	return ch && ch->tech->media ? ch->tech->media(ch) : NULL;
}

void chan_set_dtmf_handler(struct chan *ch, chan_dtmf_h *h, void *arg)
{
	if (!ch)
		return;
	ch->dtmfh = h;
	ch->dtmf_arg = arg;
	mstream_set_dtmf_consume(chan_media(ch), h != NULL);
}

void chan_dtmf_received(struct chan *ch, char digit, enum dtmf_src src)
{
	struct chan *peer;
	bool peer_te;

	if (!ch || ch->hungup)
		return;
	log_debug("chan: DTMF '%c' (channel=%s src=%d)", digit, ch->name, src);
	if (ch->dtmfh) {
		ch->dtmfh(ch, digit, ch->dtmf_arg);
		return;
	}
	peer = ch->peer;
	if (!peer)
		return;
	peer_te = peer->tech->takes_rfc4733 ? peer->tech->takes_rfc4733(peer)
					    : mstream_has_telephone_event(chan_media(peer));
	if (src == DTMF_SRC_INFO || (src == DTMF_SRC_RFC4733 && !peer_te) ||
	    (src == DTMF_SRC_INBAND && peer_te))
		(void)chan_send_dtmf(peer, digit, 100);
}

int chan_send_dtmf(struct chan *ch, char digit, uint32_t duration_ms)
{
	if (!ch || ch->hungup)
		return EINVAL;
	if (!ch->tech->send_dtmf)
		return ENOTSUP;
	return ch->tech->send_dtmf(ch, digit, duration_ms);
}

void chan_set_hold_hook(chan_hold_h *h)
{
	mod.holdh = h;
}

void chan_hold(struct chan *ch, bool held)
{
	if (!ch || ch->held == held)
		return;
	ch->held = held;
	log_info("chan: %s (channel=%s)", held ? "hold" : "unhold", ch->name);
	if (mod.holdh)
		mod.holdh(ch, held);
}

bool chan_is_held(const struct chan *ch)
{
	return ch && ch->held;
}

void chan_set_generator(struct chan *ch, void *gen)
{
	void *old;

	if (!ch)
		return;
	old = ch->gen;
	ch->gen = gen ? mem_ref(gen) : NULL;
	mem_deref(old);
}

void *chan_generator(const struct chan *ch)
{
	return ch ? ch->gen : NULL;
}
