/* callback: the callback-request module (seed 001, Alovoip's "callback
 * request"): a caller who reaches a [callback NAME] leaves the number to be
 * called back (the Callback app); the request is stored (store/cbreq) and,
 * with auto_call, tamasd later calls the target extension and then the
 * customer (originate), retrying up to the configured count. Not for the
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

/* The prompts a caller hears, each a prompt name or "" to skip. */
enum callback_prompt {
	CB_PROMPT_INTRO,        /* first, after answering */
	CB_PROMPT_CONFIRM,      /* "press 1 to confirm the number", before SayDigits
				 * of the caller's own number (first try only) */
	CB_PROMPT_ENTER,        /* "or enter another number then #" */
	CB_PROMPT_WRONG,        /* after an invalid number */
	CB_PROMPT_REGISTERED,   /* after the request is stored */
	CB_PROMPT_COUNT
};

struct callback_conf {
	const char *name;
	const char *code;        /* dial code, unique among callbacks */
	const char *target;      /* extension ("1002") or "queue:NAME" */
	const char *context;     /* where the customer number is dialled; NULL: main_routing */
	const char *next;        /* destination after REGISTERED (pbx/dest); NULL: hangup */
	const char *error;       /* destination otherwise; NULL: hangup */
	bool active, auto_call;
	uint32_t retries;        /* automatic attempts before failed (>= 1) */
	uint32_t min_wait_s;     /* registration to the first automatic attempt */
	uint32_t retry_wait_s;   /* between automatic attempts */
	const char *prompt[CB_PROMPT_COUNT];
};

/* Names of the prompt keys in [callback NAME], by enum callback_prompt. */
extern const char *const callback_prompt_key[CB_PROMPT_COUNT];

/* The module; st must outlive it. Registers the Callback app (one module
 * per process: the app registry has no argument). */
int callback_alloc(struct callbacks **cbp, struct store *st);
/* Adds a callback; EEXIST (why says which) for a taken name or code,
 * EINVAL for a bad field. Strings are copied. */
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
/* Every CDR: an automatic attempt's (ORIGINATED_CALL_ID) ends it. */
void callback_cdr(struct callbacks *cb, const struct cdr_rec *rec);

#endif
