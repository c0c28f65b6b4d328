/* callback: the callback-request module (seed 001, Alovoip's "callback
 * request"): a caller who reaches a [callback NAME] leaves the number to be
 * called back (the Callback app); the request is stored (store/cbreq) and,
 * with auto_call, tamasd later calls the first free target (an idle
 * extension, a queue's free agent) and then the customer (originate),
 * retrying up to the configured count. Not for the
 * REST API (api/routes_callback) nor for storage (store/cbreq).
 *   Callback(name)
 * Sets CALLBACKSTATUS (REGISTERED, INVALID, HANGUP, ERROR) and
 * CALLBACK_NUMBER (the number stored, "" unless REGISTERED). */
#ifndef TAMAS_CALLBACK_H
#define TAMAS_CALLBACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;
struct cdr_rec;
struct callbacks;

/* The prompts a caller hears (Alovoip's eight, in its order), each "" to
 * skip, "tts:TEXT" to speak TEXT in the channel's language, or a prompt or
 * announcement name as Playback finds it. */
enum callback_prompt {
	CB_PROMPT_INTRO,        /* first, after answering */
	CB_PROMPT_ENTER,        /* "enter the number to be called back, then #;
				 * # alone keeps your own number" */
	CB_PROMPT_WRONG,        /* after an invalid number */
	CB_PROMPT_ENTERED,      /* "the number you entered", before SayDigits */
	CB_PROMPT_IS,           /* "is", after SayDigits */
	CB_PROMPT_CHECK,        /* "press 1 to confirm, 2 to enter another number" */
	CB_PROMPT_BEFORE,       /* before the request is stored */
	CB_PROMPT_AFTER,        /* after the request is stored */
	CB_PROMPT_COUNT
};
struct callback_conf {
	const char *name;
	const char *code;        /* dial code, unique among callbacks */
	const char *target;      /* 1..8 comma-separated extensions ("1002") or
				  * "queue:NAME" (an existing queue), tried in order */
	const char *context;     /* where the customer number is dialled; NULL: main_routing */
	const char *next;        /* destination after REGISTERED (pbx/dest); NULL: hangup */
	const char *error;       /* destination otherwise; NULL: hangup */
	bool active, auto_call;
	uint32_t retries;        /* automatic attempts before failed (>= 1) */
	uint32_t min_wait_s;     /* grace: from registration to the first automatic
				  * attempt, and a target's phone must have been
				  * free that long (the agent may call back himself) */
	uint32_t retry_wait_s;   /* between automatic attempts */
	const char *prompt[CB_PROMPT_COUNT];
};

/* Names of the prompt keys in [callback NAME], by enum callback_prompt
 * (cbconf also accepts the older confirm = check, registered = after). */
extern const char *const callback_prompt_key[CB_PROMPT_COUNT];

/* The module; st must outlive it. Registers the Callback app (one module
 * per process: the app registry has no argument). */
int callback_alloc(struct callbacks **cbp, struct store *st);
/* What speaks tts: prompts, in lang unless the channel has a
 * CHANNEL_LANGUAGE (media.language); tts must outlive cb. */
struct tts;
void callback_set_tts(struct callbacks *cb, struct tts *tts, const char *lang);
/* Adds a callback; EEXIST (why says which) for a taken name or code,
 * EINVAL for a bad field (a queue target that does not exist). Strings are
 * copied; the target list is kept (and stored with each request) without
 * blanks. */
int callback_add(struct callbacks *cb, const struct callback_conf *cf, char *why,
		 size_t whysz);
/* The callback named key (by_code: whose dial code is key): its name and
 * next/error destinations ("hangup" when unset), valid while it exists.
 * ENOENT when there is none. */
int callback_lookup(const struct callbacks *cb, const char *key, bool by_code,
		    const char **name, const char **next, const char **error);
/* Starts the automatic calls: requests a previous run left calling are
 * pending again, then every interval_ms the due ones are tried. */
int callback_start(struct callbacks *cb, uint32_t interval_ms);
/* Every CDR: an automatic attempt's (ORIGINATED_CALL_ID) ends it; an
 * answered call from an extension to a waiting request's number (not an
 * attempt of the module) handles that request, operator = the extension. */
void callback_cdr(struct callbacks *cb, const struct cdr_rec *rec);

/* A request's transitions, in order: registered, then per automatic
 * attempt calling and retry (another later) or done / failed; handled
 * when an operator marks it done. */
enum callback_state {
	CALLBACK_REGISTERED,      /* a caller left a number (also when merged) */
	CALLBACK_CALLING,         /* an automatic attempt started */
	CALLBACK_RETRY,           /* it did not reach the customer; another later */
	CALLBACK_DONE,            /* the customer was called back */
	CALLBACK_FAILED,          /* the last attempt did not reach the customer */
	CALLBACK_HANDLED,         /* an operator marked it done (API) */
};

/* One transition; strings are valid during the call only, never NULL. */
struct callback_event {
	enum callback_state state;
	const char *id, *callback, *caller, *number, *target;
	uint32_t attempt;             /* the attempt; registered/handled: attempts so far */
	const char *originated_call_id;  /* the attempt's ("" if it never started) */
	const char *agent;            /* the attempt's first party (the target), "" */
	const char *outcome;          /* retry/done/failed: the attempt's end, ANSWERED,
				       * BUSY, NO ANSWER or FAILED; else "" */
	const char *operator;         /* handled: who, "" otherwise */
	const char *registered_at, *handled_at;  /* UTC "YYYY-MM-DD HH:MM:SS", "" */
};
typedef void (callback_event_h)(const struct callback_event *ev, void *arg);

/* h (NULL: none) gets every transition, after the store has it. */
void callback_set_event_h(struct callbacks *cb, callback_event_h *h, void *arg);
/* "registered", "calling", "retry", "done", "failed", "handled". */
const char *callback_state_name(enum callback_state state);
/* An operator handled a pending or failed request (cbreq_mark_done) and
 * the handled event follows. ENOENT when no such request is pending or
 * failed. */
int callback_mark_done(struct callbacks *cb, const char *id, const char *operator);

/* Gets each callback's definition (strings valid during the call). */
typedef int (callback_conf_h)(const struct callback_conf *cf, void *arg);
/* Every callback in the order they were added; stops at h's first error. */
int callback_foreach(struct callbacks *cb, callback_conf_h *h, void *arg);
/* Replaces the definition of the callback named cf->name (checked as
 * callback_add checks; a caller inside it goes on with the new prompts).
 * ENOENT for an unknown name, EEXIST (why says) for a code taken by
 * another callback, EINVAL for a bad field. */
int callback_update(struct callbacks *cb, const struct callback_conf *cf, char *why,
		    size_t whysz);
/* Removes a callback: new callers get "no such callback", its stored
 * requests stay as they are (not called automatically any more). ENOENT
 * for an unknown name. */
int callback_remove(struct callbacks *cb, const char *name);

#endif
