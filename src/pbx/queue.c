/* queue: Queue(name[,options[,URL[,announceoverride[,timeout]]]]) and the
 * queues' members. A caller (entry) waits on music on hold; whenever
 * something changes (a caller joins, a member is freed, unpaused, added,
 * ends wrap-up) the waiting entries, in order, ring what their strategy
 * picks. Legs are made by the Dial technologies (dial_request).
 * Options (§7.1): c, n, r, m(class), the feature letters t/T/h/H/k/K/x/X,
 * B(routine) on the caller before it joins, b(routine) on each member leg
 * before it is called, C (members dropped without a winner end with
 * ANSWERED_ELSEWHERE), i (a member's forward is not followed: that member
 * is done for the round), I (accepted: member connected-line and
 * redirecting updates are never passed to a queue caller anyway). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <re.h>
#include "core/log.h"
#include "pbx/app.h"
#include "pbx/apps/media.h"
#include "pbx/chan.h"
#include "pbx/dest.h"
#include "pbx/dial.h"
#include "pbx/dialplan.h"
#include "pbx/features.h"
#include "pbx/queue.h"
#include "media/say.h"

#define QUEUE_MAX_PICK 256     /* members a strategy looks at per queue */

struct queue {
	struct le le;
	char name[64];
	enum qstrategy strategy;
	uint32_t timeout_s, retry_s, wrapup_s, maxlen;
	unsigned joinempty, leavewhenempty;
	char musicclass[64];
	bool autopause, ringinuse;
	uint32_t announce_freq_s, periodic_freq_s;
	bool announce_position, announce_holdtime, announce_first;
	char periodic[256];
	char context[64];         /* exit keys; "" = none */
	char timeout_dest[160], failure_dest[160];   /* pbx/dest; "" = none */
	uint32_t maxwait_s;       /* when Queue() has no timeout; 0 = none */
	bool api;                 /* added over the API (stored), not tamas.conf */
	uint32_t holdtime_s;      /* running average hold time for announcements */
	struct list members;      /* struct qmember, config/add order */
	struct list entries;      /* struct qentry, waiting callers in order */
	size_t rr_next;           /* rrmemory: where the next caller starts */
};

struct qmember {
	struct le le;
	struct queue *q;          /* not a reference: a leg's entry holds q */
	char iface[64];
	unsigned penalty;
	bool paused, dynamic, listed, in_call;
	unsigned calls, ringing;
	uint64_t last_end_us, wrapup_until_us;
	struct tmr tmr_wrap;
};

enum qe_state { QE_WAIT, QE_RING, QE_RETRY, QE_BRIDGED, QE_DONE };

struct qentry;

struct qleg {
	struct le le;
	struct qentry *e;
	struct qmember *m;        /* reference */
	struct chan *ch;          /* reference */
	struct chan_watch w;
	bool ended;
};

struct qentry {
	struct le le;             /* in q->entries while waiting */
	struct queue *q;          /* reference */
	struct chan *caller;      /* reference */
	struct chan_watch w;
	struct list legs;
	struct qleg *winner;
	struct tmr tmr_ring, tmr_retry, tmr_timeout, tmr_done, tmr_ann, tmr_per;
	unsigned per_next;        /* periodic-announce: the next file */
	enum qe_state state;
	uint64_t join_us, ring_us, connect_us;
	unsigned orig_pos;
	long prio;                /* QUEUE_PRIO: higher waits ahead */
	bool opt_c, opt_n, opt_r, opt_C, opt_i, cycle_used;
	char opts[128];
	char flags[64];           /* opts without their (arguments), for features */
	char sub_b[128];          /* b(): pre-dial routine on each member leg */
	char tried[1024];         /* "|SIP/1001|SIP/1002|": members tried this cycle */
	struct fbridge *fb;
	int result;
	app_done_h *doneh;
	void *arg;
};

static struct {
	struct list queues;
	queue_log_h *logh;
	void *logarg;
	queue_refused_h *refh;
	void *refarg;
	struct queue_persist persist;
	struct dialplan *dp;
} qmod;

