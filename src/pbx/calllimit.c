/* calllimit: two timers per limited call; warnings are one-shot prompts
 * played into the bridge (the relay pauses towards that side meanwhile). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "core/log.h"
#include "pbx/apps/media.h"
#include "pbx/calllimit.h"
#include "pbx/chan.h"

struct calllimit {
	struct calllimit_spec sp;
	struct chan *caller, *callee;    /* references */
	struct tmr tmr_end, tmr_warn;
	uint64_t end_at;                 /* tmr_jiffies() of the end */
	calllimit_end_h *endh;
	void *arg;
};

void calllimit_conf_default(struct calllimit_conf *cf)
{
	memset(cf, 0, sizeof(*cf));
	cf->beeper = true;
	str_ncpy(cf->announce, "beep", sizeof(cf->announce));
	cf->time_to_end_s = 20;
	cf->repeat_s = 10;
}

static int parse_ms(const char *s, char **end, uint64_t *v)
{
	unsigned long long x;

	if (*s < '0' || *s > '9')
		return EINVAL;
	errno = 0;
	x = strtoull(s, end, 10);
	if (errno)
		return EINVAL;
	*v = x;
	return 0;
}

int calllimit_parse(struct calllimit_spec *sp, const char *arg)
{
	uint64_t v[3] = { 0, 0, 0 };
	const char *p = arg;
	char *end;
	int n;

	if (!sp || !arg)
		return EINVAL;
	for (n = 0; n < 3; n++) {
		if (parse_ms(p, &end, &v[n]))
			return EINVAL;
		if (*end == '\0')
			break;
		if (*end != ':' || n == 2)
			return EINVAL;
		p = end + 1;
	}
	if (!v[0])
		return EINVAL;
	memset(sp, 0, sizeof(*sp));
	sp->limit_ms = v[0];
	sp->warn_ms = v[1];
	sp->repeat_ms = v[2];
	if (sp->warn_ms >= sp->limit_ms) {
		uint64_t k = sp->repeat_ms ?
			(sp->warn_ms - sp->limit_ms) / sp->repeat_ms + 1 : 0;

		if (!k || k * sp->repeat_ms > sp->warn_ms)
			sp->warn_ms = 0;
		else
			sp->warn_ms -= k * sp->repeat_ms;
	}
	str_ncpy(sp->warn_file, "beep", sizeof(sp->warn_file));
	sp->play_caller = true;
	return 0;
}

void calllimit_from_secs(struct calllimit_spec *sp, uint32_t secs,
			 const struct calllimit_conf *cf)
{
	memset(sp, 0, sizeof(*sp));
	sp->limit_ms = secs * 1000ULL;
	sp->play_caller = sp->play_callee = true;
	if (!cf || !cf->beeper || !cf->time_to_end_s || !secs)
		return;
	/* A window longer than the call starts warning at once. */
	sp->warn_ms = cf->time_to_end_s < secs ? cf->time_to_end_s * 1000ULL
					       : (secs - 1) * 1000ULL;
	sp->repeat_ms = cf->repeat_s * 1000ULL;
	str_ncpy(sp->warn_file, cf->announce, sizeof(sp->warn_file));
}

static void destructor(void *arg)
{
	struct calllimit *cl = arg;

	tmr_cancel(&cl->tmr_end);
	tmr_cancel(&cl->tmr_warn);
	mem_deref(cl->caller);
	mem_deref(cl->callee);
}

static void warn_play(struct chan *ch, const char *file)
{
	int err;

	if (!ch || chan_is_hungup(ch))
		return;
	err = media_announce(ch, file);
	if (err)
		log_warn("calllimit: cannot play warning '%s' (channel=%s): %m", file,
			 chan_name(ch), err);
}

static void warn_h(void *arg)
{
	struct calllimit *cl = arg;
	uint64_t now = tmr_jiffies(), left = cl->end_at > now ? cl->end_at - now : 0;

	log_info("calllimit: %llu ms left (channel=%s)", (unsigned long long)left,
		 chan_name(cl->caller));
	if (cl->sp.play_caller || !cl->sp.play_callee)
		warn_play(cl->caller, cl->sp.warn_file);
	if (cl->sp.play_callee)
		warn_play(cl->callee, cl->sp.warn_file);
	if (cl->sp.repeat_ms && left > cl->sp.repeat_ms)
		tmr_start(&cl->tmr_warn, cl->sp.repeat_ms, warn_h, cl);
}

static void end_h(void *arg)
{
	struct calllimit *cl = arg;

	tmr_cancel(&cl->tmr_warn);
	log_info("calllimit: limit of %llu ms reached (channel=%s)",
		 (unsigned long long)cl->sp.limit_ms, chan_name(cl->caller));
	cl->endh(cl->arg);
}

int calllimit_start(struct calllimit **clp, const struct calllimit_spec *sp,
		    struct chan *caller, struct chan *callee, calllimit_end_h *endh, void *arg)
{
	struct calllimit *cl;

	if (!clp || !sp || !sp->limit_ms || !caller || !endh)
		return EINVAL;
	cl = mem_zalloc(sizeof(*cl), destructor);
	if (!cl)
		return ENOMEM;
	cl->sp = *sp;
	cl->caller = mem_ref(caller);
	cl->callee = mem_ref(callee);
	cl->endh = endh;
	cl->arg = arg;
	cl->end_at = tmr_jiffies() + sp->limit_ms;
	tmr_start(&cl->tmr_end, sp->limit_ms, end_h, cl);
	if (sp->warn_ms && str_isset(sp->warn_file))
		tmr_start(&cl->tmr_warn, sp->limit_ms - sp->warn_ms, warn_h, cl);
	*clp = cl;
	return 0;
}

void calllimit_set_callee(struct calllimit *cl, struct chan *callee)
{
	if (!cl)
		return;
	mem_deref(cl->callee);
	cl->callee = mem_ref(callee);
}
