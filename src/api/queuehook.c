/* queuehook: a queue call is tracked from ENTERQUEUE (keyed by the caller's
 * uniqueid and the queue) until its terminal event, then sent as one
 * CdrQueue event and forgotten. Only calls in a queue are kept, so the list
 * stays as short as the queues are. */
#include "core/rejansson.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "api/queuehook.h"
#include "api/webhook.h"
#include "core/log.h"
#include "pbx/chan.h"

struct queuehook {
	struct webhook *wh;          /* reference */
	struct list calls;           /* struct qcall */
};

struct qcall {
	struct le le;
	char callid[64], queue[64], src[64], orig[128];
	char agent[64];              /* answered, else the last one that rang */
	uint64_t start_us, answer_us;
	int64_t ring_s;              /* the answering agent's ring time */
	bool answered;
	json_t *detail;              /* one object per agent tried */
};

static uint64_t now_us(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void qcall_destructor(void *arg)
{
	struct qcall *c = arg;

	list_unlink(&c->le);
	json_decref(c->detail);
}

static void destructor(void *arg)
{
	struct queuehook *qh = arg;

	list_flush(&qh->calls);
	mem_deref(qh->wh);
}

int queuehook_alloc(struct queuehook **qhp, struct webhook *wh)
{
	struct queuehook *qh;

	if (!qhp)
		return EINVAL;
	qh = mem_zalloc(sizeof(*qh), destructor);
	if (!qh)
		return ENOMEM;
	qh->wh = mem_ref(wh);
	list_init(&qh->calls);
	*qhp = qh;
	return 0;
}

const char *queuehook_status(const char *event)
{
	if (!event)
		return "";
	if (!strcmp(event, "COMPLETEAGENT") || !strcmp(event, "COMPLETECALLER"))
		return "CONTINUE";
	if (!strcmp(event, "EXITWITHTIMEOUT"))
		return "TIMEOUT";
	if (!strcmp(event, "ABANDON"))
		return "ABANDON";
	if (!strcmp(event, "EXITEMPTY"))
		return "LEAVEEMPTY";
	if (!strcmp(event, "EXITWITHKEY"))
		return "EXITWITHKEY";
	return "";
}

const char *queuehook_hangup(const char *event)
{
	if (event && (!strcmp(event, "COMPLETECALLER") || !strcmp(event, "ABANDON")))
		return "caller";
	if (event && !strcmp(event, "COMPLETEAGENT"))
		return "agent";
	return "";
}

const char *queuehook_disposition(const char *event)
{
	return event && (!strcmp(event, "COMPLETEAGENT") || !strcmp(event, "COMPLETECALLER"))
		? "ANSWERED" : "MISSED";
}

static struct qcall *call_find(const struct queuehook *qh, const char *callid,
			       const char *queue)
{
	for (struct le *le = qh->calls.head; le; le = le->next) {
		struct qcall *c = le->data;

		if (!strcmp(c->callid, callid) && !strcasecmp(c->queue, queue))
			return c;
	}
	return NULL;
}

/* "SIP/2001" → "2001": Simotel names agents by extension. */
static const char *exten_of(const char *iface)
{
	const char *slash = iface ? strchr(iface, '/') : NULL;

	return slash ? slash + 1 : iface ? iface : "";
}

static json_t *num_str(int64_t v)
{
	char buf[24];

	(void)re_snprintf(buf, sizeof(buf), "%lld", (long long)v);
	return json_string(buf);
}

/* The detail entry of one agent (tries counted per agent). */
static json_t *detail_of(struct qcall *c, const char *agent)
{
	const char *ext = exten_of(agent);
	size_t i;
	json_t *d;

	json_array_foreach(c->detail, i, d) {
		if (!strcmp(json_string_value(json_object_get(d, "dst")), ext))
			return d;
	}
	d = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "src", c->src, "dst", ext,
		      "billsec", "0", "wait", "0", "disposition", "NO ANSWER", "comment", "",
		      "tries", "0");
	if (!d || json_array_append_new(c->detail, d))
		return NULL;
	return d;
}

static void detail_try(struct qcall *c, const char *agent, int64_t wait_s,
		       const char *disposition)
{
	json_t *d = detail_of(c, agent);
	const char *t;

	if (!d)
		return;
	t = json_string_value(json_object_get(d, "tries"));
	(void)json_object_set_new(d, "tries", num_str(strtoll(t ? t : "0", NULL, 10) + 1));
	(void)json_object_set_new(d, "wait", num_str(wait_s));
	(void)json_object_set_new(d, "disposition", json_string(disposition));
}

static void set_time(const struct queuehook *qh, json_t *o, const char *key, uint64_t us)
{
	char buf[40];

	if (!webhook_time_str(qh->wh, us, buf, sizeof(buf)))
		(void)json_object_set_new(o, key, json_string(buf));
}

