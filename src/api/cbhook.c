/* cbhook: CallbackRequest events (see cbhook.h). */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <re.h>
#include "api/cbhook.h"
#include "api/webhook.h"
#include "core/log.h"
#include "pbx/callback.h"

#define EVENT "CallbackRequest"

/* A stored UTC "YYYY-MM-DD HH:MM:SS" in the webhooks' format; "" stays "". */
static void time_of(const struct webhook *wh, const char *utc, char *buf, size_t sz)
{
	struct tm tm = { 0 };
	time_t t;

	buf[0] = '\0';
	if (!utc || sscanf(utc, "%d-%d-%d %d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
			   &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		return;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = timegm(&tm);
	if (t == (time_t)-1 || webhook_time_str(wh, (uint64_t)t * 1000000u, buf, sz))
		buf[0] = '\0';
}

void cbhook_emit(struct webhook *wh, const struct callback_event *ev)
{
	char reg[40], handled[40], now[40] = "";
	struct timespec ts;
	int err;

	if (!ev || !webhook_wants(wh, EVENT))
		return;
	time_of(wh, ev->registered_at, reg, sizeof(reg));
	time_of(wh, ev->handled_at, handled, sizeof(handled));
	(void)clock_gettime(CLOCK_REALTIME, &ts);
	(void)webhook_time_str(wh, (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u,
			       now, sizeof(now));
	{
		const struct webhook_field f[] = {
			{ "state", callback_state_name(ev->state), 0 },
			{ "request_id", ev->id, 0 },
			{ "callback", ev->callback, 0 },
			{ "caller", ev->caller, 0 },
			{ "number", ev->number, 0 },
			{ "target", ev->target, 0 },
			{ "attempt", NULL, ev->attempt },
			{ "originated_call_id", ev->originated_call_id, 0 },
			{ "agent", ev->agent, 0 },
			{ "outcome", ev->outcome, 0 },
			{ "operator", ev->operator, 0 },
			{ "registered_at", reg, 0 },
			{ "handled_at", handled, 0 },
			{ "time", now, 0 },
		};

		err = webhook_emit_fields(wh, EVENT, ev->id, f, sizeof(f) / sizeof(f[0]));
	}
	if (err)
		log_warn("cbhook: " EVENT " not queued (id=%s state=%s err=%m)", ev->id,
			 callback_state_name(ev->state), err);
}
