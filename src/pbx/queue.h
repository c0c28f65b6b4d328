/* queue: call-center queues, Asterisk's app_queue (asterisk-semantics.md §7):
 * configured queues and their static or dynamic members, the Queue() app
 * (callers wait on music on hold while members ring per strategy), member
 * management for the AddQueueMember/RemoveQueueMember/PauseQueueMember
 * apps (and later the API), and queue_log events through a hook. */
#ifndef TAMAS_QUEUE_H
#define TAMAS_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "pbx/qstrategy.h"

/* Member conditions for joinempty/leavewhenempty (§7.5), as a bit mask. */
enum {
	QEMPTY_PAUSED = 1 << 0, QEMPTY_PENALTY = 1 << 1, QEMPTY_INUSE = 1 << 2,
	QEMPTY_RINGING = 1 << 3, QEMPTY_UNAVAILABLE = 1 << 4, QEMPTY_INVALID = 1 << 5,
	QEMPTY_UNKNOWN = 1 << 6, QEMPTY_WRAPUP = 1 << 7,
};

/* One [queue NAME] section; strings are copied. */
struct queue_conf {
	const char *name;
	enum qstrategy strategy;      /* strategy (ringall) */
	uint32_t timeout_s;           /* timeout: seconds a member rings (15; 0 = no limit) */
	uint32_t retry_s;             /* retry: pause before the next try (5) */
	uint32_t wrapup_s;            /* wrapuptime (0) */
	uint32_t maxlen;              /* maxlen: waiting callers, 0 = unlimited */
	unsigned joinempty;           /* QEMPTY_* mask; 0 = always join */
	unsigned leavewhenempty;      /* QEMPTY_* mask; 0 = never leave */
	const char *musicclass;       /* NULL/"": CHANNEL(musicclass), then media.musicclass */
	bool autopause;               /* pause a member that does not answer */
	bool ringinuse;               /* ring members whose device is in use (no) */
	/* Announcements to waiting callers (§7.6); 0 s = off. */
	uint32_t announce_freq_s;     /* announce-frequency: position / hold time */
	bool announce_position;       /* announce-position (yes) */
	bool announce_holdtime;       /* announce-holdtime (yes) */
	bool announce_first;          /* announce-to-first-user (no) */
	const char *periodic;         /* periodic-announce: "a,b" rotated */
	uint32_t periodic_freq_s;     /* periodic-announce-frequency */
	const char *context;          /* context: a waiting caller's digit that is an
				       * extension there leaves to it (EXITWITHKEY) */
	/* Exits (pbx/dest) a caller the queue lets go without an agent takes
	 * instead of returning to the dialplan; NULL/"": none. timeout_dest for
	 * TIMEOUT, failure_dest for FULL, JOINEMPTY, LEAVEEMPTY, JOINUNAVAIL,
	 * LEAVEUNAVAIL (and TIMEOUT without timeout_dest). */
	const char *timeout_dest, *failure_dest;
	uint32_t maxwait_s;           /* maxwait: a caller's wait limit when Queue()
				       * gives none (Alovoip's max wait time); 0 = none */
	bool api;                     /* added over the API (stored), not tamas.conf */
};

/* joinempty/leavewhenempty value: a comma list of paused, penalty, inuse,
 * ringing, unavailable, invalid, unknown, wrapup, or the legacy yes, no,
 * strict, loose (join selects which meaning yes/no have). EINVAL with the
 * bad word in why. */
int queue_empty_parse(const char *s, bool join, unsigned *mask, char *why, size_t whysz);

/* queue_log sink (§7.7): agent "NONE" for caller-only events; data has 5
 * entries, "" when unused. */
typedef void (queue_log_h)(const char *callid, const char *queue, const char *agent,
			   const char *event, const char *const data[5], void *arg);
void queue_set_log_h(queue_log_h *h, void *arg);

