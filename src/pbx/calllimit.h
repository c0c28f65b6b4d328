/* calllimit: talk-time limits on a bridged call (Dial's L(x[:y[:z]]),
 * asterisk-semantics.md §2.3, and Simotel's call_limit with its warning
 * beeper): warnings played into the call before the end, then the end.
 * Not for ring timeouts (Dial) or absolute channel timeouts. */
#ifndef TAMAS_CALLLIMIT_H
#define TAMAS_CALLLIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct chan;
struct calllimit;

struct calllimit_spec {
	uint64_t limit_ms;       /* talk time; 0 = no limit */
	uint64_t warn_ms;        /* first warning this long before the end; 0 = none */
	uint64_t repeat_ms;      /* then every repeat_ms until the end; 0 = once */
	char warn_file[128];     /* prompt(s) played at each warning ("beep") */
	bool play_caller, play_callee;
};

/* Simotel's [call_limit] beeper settings (tamas.conf), applied to limits
 * given in seconds (originate call_limit, the CALL_LIMIT variable). */
struct calllimit_conf {
	bool beeper;                 /* call_limit_warning_beeper_enabled */
	char announce[128];          /* ..._announce: prompt name or path */
	uint32_t time_to_end_s;      /* ..._time_to_end_sec */
	uint32_t repeat_s;           /* ..._repeat_time_sec */
};

void calllimit_conf_default(struct calllimit_conf *cf);
/* L()'s argument "x[:y[:z]]" in ms; EINVAL when x is missing or 0. A y
 * beyond x is brought below it by whole z's, or dropped when z is 0. */
int calllimit_parse(struct calllimit_spec *sp, const char *arg);
/* A limit in seconds with the configured beeper. */
void calllimit_from_secs(struct calllimit_spec *sp, uint32_t secs,
			 const struct calllimit_conf *cf);

/* Runs when the limit is reached (the owner ends the bridge). */
typedef void (calllimit_end_h)(void *arg);
/* Starts counting now (call at bridge time). mem object: freeing it stops
 * the timers. Holds references on both channels. */
int calllimit_start(struct calllimit **clp, const struct calllimit_spec *sp,
		    struct chan *caller, struct chan *callee, calllimit_end_h *endh, void *arg);
/* The callee was replaced (a transfer): warnings go to the new one. */
void calllimit_set_callee(struct calllimit *cl, struct chan *callee);

#endif
