/* originate: one small object per call until the first party answers (or
 * fails); after that the channel runs its dialplan like any other. */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <re.h>
#include "core/log.h"
#include "pbx/apps/media.h"
#include "pbx/chan.h"
#include "pbx/dial.h"
#include "pbx/dialplan.h"
#include "pbx/originate.h"

static struct originate_conf oconf = { .hold = "moh" };
static uint64_t last_id_us;    /* ids are never handed out twice */

struct orig {
	struct chan *ch;          /* reference */
	struct chan_watch w;
	struct tmr tmr;
	char id[48];
};

void originate_set_conf(const struct originate_conf *cf)
{
	if (cf)
		oconf = *cf;
}

/* "orig.call.<epoch>.<micro>": the request's time, made unique by taking
 * the next microsecond when two requests share one. */
static void make_id(char *id, size_t idsz)
{
	struct timespec ts;
	uint64_t us;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	us = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	if (us <= last_id_us)
		us = last_id_us + 1;
	last_id_us = us;
	(void)re_snprintf(id, idsz, "orig.call.%llu.%06llu", (unsigned long long)(us / 1000000u),
			  (unsigned long long)(us % 1000000u));
}

static void orig_destructor(void *arg)
{
	struct orig *o = arg;

	tmr_cancel(&o->tmr);
	chan_watch_remove(&o->w);
	mem_deref(o->ch);
}

static void dialplan_ended(struct chan *ch, void *arg)
{
	(void)arg;
	chan_hangup(ch, 0);
}

static void hold_start(struct chan *ch)
{
	const char *h = oconf.hold;
	int err = 0;

	if (!str_isset(h))
		return;
	if (!strcmp(h, "moh"))
		err = media_moh_start(ch, NULL);
	else if (!strncmp(h, "moh:", 4))
		err = media_moh_start(ch, h + 4);
	else if (!strcmp(h, "ringback"))
		err = media_tone_start(ch, "ring");
	else
		err = media_announce(ch, h);
	if (err)
		log_warn("originate: cannot play '%s' to the first party (channel=%s): %m", h,
			 chan_name(ch), err);
}

static void answered(struct orig *o)
{
	struct chan *ch = o->ch;
	int err;

	log_info("originate: first party answered (id=%s channel=%s)", o->id, chan_name(ch));
	hold_start(ch);
	err = dialplan_start(oconf.dp, ch, dialplan_ended, NULL);
	if (err) {
		log_warn("originate: cannot start the dialplan (id=%s channel=%s): %m", o->id,
			 chan_name(ch), err);
		chan_hangup(ch, CAUSE_NORMAL_TEMPORARY_FAILURE);
	}
}

static void orig_event_h(struct chan *ch, enum chan_event ev, void *arg)
{
	struct orig *o = arg;

	switch (ev) {
	case CHAN_EV_ANSWER:
		answered(o);
		break;
	case CHAN_EV_HANGUP:
		log_info("originate: first party did not answer (id=%s channel=%s cause=%d)",
			 o->id, chan_name(ch), chan_cause(ch));
		break;
	case CHAN_EV_REDIRECT:
	case CHAN_EV_TAKEN:
		break;
	default:
		return;
	}
	mem_deref(o);
}

static void ring_timeout_h(void *arg)
{
	struct orig *o = arg;

	log_info("originate: first party did not answer in time (id=%s channel=%s)", o->id,
		 chan_name(o->ch));
	chan_hangup(o->ch, CAUSE_NO_ANSWER);  /* the hangup event frees o */
}

static const struct chan_tech spool_failed_tech = { .name = "OutgoingSpoolFailed" };

/* Asterisk's record of an originate whose first leg could not be created. */
static void spool_failed(const struct originate_req *rq, const char *id, int cause)
{
	struct chan *ch;

	if (chan_alloc(&ch, &spool_failed_tech, NULL, rq->caller, NULL))
		return;
	(void)chan_set_cid(ch, rq->caller_id, NULL);
	(void)chan_set_location(ch, rq->context, rq->callee);
	(void)chan_var_set(ch, "ORIGINATED_CALL_ID", id);
	chan_cdr_set_disposition(ch, "FAILED");
	chan_hangup(ch, cause ? cause : CAUSE_REQUESTED_CHAN_UNAVAIL);
	mem_deref(ch);
}

static int setup_channel(struct chan *ch, const struct originate_req *rq, const char *id)
{
	char limit[16];
	int err;

	err = chan_set_location(ch, rq->context, rq->callee);
	if (!err && str_isset(rq->caller_id))
		err = chan_set_cid(ch, rq->caller_id, NULL);
	/* __: the second leg and its CDR, webhooks and API requests carry it. */
	if (!err)
		err = chan_var_set(ch, "__ORIGINATED_CALL_ID", id);
	if (!err && rq->call_limit_s) {
		(void)re_snprintf(limit, sizeof(limit), "%u", rq->call_limit_s);
		err = chan_var_set(ch, "CALL_LIMIT", limit);
	}
	return err;
}

int originate_start(const struct originate_req *rq, char *id, size_t idsz,
		    char *why, size_t whysz)
{
	char dest[192];
	struct chan *ch;
	struct orig *o;
	int cause, err;

	if (!rq || !str_isset(rq->caller) || !str_isset(rq->callee) ||
	    !str_isset(rq->context) || !id || !oconf.dp)
		return EINVAL;
	if (!dialplan_exists(oconf.dp, rq->context, rq->callee)) {
		(void)re_snprintf(why, whysz, "no extension %s in context %s", rq->callee,
				  rq->context);
		return ENOENT;
	}
	make_id(id, idsz);
	if (str_isset(rq->trunk))
		(void)re_snprintf(dest, sizeof(dest), "SIP/%s/%s", rq->trunk, rq->caller);
	else
		(void)re_snprintf(dest, sizeof(dest), "SIP/%s", rq->caller);
	err = dial_request(&ch, dest, NULL, &cause);
	if (err) {
		log_info("originate: cannot call the first party (id=%s dest=%s cause=%d): %m",
			 id, dest, cause, err);
		spool_failed(rq, id, cause);
		return 0;
	}
	o = mem_zalloc(sizeof(*o), orig_destructor);
	err = o ? setup_channel(ch, rq, id) : ENOMEM;
	if (err) {
		mem_deref(o);
		chan_hangup(ch, CAUSE_NORMAL_TEMPORARY_FAILURE);
		return err;
	}
	o->ch = mem_ref(ch);
	str_ncpy(o->id, id, sizeof(o->id));
	chan_watch_add(ch, &o->w, orig_event_h, o);
	tmr_start(&o->tmr, (rq->timeout_s ? rq->timeout_s : 30) * 1000ULL, ring_timeout_h, o);
	log_info("originate: calling %s for %s@%s (id=%s channel=%s)", dest, rq->callee,
		 rq->context, id, chan_name(ch));
	return 0;
}