static void call_end(struct queuehook *qh, struct qcall *c, const char *agent,
		     const char *event, const char *const data[5])
{
	const bool answered = !strcmp(event, "COMPLETEAGENT") || !strcmp(event, "COMPLETECALLER");
	const char *hangup = queuehook_hangup(event);
	uint64_t end = now_us();
	int64_t wait, talk = 0;
	json_t *o;
	int err;

	if (answered) {
		wait = strtoll(data[0], NULL, 10);
		talk = strtoll(data[1], NULL, 10);
		str_ncpy(c->agent, agent, sizeof(c->agent));
		json_t *d = detail_of(c, agent);
		if (d)
			(void)json_object_set_new(d, "billsec", num_str(talk));
	}
	else {
		wait = strtoll(!strcmp(event, "EXITWITHKEY") ? data[3] : data[2], NULL, 10);
	}
	o = json_object();
	if (!o)
		return;
	(void)json_object_set_new(o, "unique_id", json_string(c->callid));
	if (c->orig[0])
		(void)json_object_set_new(o, "originated_call_id", json_string(c->orig));
	(void)json_object_set_new(o, "src", json_string(c->src));
	(void)json_object_set_new(o, "dst", json_string(exten_of(c->agent)));
	(void)json_object_set_new(o, "queue", json_string(c->queue));
	(void)json_object_set_new(o, "billsec", num_str(talk));
	(void)json_object_set_new(o, "wait", num_str(wait));
	(void)json_object_set_new(o, "duration",
				  num_str((int64_t)((end - c->start_us) / 1000000u)));
	(void)json_object_set_new(o, "agent_wait", num_str(answered ? c->ring_s : 0));
	(void)json_object_set_new(o, "disposition", json_string(queuehook_disposition(event)));
	(void)json_object_set_new(o, "queue_status", json_string(queuehook_status(event)));
	if (*hangup)
		(void)json_object_set_new(o, "hangup", json_string(hangup));
	(void)json_object_set_new(o, "comment", json_string(""));
	set_time(qh, o, "starttime", c->start_us);
	set_time(qh, o, "endtime", end);
	if (answered) {
		set_time(qh, o, "answeredtime", c->answer_us);
		set_time(qh, o, "ringtime", c->answer_us - (uint64_t)c->ring_s * 1000000u);
	}
	(void)json_object_set(o, "detail", c->detail);
	err = webhook_emit(qh->wh, "CdrQueue", c->callid, o);
	if (err)
		log_warn("queuehook: CdrQueue not queued (callid=%s queue=%s err=%m)", c->callid,
			 c->queue, err);
	json_decref(o);
}

void queuehook_refused(struct queuehook *qh, const char *callid, const char *queue,
		       const char *src, const char *status)
{
	struct chan *ch;
	const char *orig;
	uint64_t now = now_us();
	json_t *o;
	int err;

	if (!qh || !callid || !queue || !status || !webhook_wants(qh->wh, "CdrQueue"))
		return;
	ch = chan_find(callid);
	orig = ch ? chan_var_get(ch, "ORIGINATED_CALL_ID") : NULL;
	o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:[]}",
		      "unique_id", callid, "src", src ? src : "", "dst", "", "queue", queue,
		      "billsec", "0", "wait", "0", "duration", "0", "agent_wait", "0",
		      "disposition", "MISSED", "queue_status", status, "comment", "",
		      "detail");
	if (!o)
		return;
	if (str_isset(orig))
		(void)json_object_set_new(o, "originated_call_id", json_string(orig));
	set_time(qh, o, "starttime", now);
	set_time(qh, o, "endtime", now);
	err = webhook_emit(qh->wh, "CdrQueue", callid, o);
	if (err)
		log_warn("queuehook: CdrQueue not queued (callid=%s queue=%s err=%m)", callid,
			 queue, err);
	json_decref(o);
}

void queuehook_event(struct queuehook *qh, const char *callid, const char *queue,
		     const char *agent, const char *event, const char *const data[5])
{
	struct qcall *c;

	if (!qh || !callid || !queue || !event || !data || !webhook_wants(qh->wh, "CdrQueue"))
		return;
	if (!strcmp(event, "ENTERQUEUE")) {
		struct chan *ch = chan_find(callid);
		const char *orig = ch ? chan_var_get(ch, "ORIGINATED_CALL_ID") : NULL;

		/* The same caller back in the same queue: the old visit ended
		 * without a terminal row we saw; start over. */
		mem_deref(call_find(qh, callid, queue));
		c = mem_zalloc(sizeof(*c), qcall_destructor);
		if (!c)
			return;
		c->detail = json_array();
		if (!c->detail) {
			mem_deref(c);
			return;
		}
		str_ncpy(c->callid, callid, sizeof(c->callid));
		str_ncpy(c->queue, queue, sizeof(c->queue));
		str_ncpy(c->src, data[1], sizeof(c->src));
		str_ncpy(c->orig, orig ? orig : "", sizeof(c->orig));
		c->start_us = now_us();
		list_append(&qh->calls, &c->le, c);
		return;
	}
	c = call_find(qh, callid, queue);
	if (!c)
		return;
	if (!strcmp(event, "RINGNOANSWER")) {
		str_ncpy(c->agent, agent, sizeof(c->agent));
		detail_try(c, agent, strtoll(data[0], NULL, 10) / 1000, "NO ANSWER");
	}
	else if (!strcmp(event, "CONNECT")) {
		c->answered = true;
		c->answer_us = now_us();
		c->ring_s = strtoll(data[2], NULL, 10);
		str_ncpy(c->agent, agent, sizeof(c->agent));
		detail_try(c, agent, c->ring_s, "ANSWERED");
	}
	else if (!strcmp(event, "COMPLETEAGENT") || !strcmp(event, "COMPLETECALLER")
		 || !strcmp(event, "ABANDON") || !strcmp(event, "EXITWITHTIMEOUT")
		 || !strcmp(event, "EXITEMPTY") || !strcmp(event, "EXITWITHKEY")) {
		call_end(qh, c, agent, event, data);
		mem_deref(c);
	}
}