static uint64_t now_us(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void qlog(const char *callid, const struct queue *q, const char *agent,
		 const char *event, const char *d1, const char *d2, const char *d3,
		 const char *d4)
{
	const char *data[5] = { d1 ? d1 : "", d2 ? d2 : "", d3 ? d3 : "", d4 ? d4 : "", "" };

	log_info("queue: %s (queue=%s agent=%s callid=%s data=%s|%s|%s|%s)", event, q->name,
		 agent, callid, data[0], data[1], data[2], data[3]);
	if (qmod.logh)
		qmod.logh(callid, q->name, agent, event, data, qmod.logarg);
}

void queue_set_log_h(queue_log_h *h, void *arg)
{
	qmod.logh = h;
	qmod.logarg = arg;
}

void queue_set_refused_h(queue_refused_h *h, void *arg)
{
	qmod.refh = h;
	qmod.refarg = arg;
}

/* Not joined (§7.2): QUEUESTATUS only, no queue_log row (as app_queue). */
static void queue_refuse(const struct queue *q, struct chan *ch, const char *status)
{
	(void)chan_var_set(ch, "QUEUESTATUS", status);
	if (qmod.refh)
		qmod.refh(chan_uniqueid(ch), q->name, chan_cid_num(ch), status, qmod.refarg);
}

void queue_set_persist(const struct queue_persist *p)
{
	if (p)
		qmod.persist = *p;
	else
		memset(&qmod.persist, 0, sizeof(qmod.persist));
}

void queue_set_dialplan(struct dialplan *dp)
{
	qmod.dp = dp;
}

/* --- configuration and members ----------------------------------------- */

static const struct { const char *word; unsigned mask; } empty_words[] = {
	{ "paused", QEMPTY_PAUSED }, { "penalty", QEMPTY_PENALTY }, { "inuse", QEMPTY_INUSE },
	{ "ringing", QEMPTY_RINGING }, { "unavailable", QEMPTY_UNAVAILABLE },
	{ "invalid", QEMPTY_INVALID }, { "unknown", QEMPTY_UNKNOWN }, { "wrapup", QEMPTY_WRAPUP },
};

int queue_empty_parse(const char *s, bool join, unsigned *mask, char *why, size_t whysz)
{
	char buf[256], *save = NULL;
	const unsigned legacy = QEMPTY_PENALTY | QEMPTY_PAUSED | QEMPTY_INVALID;

	if (!s || !mask)
		return EINVAL;
	*mask = 0;
	str_ncpy(buf, s, sizeof(buf));
	for (char *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
		bool found = false;

		if (!strcasecmp(t, "yes")) {
			*mask |= join ? 0 : legacy;
			continue;
		}
		if (!strcasecmp(t, "no")) {
			*mask |= join ? legacy : 0;
			continue;
		}
		if (!strcasecmp(t, "strict")) {
			*mask |= legacy | QEMPTY_UNAVAILABLE;
			continue;
		}
		if (!strcasecmp(t, "loose")) {
			*mask |= QEMPTY_PENALTY | QEMPTY_INVALID;
			continue;
		}
		for (size_t i = 0; i < ARRAY_SIZE(empty_words); i++) {
			if (!strcasecmp(t, empty_words[i].word)) {
				*mask |= empty_words[i].mask;
				found = true;
			}
		}
		if (!found) {
			if (why)
				(void)re_snprintf(why, whysz, "unknown condition '%s' (expected paused, "
						  "penalty, inuse, ringing, unavailable, invalid, "
						  "unknown, wrapup, yes, no, strict or loose)", t);
			return EINVAL;
		}
	}
	return 0;
}

static struct queue *queue_find(const char *name)
{
	struct le *le;

	for (le = qmod.queues.head; name && le; le = le->next) {
		struct queue *q = le->data;
		if (!strcasecmp(q->name, name))
			return q;
	}
	return NULL;
}

bool queue_exists(const char *name)
{
	return queue_find(name) != NULL;
}

static void queue_destructor(void *arg)
{
	struct queue *q = arg;

	list_unlink(&q->le);
	list_flush(&q->members);
}

static void queue_kick(struct queue *q);

/* The settings of cf (not the name) into q. */
static void queue_settings(struct queue *q, const struct queue_conf *cf)
{
	q->strategy = cf->strategy;
	q->timeout_s = cf->timeout_s;
	q->retry_s = cf->retry_s;
	q->wrapup_s = cf->wrapup_s;
	q->maxlen = cf->maxlen;
	q->joinempty = cf->joinempty;
	q->leavewhenempty = cf->leavewhenempty;
	str_ncpy(q->musicclass, cf->musicclass ? cf->musicclass : "", sizeof(q->musicclass));
	q->autopause = cf->autopause;
	q->ringinuse = cf->ringinuse;
	q->announce_freq_s = cf->announce_freq_s;
	q->announce_position = cf->announce_position;
	q->announce_holdtime = cf->announce_holdtime;
	q->announce_first = cf->announce_first;
	str_ncpy(q->periodic, cf->periodic ? cf->periodic : "", sizeof(q->periodic));
	str_ncpy(q->context, cf->context ? cf->context : "", sizeof(q->context));
	q->periodic_freq_s = cf->periodic_freq_s;
	q->maxwait_s = cf->maxwait_s;
	str_ncpy(q->timeout_dest, cf->timeout_dest ? cf->timeout_dest : "",
		 sizeof(q->timeout_dest));
	str_ncpy(q->failure_dest, cf->failure_dest ? cf->failure_dest : "",
		 sizeof(q->failure_dest));
	q->api = cf->api;
}

int queue_add(const struct queue_conf *cf)
{
	struct queue *q;

	if (!cf || !str_isset(cf->name) || strlen(cf->name) >= sizeof(q->name) ||
	    strpbrk(cf->name, ",|"))
		return EINVAL;
	if (queue_find(cf->name))
		return EEXIST;
	q = mem_zalloc(sizeof(*q), queue_destructor);
	if (!q)
		return ENOMEM;
	str_ncpy(q->name, cf->name, sizeof(q->name));
	queue_settings(q, cf);
	list_append(&qmod.queues, &q->le, q);
	return 0;
}

int queue_update(const struct queue_conf *cf)
{
	struct queue *q = cf ? queue_find(cf->name) : NULL;

	if (!q)
		return ENOENT;
	queue_settings(q, cf);
	/* A longer maxlen or a looser strategy may let waiting callers ring. */
	queue_kick(q);
	return 0;
}

bool queue_is_api(const char *name)
{
	const struct queue *q = queue_find(name);

	return q && q->api;
}

int queue_remove(const char *name)
{
	struct queue *q = queue_find(name);

	if (!q)
		return ENOENT;
	if (q->entries.head)
		return EBUSY;
	for (struct le *le = q->members.head; le; le = le->next) {
		const struct qmember *m = le->data;
		if (m->in_call || m->ringing)
			return EBUSY;
	}
	/* Bridged callers (no longer in entries) keep q alive through their
	 * reference until their call ends. */
	list_unlink(&q->le);
	mem_deref(q);
	return 0;
}

static void member_destructor(void *arg)
{
	struct qmember *m = arg;

	tmr_cancel(&m->tmr_wrap);
	if (m->listed)
		list_unlink(&m->le);
}

static struct qmember *member_find(const struct queue *q, const char *iface)
{
	struct le *le;

	for (le = q->members.head; iface && le; le = le->next) {
		struct qmember *m = le->data;
		if (!strcasecmp(m->iface, iface))
			return m;
	}
	return NULL;
}

static int member_add(const char *queue, const char *iface, unsigned penalty, bool paused,
		      bool dynamic, const char *callid, bool restore)
{
	struct queue *q = queue_find(queue);
	struct qmember *m;
	const char *slash = iface ? strchr(iface, '/') : NULL;
	int err;

	if (!q)
		return ENOENT;
	if (!slash || slash == iface || !slash[1] || strlen(iface) >= sizeof(m->iface) ||
	    strpbrk(iface, ",|&"))
		return EINVAL;
	if (member_find(q, iface))
		return EEXIST;
	m = mem_zalloc(sizeof(*m), member_destructor);
	if (!m)
		return ENOMEM;
	if (dynamic && !restore && qmod.persist.add) {
		err = qmod.persist.add(q->name, iface, penalty, paused, qmod.persist.arg);
		if (err) {
			log_warn("queue: member not stored (queue=%s member=%s err=%m)", q->name,
				 iface, err);
			mem_deref(m);
			return err == EEXIST ? EEXIST : EIO;
		}
	}
	m->q = q;
	str_ncpy(m->iface, iface, sizeof(m->iface));
	m->penalty = penalty;
	m->paused = paused;
	m->dynamic = dynamic;
	m->listed = true;
	tmr_init(&m->tmr_wrap);
	list_append(&q->members, &m->le, m);
	if (dynamic && !restore)
		qlog(callid ? callid : "NONE", q, iface, "ADDMEMBER", paused ? "PAUSED" : "",
		     NULL, NULL, NULL);
	queue_kick(q);
	return 0;
}

int queue_member_add(const char *queue, const char *iface, unsigned penalty, bool paused,
		     bool dynamic, const char *callid)
{
	return member_add(queue, iface, penalty, paused, dynamic, callid, false);
}

int queue_member_restore(const char *queue, const char *iface, unsigned penalty, bool paused)
{
	return member_add(queue, iface, penalty, paused, true, NULL, true);
}

int queue_member_remove(const char *queue, const char *iface, const char *callid)
{
	struct queue *q = queue_find(queue);
	struct qmember *m;

	if (!q)
		return ENOENT;
	m = member_find(q, iface);
	if (!m)
		return ESRCH;
	if (!m->dynamic)
		return EPERM;
	if (qmod.persist.remove) {
		int err = qmod.persist.remove(q->name, m->iface, qmod.persist.arg);
		if (err && err != ENOENT) {
			log_warn("queue: member removal not stored (queue=%s member=%s err=%m)",
				 q->name, m->iface, err);
			return EIO;
		}
	}
	qlog(callid ? callid : "NONE", q, m->iface, "REMOVEMEMBER", NULL, NULL, NULL, NULL);
	list_unlink(&m->le);
	m->listed = false;
	tmr_cancel(&m->tmr_wrap);
	mem_deref(m);          /* legs ringing it keep their own reference */
	queue_kick(q);
	return 0;
}

int queue_member_pause(const char *queue, const char *iface, bool paused, const char *reason,
		       const char *callid)
{
	bool all = !str_isset(queue), found = false, changed = false;
	struct le *le;

	if (!all && !queue_find(queue))
		return ENOENT;
	for (le = qmod.queues.head; le; le = le->next) {
		struct queue *q = le->data;
		struct qmember *m;

		if (!all && strcasecmp(q->name, queue))
			continue;
		m = member_find(q, iface);
		if (!m)
			continue;
		found = true;
		if (m->paused == paused)
			continue;
		if (m->dynamic && qmod.persist.pause) {
			int err = qmod.persist.pause(q->name, m->iface, paused, qmod.persist.arg);
			if (err && err != ENOENT) {
				log_warn("queue: pause not stored (queue=%s member=%s err=%m)",
					 q->name, m->iface, err);
				return EIO;
			}
		}
		changed = true;
		m->paused = paused;
		qlog(callid ? callid : "NONE", q, m->iface, paused ? "PAUSE" : "UNPAUSE",
		     reason, NULL, NULL, NULL);
		queue_kick(q);        /* unpaused: ring it; paused: leavewhenempty */
	}
	if (!found)
		return ESRCH;
	return changed ? 0 : EALREADY;
}

int queue_apply(queue_info_h *qh, queue_member_info_h *mh, void *arg)
{
	uint64_t now = now_us();
	struct le *le, *me;
	int err;

	for (le = qmod.queues.head; le; le = le->next) {
		const struct queue *q = le->data;
		struct queue_info qi = {
			.name = q->name, .strategy = q->strategy, .timeout_s = q->timeout_s,
			.retry_s = q->retry_s, .wrapup_s = q->wrapup_s, .maxlen = q->maxlen,
			.musicclass = q->musicclass, .autopause = q->autopause,
			.ringinuse = q->ringinuse, .waiting = list_count(&q->entries),
			.api = q->api,
			.members = list_count(&q->members),
		};

		err = qh ? qh(&qi, arg) : 0;
		if (err)
			return err;
		for (me = q->members.head; mh && me; me = me->next) {
			const struct qmember *m = me->data;
			struct queue_member_info mi = {
				.iface = m->iface, .penalty = m->penalty, .paused = m->paused,
				.dynamic = m->dynamic, .in_call = m->in_call,
				.ringing = m->ringing > 0,
				.wrapup = m->wrapup_until_us && now < m->wrapup_until_us,
				.calls = m->calls,
			};

			err = mh(&qi, &mi, arg);
			if (err)
				return err;
		}
	}
	return 0;
}

void queue_close(void)
{
	list_flush(&qmod.queues);
	memset(&qmod, 0, sizeof(qmod));
}

/* --- member state ------------------------------------------------------- */

static bool in_wrapup(const struct qmember *m, uint64_t now)
{
	return m->wrapup_until_us && now < m->wrapup_until_us;
}

/* QEMPTY_* conditions of a member now (DEVICE_STATE through a channel). */
static unsigned member_status(const struct qmember *m, struct chan *ch, uint64_t now)
{
	char ds[32] = "";
	char expr[96];
	const char *v;
	unsigned st = 0;

	if (m->paused)
		st |= QEMPTY_PAUSED;
	/* The caller's own limits (§7.3): members outside are not rung. */
	v = chan_var_get(ch, "QUEUE_MAX_PENALTY");
	if (str_isset(v) && m->penalty > strtoul(v, NULL, 10))
		st |= QEMPTY_PENALTY;
	v = chan_var_get(ch, "QUEUE_MIN_PENALTY");
	if (str_isset(v) && m->penalty < strtoul(v, NULL, 10))
		st |= QEMPTY_PENALTY;
	if (m->ringing)
		st |= QEMPTY_RINGING;
	if (m->in_call)
		st |= QEMPTY_INUSE;
	if (in_wrapup(m, now))
		st |= QEMPTY_WRAPUP;
	(void)re_snprintf(expr, sizeof(expr), "DEVICE_STATE(%s)", m->iface);
	if (chan_expr_read(ch, expr, ds, sizeof(ds)))
		st |= QEMPTY_UNKNOWN;
	else if (!strcmp(ds, "UNAVAILABLE"))
		st |= QEMPTY_UNAVAILABLE;
	else if (!strcmp(ds, "INVALID"))
		st |= QEMPTY_INVALID;
	else if (!strcmp(ds, "INUSE") && !m->q->ringinuse)
		st |= QEMPTY_INUSE;
	return st;
}

/* True when no member is free of the conditions in mask (§7.5). */
static bool queue_is_empty(const struct queue *q, unsigned mask, struct chan *ch)
{
	uint64_t now = now_us();
	struct le *le;

	for (le = q->members.head; le; le = le->next) {
		if (!(member_status(le->data, ch, now) & mask))
			return false;
	}
	return true;
}

static bool tried(const struct qentry *e, const struct qmember *m)
{
	char tok[80];

	(void)re_snprintf(tok, sizeof(tok), "|%s|", m->iface);
	return strstr(e->tried, tok) != NULL;
}

static void mark_tried(struct qentry *e, const struct qmember *m)
{
	size_t len = strlen(e->tried);

	if (tried(e, m))
		return;
	if (len + strlen(m->iface) + 3 > sizeof(e->tried))
		e->tried[0] = '\0';      /* a new cycle rather than a wrong one */
	len = strlen(e->tried);
	(void)re_snprintf(e->tried + len, sizeof(e->tried) - len, "%s%s|", len ? "" : "|",
			  m->iface);
}

/* Called when a member's queue call ended: counters for leastrecent and
 * fewestcalls, then wrap-up before it is offered another call. */
static void wrap_end_h(void *arg)
{
	struct qmember *m = arg;

	if (m->listed)
		queue_kick(m->q);
}

static void member_call_done(struct qmember *m)
{
	uint64_t now = now_us();

	m->in_call = false;
	m->calls++;
	m->last_end_us = now;
	if (m->q->wrapup_s) {
		m->wrapup_until_us = now + (uint64_t)m->q->wrapup_s * 1000000u;
		tmr_start(&m->tmr_wrap, (uint64_t)m->q->wrapup_s * 1000 + 1, wrap_end_h, m);
	}
}

/* --- the Queue app ------------------------------------------------------ */

static void qleg_destructor(void *arg)
{
	struct qleg *l = arg;

	chan_watch_remove(&l->w);
	list_unlink(&l->le);
	mem_deref(l->ch);
	mem_deref(l->m);
}

static void entry_destructor(void *arg)
{
	struct qentry *e = arg;

	tmr_cancel(&e->tmr_ring);
	tmr_cancel(&e->tmr_retry);
	tmr_cancel(&e->tmr_timeout);
	tmr_cancel(&e->tmr_done);
	tmr_cancel(&e->tmr_ann);
	tmr_cancel(&e->tmr_per);
	chan_watch_remove(&e->w);
	features_detach(e->fb);
	list_unlink(&e->le);
	list_flush(&e->legs);
	mem_deref(e->caller);
	mem_deref(e->q);
}

static unsigned entry_position(const struct qentry *e)
{
	unsigned pos = 1;

	for (struct le *le = e->q->entries.head; le; le = le->next, ++pos) {
		if (le->data == e)
			return pos;
	}
	return 0;
}

static unsigned secs_since(uint64_t t)
{
	uint64_t n = now_us();

	return t && n > t ? (unsigned)((n - t) / 1000000u) : 0;
}

/* The exit (timeout_dest, failure_dest) for how the caller left; NULL:
 * back to the dialplan. */
static const char *exit_dest(const struct queue *q, struct chan *ch)
{
	static const char *const failures[] = {
		"FULL", "JOINEMPTY", "LEAVEEMPTY", "JOINUNAVAIL", "LEAVEUNAVAIL", "TIMEOUT",
	};
	const char *st = chan_var_get(ch, "QUEUESTATUS");

	if (!st)
		return NULL;
	if (!strcmp(st, "TIMEOUT") && q->timeout_dest[0])
		return q->timeout_dest;
	for (size_t i = 0; i < ARRAY_SIZE(failures); i++)
		if (!strcmp(st, failures[i]))
			return q->failure_dest[0] ? q->failure_dest : NULL;
	return NULL;
}

/* Ends the app, through the queue's exit when it has one for this end. */
static void queue_done(struct queue *q, struct chan *ch, int res, app_done_h *doneh,
		       void *arg)
{
	const char *dest = res == APP_OK && !chan_is_hungup(ch) ? exit_dest(q, ch) : NULL;

	if (!dest || dest_go(ch, dest, doneh, arg))
		doneh(res, arg);
}

static void done_h(void *arg)
{
	struct qentry *e = arg;
	app_done_h *doneh = e->doneh;
	void *darg = e->arg;
	int res = e->result;
	struct queue *q = mem_ref(e->q);
	struct chan *ch = mem_ref(e->caller);

	mem_deref(e);
	queue_done(q, ch, res, doneh, darg);
	mem_deref(ch);
	mem_deref(q);
}

/* Ends the Queue app from a 0 ms timer (never inside the channel event
 * that caused it); the members it freed go to the next callers. */
static void entry_finish(struct qentry *e, int res)
{
	struct queue *q = e->q;
	char w[16];

	if (e->state == QE_DONE)
		return;
	e->state = QE_DONE;
	e->result = res;
	if (!e->connect_us && q->context[0])
		chan_set_dtmf_handler(e->caller, NULL, NULL);
	e->fb = features_detach(e->fb);
	(void)re_snprintf(w, sizeof(w), "%u", secs_since(e->join_us));
	if (!e->connect_us)
		(void)chan_var_set(e->caller, "QUEUEWAIT", w);
	media_gen_stop(e->caller);
	tmr_cancel(&e->tmr_ring);
	tmr_cancel(&e->tmr_retry);
	tmr_cancel(&e->tmr_timeout);
	tmr_cancel(&e->tmr_ann);
	tmr_cancel(&e->tmr_per);
	chan_watch_remove(&e->w);
	list_unlink(&e->le);
	tmr_start(&e->tmr_done, 0, done_h, e);
	queue_kick(q);
}

/* Hangs up the legs still ringing; a no-answer counts for autopause. */
static void legs_drop(struct qentry *e, const struct qleg *keep, int cause)
{
	for (struct le *le = e->legs.head; le; le = le->next) {
		struct qleg *l = le->data;

		if (l == keep || l->ended)
			continue;
		l->ended = true;
		if (l->m->ringing)
			l->m->ringing--;
		chan_watch_remove(&l->w);
		chan_hangup(l->ch, cause);
	}
}

/* Ringing members hung up without a winner: option C marks them answered
 * elsewhere (app_queue's cancel_answered_elsewhere), so phones do not
 * count a missed call. */
static int drop_cause(const struct qentry *e, int dflt)
{
	return e->opt_C ? CAUSE_ANSWERED_ELSEWHERE : dflt;
}

/* Leaves the queue without an agent: QUEUESTATUS and the queue_log event. */
static void entry_exit(struct qentry *e, const char *status, const char *event)
{
	char pos[16], opos[16], w[16];

	(void)re_snprintf(pos, sizeof(pos), "%u", entry_position(e));
	(void)re_snprintf(opos, sizeof(opos), "%u", e->orig_pos);
	(void)re_snprintf(w, sizeof(w), "%u", secs_since(e->join_us));
	legs_drop(e, NULL, drop_cause(e, CAUSE_NO_ANSWER));
	if (status)
		(void)chan_var_set(e->caller, "QUEUESTATUS", status);
	(void)chan_var_set(e->caller, "ABANDONED", !strcmp(event, "ABANDON") ? "TRUE" : NULL);
	qlog(chan_uniqueid(e->caller), e->q, "NONE", event, pos, opos, w, NULL);
}

static void entry_try(struct qentry *e);

static void retry_h(void *arg)
{
	struct qentry *e = arg;

	if (e->state != QE_RETRY && e->state != QE_WAIT)
		return;
	e->state = QE_WAIT;
	entry_try(e);
}

/* A ring round failed: wait `retry` before the next one (Asterisk's retry);
 * meanwhile the entry counts as waiting for the callers behind it. */
static void entry_retry(struct qentry *e)
{
	e->state = QE_RETRY;
	tmr_cancel(&e->tmr_ring);
	tmr_start(&e->tmr_retry, (uint64_t)e->q->retry_s * 1000, retry_h, e);
}

/* Nothing to ring now: stay waiting (a freed member kicks us at once) and
 * look again every `retry` seconds (at least one, so an empty queue does
 * not spin) for what changes unseen: registrations, device states. */
static void entry_poll(struct qentry *e)
{
	uint32_t s = e->q->retry_s ? e->q->retry_s : 1;

	e->state = QE_WAIT;
	tmr_start(&e->tmr_retry, (uint64_t)s * 1000, retry_h, e);
}

static void ring_log(struct qentry *e, struct qleg *l)
{
	char ms[24];
	uint64_t n = now_us();

	(void)re_snprintf(ms, sizeof(ms), "%llu",
			  (unsigned long long)(n > e->ring_us ? (n - e->ring_us) / 1000 : 0));
	qlog(chan_uniqueid(e->caller), e->q, l->m->iface, "RINGNOANSWER", ms, NULL, NULL, NULL);
}

static void autopause(struct qentry *e, struct qmember *m)
{
	if (!e->q->autopause || m->paused || !m->listed)
		return;
	m->paused = true;
	qlog("NONE", e->q, m->iface, "PAUSE", "Auto-Pause", NULL, NULL, NULL);
}

static bool legs_all_ended(const struct qentry *e)
{
	for (struct le *le = e->legs.head; le; le = le->next) {
		if (!((struct qleg *)le->data)->ended)
			return false;
	}
	return true;
}

/* The ring round is over for every leg: try the next members after retry. */
static void round_over(struct qentry *e)
{
	list_flush(&e->legs);
	if (e->state != QE_RING)
		return;
	entry_retry(e);
	queue_kick(e->q);
}

static void ring_timeout_h(void *arg)
{
	struct qentry *e = arg;

	if (e->state != QE_RING)
		return;
	for (struct le *le = e->legs.head; le; le = le->next) {
		struct qleg *l = le->data;
		if (l->ended)
			continue;
		ring_log(e, l);
		autopause(e, l->m);
	}
	legs_drop(e, NULL, drop_cause(e, CAUSE_NO_ANSWER));
	round_over(e);
}

static void entry_connect(struct qentry *e, struct qleg *l)
{
	char hold[16], ring[16], opos[16];
	int err;

	e->winner = l;
	legs_drop(e, l, CAUSE_ANSWERED_ELSEWHERE);
	tmr_cancel(&e->tmr_ring);
	tmr_cancel(&e->tmr_timeout);
	tmr_cancel(&e->tmr_ann);
	tmr_cancel(&e->tmr_per);
	/* Asterisk's running hold time: (3 * old + new) / 4. */
	e->q->holdtime_s = (3 * e->q->holdtime_s + secs_since(e->join_us)) / 4;
	if (l->m->ringing)
		l->m->ringing--;
	l->m->in_call = true;
	e->connect_us = now_us();
	(void)re_snprintf(hold, sizeof(hold), "%u", secs_since(e->join_us));
	(void)re_snprintf(ring, sizeof(ring), "%u", secs_since(e->ring_us));
	(void)re_snprintf(opos, sizeof(opos), "%u", e->orig_pos);
	list_unlink(&e->le);      /* no longer waiting: positions move up */
	if (e->q->context[0])
		chan_set_dtmf_handler(e->caller, NULL, NULL);
	media_gen_stop(e->caller);
	chan_set_cause(e->caller, CAUSE_NORMAL_CLEARING);
	chan_set_cause(l->ch, CAUSE_NORMAL_CLEARING);
	err = chan_bridge(e->caller, l->ch);
	if (err) {
		log_warn("queue: cannot connect caller (channel=%s member=%s err=%m)",
			 chan_name(e->caller), chan_name(l->ch), err);
		l->ended = true;
		chan_watch_remove(&l->w);
		chan_hangup(l->ch, CAUSE_NORMAL_CLEARING);
		member_call_done(l->m);
		entry_finish(e, APP_HANGUP);
		return;
	}
	e->state = QE_BRIDGED;
	(void)chan_var_set(e->caller, "QUEUEWAIT", hold);
	(void)chan_var_set(e->caller, "MEMBERINTERFACE", l->m->iface);
	(void)chan_var_set(e->caller, "DIALEDPEERNAME", chan_name(l->ch));
	chan_cdr_set_peer(e->caller, chan_name(l->ch));
	chan_cdr_set_disposition(e->caller, "ANSWERED");
	qlog(chan_uniqueid(e->caller), e->q, l->m->iface, "CONNECT", hold, chan_uniqueid(l->ch),
	     ring, NULL);
	log_info("queue: bridged (queue=%s caller=%s member=%s)", e->q->name,
		 chan_name(e->caller), chan_name(l->ch));
	if (features_attach(&e->fb, e->caller, l->ch, e->flags))
		log_warn("queue: DTMF features unavailable (caller=%s)", chan_name(e->caller));
}

/* A bridged call ended: COMPLETEAGENT or COMPLETECALLER (§7.7). */
static void call_complete(struct qentry *e, bool by_agent)
{
	struct qleg *l = e->winner;
	char hold[16], talk[16], opos[16];
	uint64_t n = now_us();

	(void)re_snprintf(hold, sizeof(hold), "%llu", (unsigned long long)
			  ((e->connect_us - e->join_us) / 1000000u));
	(void)re_snprintf(talk, sizeof(talk), "%llu",
			  (unsigned long long)((n - e->connect_us) / 1000000u));
	(void)re_snprintf(opos, sizeof(opos), "%u", e->orig_pos);
	qlog(chan_uniqueid(e->caller), e->q, l->m->iface,
	     by_agent ? "COMPLETEAGENT" : "COMPLETECALLER", hold, talk, opos, NULL);
	l->ended = true;
	chan_watch_remove(&l->w);
	chan_unbridge(e->caller);
	if (!by_agent)
		chan_hangup(l->ch, CAUSE_NORMAL_CLEARING);
	member_call_done(l->m);
}

static void leg_event_h(struct chan *ch, enum chan_event ev, void *arg)
{
	struct qleg *l = arg;
	struct qentry *e = l->e;

	(void)ch;
	if (e->state == QE_DONE || l->ended)
		return;
	switch (ev) {
	case CHAN_EV_ANSWER:
		if (e->state == QE_RING)
			entry_connect(e, l);
		break;
	case CHAN_EV_REDIRECTING:
		/* i: a member that forwards the call is not followed; it is done
		 * for this round as if it had not answered. */
		if (!e->opt_i || e->state != QE_RING)
			break;
		log_info("queue: member forwarded the call, ignored (queue=%s member=%s)",
			 e->q->name, l->m->iface);
		l->ended = true;
		chan_watch_remove(&l->w);
		if (l->m->ringing)
			l->m->ringing--;
		chan_hangup(l->ch, CAUSE_NORMAL_CLEARING);
		ring_log(e, l);
		if (legs_all_ended(e))
			round_over(e);
		break;
	case CHAN_EV_HANGUP:
	case CHAN_EV_REDIRECT:
	case CHAN_EV_TAKEN:
		if (e->state == QE_BRIDGED && l == e->winner) {
			call_complete(e, true);
			if (e->opt_c && !chan_is_hungup(e->caller)) {
				(void)chan_var_set(e->caller, "QUEUESTATUS", "CONTINUE");
				entry_finish(e, APP_OK);
			}
			else {
				entry_finish(e, APP_HANGUP);
			}
			break;
		}
		/* Busy, unavailable or declined: this member is done for the round. */
		l->ended = true;
		chan_watch_remove(&l->w);
		if (l->m->ringing)
			l->m->ringing--;
		ring_log(e, l);
		if (legs_all_ended(e))
			round_over(e);
		break;
	default:
		break;
	}
}

static int leg_start(struct qentry *e, struct qmember *m)
{
	struct chan *ch;
	struct qleg *l;
	int cause = 0, err;

	err = dial_request(&ch, m->iface, e->caller, &cause);
	if (err) {
		log_info("queue: cannot call member (queue=%s member=%s cause=%d err=%m)",
			 e->q->name, m->iface, cause, err);
		return err;
	}
	l = mem_zalloc(sizeof(*l), qleg_destructor);
	if (!l) {
		chan_hangup(ch, CAUSE_NORMAL_TEMPORARY_FAILURE);
		return ENOMEM;
	}
	l->e = e;
	l->m = mem_ref(m);
	l->ch = mem_ref(ch);
	m->ringing++;
	chan_cdr_disable(ch);
	list_append(&e->legs, &l->le, l);
	chan_watch_add(ch, &l->w, leg_event_h, l);
	/* b(): set the new leg up before its INVITE leaves (as Dial's b()). */
	if (e->sub_b[0] && qmod.dp)
		(void)dialplan_gosub(qmod.dp, ch, e->sub_b, true, NULL, NULL);
	return 0;
}

static uint32_t rand_h(void *arg)
{
	(void)arg;
	return rand_u32();
}

/* Fills cands from the members; returns how many are usable. */
static size_t cands_build(struct qentry *e, struct qcand *c, struct qmember **ms, size_t max,
			  size_t *n, bool ignore_tried)
{
	uint64_t now = now_us();
	size_t usable = 0;

	*n = 0;
	for (struct le *le = e->q->members.head; le && *n < max; le = le->next) {
		struct qmember *m = le->data;
		size_t i = (*n)++;

		ms[i] = m;
		c[i].penalty = m->penalty;
		c[i].calls = m->calls;
		c[i].last_end_us = m->last_end_us;
		c[i].usable = !member_status(m, e->caller, now) && (ignore_tried || !tried(e, m));
		usable += c[i].usable;
	}
	return usable;
}

/* Asterisk's autofill turn: a caller rings when fewer callers ahead of it
 * are waiting (not ringing) than members are free. Counting the free
 * members costs a device state each, so callers far back skip it. */
static bool entry_turn(struct qentry *e)
{
	uint64_t now = now_us();
	unsigned ahead = 0, avail = 0;

	for (struct le *le = e->q->entries.head; le && le->data != e; le = le->next) {
		const struct qentry *x = le->data;
		ahead += x->state == QE_WAIT || x->state == QE_RETRY;
	}
	if (!ahead)
		return true;
	if (ahead >= list_count(&e->q->members))
		return false;
	for (struct le *le = e->q->members.head; le && avail <= ahead; le = le->next)
		avail += !member_status(le->data, e->caller, now);
	return ahead < avail;
}

/* Rings what the strategy picks now, if anything. */
static void entry_try(struct qentry *e)
{
	struct qcand c[QUEUE_MAX_PICK];
	struct qmember *ms[QUEUE_MAX_PICK];
	size_t n, pick[QUEUE_MAX_PICK], np, started = 0;
	struct queue *q = e->q;
	bool new_cycle = false;

	if (e->state != QE_WAIT)
		return;
	if (q->leavewhenempty && queue_is_empty(q, q->leavewhenempty, e->caller)) {
		entry_exit(e, "LEAVEEMPTY", "EXITEMPTY");
		entry_finish(e, APP_OK);
		return;
	}
	if (!entry_turn(e)) {
		entry_poll(e);
		return;
	}
	for (;;) {
		if (!cands_build(e, c, ms, ARRAY_SIZE(c), &n, false)) {
			/* Everybody usable was tried: a new ring cycle (n: none).
			 * Once per try, so members that cannot be called do not
			 * loop here. */
			if (new_cycle || !cands_build(e, c, ms, ARRAY_SIZE(c), &n, true))
				break;
			if (e->opt_n && e->cycle_used) {
				entry_exit(e, "TIMEOUT", "EXITWITHTIMEOUT");
				entry_finish(e, APP_OK);
				return;
			}
			e->tried[0] = '\0';
			new_cycle = true;
		}
		np = qstrategy_pick(q->strategy, c, n, q->rr_next, rand_h, NULL, pick,
				    ARRAY_SIZE(pick));
		if (!np)
			break;
		e->cycle_used = true;
		if (q->strategy == QSTRATEGY_RRMEMORY)
			q->rr_next = pick[np - 1] + 1;
		for (size_t i = 0; i < np; i++) {
			mark_tried(e, ms[pick[i]]);
			if (!leg_start(e, ms[pick[i]]))
				++started;
		}
		if (started)
			break;
	}
	if (!started) {
		entry_poll(e);
		return;
	}
	tmr_cancel(&e->tmr_retry);
	e->state = QE_RING;
	e->ring_us = now_us();
	if (q->timeout_s)
		tmr_start(&e->tmr_ring, (uint64_t)q->timeout_s * 1000, ring_timeout_h, e);
}

/* Something changed in q: its waiting callers, in order, ring what they can. */
static void queue_kick(struct queue *q)
{
	struct le *le = q->entries.head;

	while (le) {
		struct qentry *e = le->data;
		le = le->next;              /* entry_try may take e off the list */
		if (e->state == QE_WAIT)
			entry_try(e);
	}
}

static void queue_timeout_h(void *arg)
{
	struct qentry *e = arg;

	if (e->state == QE_BRIDGED || e->state == QE_DONE)
		return;
	entry_exit(e, "TIMEOUT", "EXITWITHTIMEOUT");
	entry_finish(e, APP_OK);
}

static void caller_event_h(struct chan *ch, enum chan_event ev, void *arg)
{
	struct qentry *e = arg;

	(void)ch;
	if (e->state == QE_DONE)
		return;
	if (ev != CHAN_EV_HANGUP && ev != CHAN_EV_REDIRECT && ev != CHAN_EV_TAKEN)
		return;
	if (e->state == QE_BRIDGED)
		call_complete(e, false);
	else
		entry_exit(e, NULL, "ABANDON");
	entry_finish(e, ev == CHAN_EV_HANGUP ? APP_HANGUP : APP_OK);
}

static void tts_done(int res, void *arg)
{
	(void)res;
	(void)arg;
}

/* The announcement for a language without recorded number prompts (fa,
 * say_number_files' ENOTSUP): one sentence in Persian spoken by the TTS
 * app, as SayNumber speaks numbers there. Other such languages hear the
 * English prompts. */
static bool announce_tts(struct qentry *e, unsigned pos, unsigned mins)
{
	char lang[32] = "", text[512] = "", args[600];
	size_t len;

	if (chan_expr_read(e->caller, "CHANNEL(language)", lang, sizeof(lang)) ||
	    strncasecmp(lang, "fa", 2))
		return false;
	if (e->q->announce_position && pos <= 1)
		str_ncpy(text, "شما نفر بعدی هستید.", sizeof(text));
	else if (e->q->announce_position)
		(void)re_snprintf(text, sizeof(text), "شما نفر %u صف هستید.", pos);
	len = strlen(text);
	if (e->q->announce_holdtime && mins >= 1)
		(void)re_snprintf(text + len, sizeof(text) - len,
				  "%sزمان تقریبی انتظار %u دقیقه است.", len ? " " : "", mins);
	if (!text[0])
		return true;
	len = strlen(text);
	(void)re_snprintf(text + len, sizeof(text) - len, " از شکیبایی شما سپاسگزاریم.");
	(void)re_snprintf(args, sizeof(args), "%s,%s,n", text, lang);
	log_info("queue: announcing (queue=%s channel=%s position=%u holdtime=%u lang=%s "
		 "text=%s)", e->q->name, chan_name(e->caller), pos, e->q->holdtime_s, lang, text);
	if (app_exec(e->caller, "TTS", args, tts_done, NULL))
		log_warn("queue: announcement not spoken (channel=%s lang=%s)",
			 chan_name(e->caller), lang);
	return true;
}

/* Position and hold time (§7.6): "queue-youarenext", or "queue-thereare"
 * N "queue-callswaiting"; then "queue-holdtime" N "queue-minutes"; then
 * "queue-thankyou". Played over the music, which resumes after. In the
 * caller's language: English number prompts, or Persian by TTS. */
static void announce_h(void *arg)
{
	struct qentry *e = arg;
	struct queue *q = e->q;
	unsigned pos = entry_position(e), mins;
	char files[512] = "", num[128], n[16];
	size_t len;

	if (e->state == QE_BRIDGED || e->state == QE_DONE)
		return;
	tmr_start(&e->tmr_ann, (uint64_t)q->announce_freq_s * 1000, announce_h, e);
	if (pos <= 1 && !q->announce_first)
		return;
	mins = (q->holdtime_s + 30) / 60;
	if (announce_tts(e, pos, mins))
		return;
	if (q->announce_position) {
		(void)re_snprintf(n, sizeof(n), "%u", pos);
		if (pos <= 1)
			str_ncpy(files, "queue-youarenext", sizeof(files));
		else if (!say_number_files(num, sizeof(num), n, "en"))
			(void)re_snprintf(files, sizeof(files), "queue-thereare&%s&queue-callswaiting",
					  num);
	}
	len = strlen(files);
	if (q->announce_holdtime && mins >= 1) {
		(void)re_snprintf(n, sizeof(n), "%u", mins);
		if (!say_number_files(num, sizeof(num), n, "en"))
			(void)re_snprintf(files + len, sizeof(files) - len,
					  "%squeue-holdtime&%s&%s", len ? "&" : "", num,
					  mins == 1 ? "queue-minute" : "queue-minutes");
	}
	if (!files[0])
		return;
	len = strlen(files);
	(void)re_snprintf(files + len, sizeof(files) - len, "&queue-thankyou");
	log_info("queue: announcing (queue=%s channel=%s position=%u holdtime=%u files=%s)",
		 q->name, chan_name(e->caller), pos, q->holdtime_s, files);
	if (media_announce(e->caller, files))
		log_warn("queue: announcement not played (channel=%s files=%s)",
			 chan_name(e->caller), files);
}

/* periodic-announce: the next of its comma-separated files. */
static void periodic_h(void *arg)
{
	struct qentry *e = arg;
	char buf[256], *f[16];
	unsigned n = 0;
	char *p = buf;

	if (e->state == QE_BRIDGED || e->state == QE_DONE)
		return;
	tmr_start(&e->tmr_per, (uint64_t)e->q->periodic_freq_s * 1000, periodic_h, e);
	str_ncpy(buf, e->q->periodic, sizeof(buf));
	while (p && n < ARRAY_SIZE(f)) {
		f[n++] = p;
		p = strchr(p, ',');
		if (p)
			*p++ = '\0';
	}
	p = f[e->per_next++ % n];
	log_info("queue: periodic announcement (queue=%s channel=%s file=%s)", e->q->name,
		 chan_name(e->caller), p);
	if (*p && media_announce(e->caller, p))
		log_warn("queue: announcement not played (channel=%s file=%s)",
			 chan_name(e->caller), p);
}

/* A digit from a waiting caller: when it is an extension of the queue's
 * context the caller leaves there (EXITWITHKEY: key, position, original
 * position, wait time); other digits are ignored. */
static void exit_key_h(struct chan *ch, char digit, void *arg)
{
	struct qentry *e = arg;
	char key[2] = { digit, '\0' }, pos[16], opos[16], w[16];

	if (e->state == QE_BRIDGED || e->state == QE_DONE || !qmod.dp ||
	    !dialplan_exists(qmod.dp, e->q->context, key))
		return;
	(void)re_snprintf(pos, sizeof(pos), "%u", entry_position(e));
	(void)re_snprintf(opos, sizeof(opos), "%u", e->orig_pos);
	(void)re_snprintf(w, sizeof(w), "%u", secs_since(e->join_us));
	legs_drop(e, NULL, drop_cause(e, CAUSE_NORMAL_CLEARING));
	qlog(chan_uniqueid(ch), e->q, "NONE", "EXITWITHKEY", key, pos, opos, w);
	(void)chan_var_set(ch, "QUEUESTATUS", NULL);
	if (chan_set_location(ch, e->q->context, key))
		log_warn("queue: cannot leave to %s@%s (channel=%s)", key, e->q->context,
			 chan_name(ch));
	entry_finish(e, APP_OK);
}

/* The caller's waiting sound: r rings, m(class) overrides the queue's class. */
static void entry_sound(struct qentry *e)
{
	char cls[64];
	int err;

	if (e->opt_r) {
		err = media_tone_start(e->caller, "ring");
	}
	else {
		if (!app_opt(e->opts, 'm', cls, sizeof(cls)) || !cls[0])
			str_ncpy(cls, e->q->musicclass, sizeof(cls));
		err = media_moh_start(e->caller, cls[0] ? cls : NULL);
	}
	if (err)
		log_warn("queue: no waiting sound for the caller (channel=%s): %m",
			 chan_name(e->caller), err);
}

/* Behind every caller of the same or a higher QUEUE_PRIO (Asterisk's
 * insert_entry); the position there is the original position. */
static void entry_insert(struct queue *q, struct qentry *e)
{
	struct le *le;

	for (le = q->entries.head; le; le = le->next) {
		if (((struct qentry *)le->data)->prio < e->prio)
			break;
	}
	if (le)
		list_insert_before(&q->entries, le, &e->le, e);
	else
		list_append(&q->entries, &e->le, e);
	e->orig_pos = entry_position(e);
}

static const char *vars_to_clear[] = {
	"QUEUESTATUS", "ABANDONED", "QUEUEWAIT", "MEMBERINTERFACE", "DIALEDPEERNAME",
};

/* opts without parenthesised arguments: "b(handlers^x^1)tC" → "btC", so
 * letters inside a routine name are not taken for feature options. */
static void opts_flags(const char *opts, char *out, size_t sz)
{
	int depth = 0;
	size_t n = 0;

	for (const char *p = opts; *p && n + 1 < sz; p++) {
		if (*p == '(')
			++depth;
		else if (*p == ')')
			depth -= depth > 0;
		else if (!depth)
			out[n++] = *p;
	}
	out[n] = '\0';
}

static int queue_join(struct chan *ch, const char *data, app_done_h *doneh, void *arg);

/* B() ran on the caller: now the caller joins (unless it left meanwhile). */
struct qpredial {
	struct chan *ch;          /* reference */
	char *data;
	app_done_h *doneh;
	void *arg;
};

static void qpredial_destructor(void *arg)
{
	struct qpredial *p = arg;

	mem_deref(p->ch);
	mem_deref(p->data);
}

static void predial_done(int err, struct chan *ch, void *arg)
{
	struct qpredial *p = arg;

	(void)err;
	(void)ch;
	if (chan_is_hungup(p->ch))
		p->doneh(APP_HANGUP, p->arg);
	else if (queue_join(p->ch, p->data, p->doneh, p->arg))
		p->doneh(APP_HANGUP, p->arg);
	mem_deref(p);
}

/* Queue(name[,options[,URL[,announceoverride[,timeout]]]]); the short form
 * app.queue(name, options, timeout) is accepted when the third field is a
 * number (a URL never is). B(ctx^exten^pri) runs on the caller first, as
 * app_queue does before the caller joins. */
static int queue_exec(struct chan *ch, const char *data, app_done_h *doneh, void *arg)
{
	char buf[512], loc[160], rarg[160], *comma;
	struct qpredial *p;

	for (size_t i = 0; i < ARRAY_SIZE(vars_to_clear); i++)
		(void)chan_var_set(ch, vars_to_clear[i], NULL);
	str_ncpy(buf, data ? data : "", sizeof(buf));
	comma = strchr(buf, ',');
	if (!comma || !qmod.dp || !queue_find((*comma = '\0', buf)) ||
	    !app_opt(comma + 1, 'B', rarg, sizeof(rarg)) || !rarg[0] || chan_is_hungup(ch))
		return queue_join(ch, data, doneh, arg);
	p = mem_zalloc(sizeof(*p), qpredial_destructor);
	if (!p || str_dup(&p->data, data)) {
		mem_deref(p);
		return ENOMEM;
	}
	p->ch = mem_ref(ch);
	p->doneh = doneh;
	p->arg = arg;
	chan_routine_complete(ch, rarg, loc, sizeof(loc));
	if (!dialplan_gosub(qmod.dp, ch, loc, false, predial_done, p))
		return 0;
	mem_deref(p);
	return queue_join(ch, data, doneh, arg);
}

static int queue_join(struct chan *ch, const char *data, app_done_h *doneh, void *arg)
{
	char buf[512], *f[6] = { 0 }, *p;
	struct queue *q;
	struct qentry *e;
	unsigned nf = 0, waiting;
	double secs = 0;

	str_ncpy(buf, data ? data : "", sizeof(buf));
	for (p = buf; nf < ARRAY_SIZE(f); ) {
		f[nf++] = p;
		p = strchr(p, ',');
		if (!p)
			break;
		*p++ = '\0';
	}
	if (nf == 3 && f[2][0] && strspn(f[2], "0123456789.") == strlen(f[2]))
		secs = strtod(f[2], NULL);
	else if (nf >= 5 && f[4][0])
		secs = strtod(f[4], NULL);
	q = queue_find(f[0]);
	if (!q) {
		log_warn("queue: no such queue '%s' (channel=%s)", f[0], chan_name(ch));
		(void)chan_var_set(ch, "QUEUESTATUS", "UNKNOWN");
		doneh(APP_OK, arg);
		return 0;
	}
	if (chan_is_hungup(ch)) {
		doneh(APP_HANGUP, arg);
		return 0;
	}
	/* joinempty before maxlen, as app_queue's join_queue checks them. */
	if (q->joinempty && queue_is_empty(q, q->joinempty, ch)) {
		log_info("queue: no member can take calls (queue=%s channel=%s)", q->name,
			 chan_name(ch));
		queue_refuse(q, ch, "JOINEMPTY");
		queue_done(q, ch, APP_OK, doneh, arg);
		return 0;
	}
	waiting = list_count(&q->entries);
	if (q->maxlen && waiting >= q->maxlen) {
		log_info("queue: full (queue=%s channel=%s maxlen=%u)", q->name, chan_name(ch),
			 q->maxlen);
		queue_refuse(q, ch, "FULL");
		queue_done(q, ch, APP_OK, doneh, arg);
		return 0;
	}
	e = mem_zalloc(sizeof(*e), entry_destructor);
	if (!e)
		return ENOMEM;
	e->q = mem_ref(q);
	e->caller = mem_ref(ch);
	e->doneh = doneh;
	e->arg = arg;
	str_ncpy(e->opts, nf > 1 ? f[1] : "", sizeof(e->opts));
	opts_flags(e->opts, e->flags, sizeof(e->flags));
	e->opt_c = app_opt(e->opts, 'c', NULL, 0);
	e->opt_n = app_opt(e->opts, 'n', NULL, 0);
	e->opt_r = app_opt(e->opts, 'r', NULL, 0);
	e->opt_C = app_opt(e->opts, 'C', NULL, 0);
	e->opt_i = app_opt(e->opts, 'i', NULL, 0);
	{
		char rarg[128];
		if (app_opt(e->opts, 'b', rarg, sizeof(rarg)) && rarg[0])
			chan_routine_complete(ch, rarg, e->sub_b, sizeof(e->sub_b));
	}
	e->join_us = now_us();
	{
		const char *prio = chan_var_get(ch, "QUEUE_PRIO");
		e->prio = str_isset(prio) ? strtol(prio, NULL, 10) : 0;
	}
	tmr_init(&e->tmr_ring);
	tmr_init(&e->tmr_retry);
	tmr_init(&e->tmr_timeout);
	tmr_init(&e->tmr_done);
	tmr_init(&e->tmr_ann);
	tmr_init(&e->tmr_per);
	/* Callers wait answered, hearing music (the Alovoip/Simotel queue). */
	if (chan_state(ch) != CHAN_STATE_UP && chan_answer(ch)) {
		log_warn("queue: cannot answer the caller (channel=%s)", chan_name(ch));
		mem_deref(e);
		return EIO;
	}
	entry_insert(q, e);
	chan_watch_add(ch, &e->w, caller_event_h, e);
	if (q->context[0])
		chan_set_dtmf_handler(ch, exit_key_h, e);
	{
		char pos[16];
		(void)re_snprintf(pos, sizeof(pos), "%u", e->orig_pos);
		qlog(chan_uniqueid(ch), q, "NONE", "ENTERQUEUE", nf > 2 && !secs ? f[2] : "",
		     chan_cid_num(ch), pos, NULL);
	}
	entry_sound(e);
	if (secs <= 0)
		secs = q->maxwait_s;
	if (secs > 0)
		tmr_start(&e->tmr_timeout, (uint64_t)(secs * 1000), queue_timeout_h, e);
	if (q->announce_freq_s && (q->announce_position || q->announce_holdtime))
		tmr_start(&e->tmr_ann, (uint64_t)q->announce_freq_s * 1000, announce_h, e);
	if (q->periodic_freq_s && q->periodic[0])
		tmr_start(&e->tmr_per, (uint64_t)q->periodic_freq_s * 1000, periodic_h, e);
	entry_try(e);
	return 0;
}

int queue_app_register(void)
{
	return app_register("Queue", queue_exec);
}