/* A caller refused at the door (status "FULL" or "JOINEMPTY"): Asterisk
 * writes no queue_log row for it, yet reports and webhooks want to see the
 * call. Called while the caller's channel exists. */
typedef void (queue_refused_h)(const char *callid, const char *queue, const char *src,
			       const char *status, void *arg);
void queue_set_refused_h(queue_refused_h *h, void *arg);

/* Where dynamic members are kept (the store); every hook returns 0 or an
 * errno, and the member change is refused when it fails. */
struct queue_persist {
	int (*add)(const char *queue, const char *iface, unsigned penalty, bool paused,
		   void *arg);
	int (*remove)(const char *queue, const char *iface, void *arg);
	int (*pause)(const char *queue, const char *iface, bool paused, void *arg);
	void *arg;
};
void queue_set_persist(const struct queue_persist *p);

/* EEXIST for a second queue of that name, EINVAL for a bad name. */
int queue_add(const struct queue_conf *cf);
bool queue_exists(const char *name);
/* True for a queue added with api set (pbx/queues/add). */
bool queue_is_api(const char *name);
/* New settings (all of cf but the name) for the queue cf->name; members
 * and waiting callers stay. ENOENT: no such queue. */
int queue_update(const struct queue_conf *cf);
/* Forgets a queue and its members. ENOENT: no such queue; EBUSY: callers
 * wait in it or a member rings or talks for it. */
int queue_remove(const char *name);

/* Members ("SIP/1001"). callid names the requester in queue_log ("NONE",
 * "CONFIG", a channel's uniqueid). ENOENT: no such queue; EEXIST: already a
 * member; EINVAL: not TECH/resource. */
int queue_member_add(const char *queue, const char *iface, unsigned penalty, bool paused,
		     bool dynamic, const char *callid);
/* A stored dynamic member at start-up: no queue_log row, not stored again.
 * Errors as queue_member_add. */
int queue_member_restore(const char *queue, const char *iface, unsigned penalty,
			 bool paused);
/* ENOENT: no such queue; ESRCH: not a member; EPERM: a static member. */
int queue_member_remove(const char *queue, const char *iface, const char *callid);
/* queue NULL or "": in every queue. ENOENT: no such queue; ESRCH: not a
 * member (of any queue); EALREADY: already in that state everywhere. */
int queue_member_pause(const char *queue, const char *iface, bool paused, const char *reason,
		       const char *callid);

/* What the API lists (pbx/queues/search): a queue's settings and, per
 * member, what the queue itself knows of it (no device state: that needs a
 * channel). Strings are valid during the callback only. */
struct queue_info {
	const char *name;
	enum qstrategy strategy;
	uint32_t timeout_s, retry_s, wrapup_s, maxlen;
	const char *musicclass;
	bool autopause, ringinuse;
	bool api;                     /* added over the API */
	unsigned waiting;             /* callers in the queue now */
	size_t members;
};
struct queue_member_info {
	const char *iface;
	unsigned penalty;
	bool paused, dynamic;
	bool in_call, ringing, wrapup;
	unsigned calls;               /* answered since start */
};
typedef int (queue_info_h)(const struct queue_info *qi, void *arg);
typedef int (queue_member_info_h)(const struct queue_info *qi,
				  const struct queue_member_info *mi, void *arg);
/* Visits every queue in configuration order, each followed by its members;
 * either handler may be NULL. A non-zero return stops and is returned. */
int queue_apply(queue_info_h *qh, queue_member_info_h *mh, void *arg);

/* The dialplan exit keys are looked up in (context). */
struct dialplan;
void queue_set_dialplan(struct dialplan *dp);

/* Registers Queue (queue.c). */
int queue_app_register(void);
/* Registers AddQueueMember, RemoveQueueMember, PauseQueueMember and
 * UnpauseQueueMember (apps/queue_apps.c). */
int queue_member_apps_register(void);
/* Forgets every queue (at shutdown, after channels are gone). */
void queue_close(void);

#endif
