/* apps/poll: the Poll app, Simotel's post-call survey component
 * (simotel-components.md §2.22): plays a prompt, collects a score by DTMF
 * (through the Read app), retries a missing or out-of-range one, and hands
 * a valid score to the daemon's hook (store row + Survey webhook).
 *   Poll(label,prompt,min,max[,timeout[,attempts[,invalid[,thanks]]]])
 * Sets POLLSTATUS (OK, TIMEOUT, INVALID, HANGUP, ERROR), POLL_POINT (the
 * score, "" unless OK), POLL_LABEL and POLL_INPUT (the digits last entered). */
#ifndef TAMAS_APPS_POLL_H
#define TAMAS_APPS_POLL_H

#include <stdint.h>

/* A score a caller submitted; strings valid during the hook call only. */
struct poll_result {
	const char *uniqueid;   /* the polled channel's (Simotel's cuid) */
	const char *linkedid;   /* the call's: orders the event with its others */
	const char *src;        /* caller number */
	const char *dst;        /* DIALEDPEERNUMBER: who served the call, "" if none */
	const char *queue;      /* QUEUENAME (Asterisk's setqueuevar), "" if none */
	const char *label;
	int64_t point;
};
/* Returns 0 once the result is durable; an errno makes POLLSTATUS ERROR. */
typedef int (poll_result_h)(const struct poll_result *r, void *arg);

/* Registers Poll (and its alias Survey); h may be NULL (scores are only
 * logged). arg must outlive the registry. */
int apps_poll_register(poll_result_h *h, void *arg);

#endif
