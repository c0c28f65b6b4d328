/* apps/queue_apps: dynamic queue members from the dialplan, as Asterisk's
 * AddQueueMember(queue[,interface[,penalty[,options[,membername]]]]),
 * RemoveQueueMember(queue[,interface]), PauseQueueMember([queue],interface
 * [,options[,reason]]) and UnpauseQueueMember(same). The interface defaults
 * to the calling channel's own device ("SIP/1001" of SIP/1001-0000002a).
 * Results go to AQMSTATUS, RQMSTATUS, PQMSTATUS and UPQMSTATUS. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "core/log.h"
#include "pbx/app.h"
#include "pbx/chan.h"
#include "pbx/queue.h"

/* Splits data at commas into up to n fields ("" for missing ones). */
static void split(char *buf, char **f, size_t n)
{
	char *p = buf;

	for (size_t i = 0; i < n; i++) {
		f[i] = p ? p : buf + strlen(buf);
		if (p) {
			p = strchr(p, ',');
			if (p)
				*p++ = '\0';
		}
	}
}

static void own_device(struct chan *ch, const char *given, char *out, size_t sz)
{
	const char *dash;

	if (str_isset(given)) {
		str_ncpy(out, given, sz);
		return;
	}
	str_ncpy(out, chan_name(ch), sz);
	dash = strrchr(out, '-');
	if (dash)
		out[dash - out] = '\0';
}

static int add_exec(struct chan *ch, const char *data, app_done_h *doneh, void *arg)
{
	char buf[512], *f[5], iface[64];
	const char *st;
	char *end = NULL;
	unsigned long pen = 0;
	int err;

	str_ncpy(buf, data ? data : "", sizeof(buf));
	split(buf, f, 5);
	own_device(ch, f[1], iface, sizeof(iface));
	if (f[2][0]) {
		pen = strtoul(f[2], &end, 10);
		if (*end || pen > 1000000) {
			log_warn("queue: AddQueueMember: bad penalty '%s' (channel=%s)", f[2],
				 chan_name(ch));
			(void)chan_var_set(ch, "AQMSTATUS", "INVALID");
			doneh(APP_OK, arg);
			return 0;
		}
	}
	err = queue_member_add(f[0], iface, (unsigned)pen, strchr(f[3], 'p') != NULL, true,
			       chan_uniqueid(ch));
	st = !err ? "ADDED" : err == EEXIST ? "MEMBERALREADY" : err == ENOENT ? "NOSUCHQUEUE"
		: err == EINVAL ? "INVALID" : "FAILED";
	if (err)
		log_warn("queue: AddQueueMember(%s,%s): %s (channel=%s)", f[0], iface, st,
			 chan_name(ch));
	(void)chan_var_set(ch, "AQMSTATUS", st);
	doneh(APP_OK, arg);
	return 0;
}

static int remove_exec(struct chan *ch, const char *data, app_done_h *doneh, void *arg)
{
	char buf[512], *f[3], iface[64];
	const char *st;
	int err;

	str_ncpy(buf, data ? data : "", sizeof(buf));
	split(buf, f, 3);
	own_device(ch, f[1], iface, sizeof(iface));
	err = queue_member_remove(f[0], iface, chan_uniqueid(ch));
	st = !err ? "REMOVED" : err == ENOENT ? "NOSUCHQUEUE" : err == EPERM ? "NOTDYNAMIC"
		: err == ESRCH ? "NOTINQUEUE" : "FAILED";
	if (err)
		log_warn("queue: RemoveQueueMember(%s,%s): %s (channel=%s)", f[0], iface, st,
			 chan_name(ch));
	(void)chan_var_set(ch, "RQMSTATUS", st);
	doneh(APP_OK, arg);
	return 0;
}

static void pause_common(struct chan *ch, const char *data, bool paused)
{
	char buf[512], *f[4], iface[64];
	const char *var = paused ? "PQMSTATUS" : "UPQMSTATUS";
	int err;

	str_ncpy(buf, data ? data : "", sizeof(buf));
	split(buf, f, 4);
	own_device(ch, f[1], iface, sizeof(iface));
	err = queue_member_pause(f[0], iface, paused, f[3], chan_uniqueid(ch));
	if (err == EALREADY)
		log_info("queue: %s is already %s (queue=%s channel=%s)", iface,
			 paused ? "paused" : "unpaused", f[0][0] ? f[0] : "(all)", chan_name(ch));
	else if (err)
		log_warn("queue: %sPauseQueueMember(%s,%s): not found (channel=%s)",
			 paused ? "" : "Un", f[0], iface, chan_name(ch));
	/* Asterisk reports an already paused member as paused again. */
	(void)chan_var_set(ch, var, !err || err == EALREADY ? (paused ? "PAUSED" : "UNPAUSED")
			   : "NOTFOUND");
}

static int pause_exec(struct chan *ch, const char *data, app_done_h *doneh, void *arg)
{
	pause_common(ch, data, true);
	doneh(APP_OK, arg);
	return 0;
}

static int unpause_exec(struct chan *ch, const char *data, app_done_h *doneh, void *arg)
{
	pause_common(ch, data, false);
	doneh(APP_OK, arg);
	return 0;
}

int queue_member_apps_register(void)
{
	int err = app_register("AddQueueMember", add_exec);

	err = err ? err : app_register("RemoveQueueMember", remove_exec);
	err = err ? err : app_register("PauseQueueMember", pause_exec);
	return err ? err : app_register("UnpauseQueueMember", unpause_exec);
}
