/* originate: a two-legged call made by the PBX (Simotel call/originate/act,
 * Asterisk's Originate, asterisk-semantics.md §9): the first party is called;
 * when it answers it hears music on hold while the dialplan runs for the
 * second party at context/callee, where Dial bridges them. Not for the REST
 * parsing (api/) nor for dialling itself (Dial). */
#ifndef TAMAS_ORIGINATE_H
#define TAMAS_ORIGINATE_H

#include <stddef.h>
#include <stdint.h>

struct dialplan;

struct originate_conf {
	struct dialplan *dp;
	/* What the answered first party hears until the bridge: "moh" (the
	 * default class), "moh:<class>", "ringback", a prompt name or "" for
	 * silence (api.originate_hold). */
	char hold[128];
};

struct originate_req {
	const char *caller;      /* extension, or a number reached via trunk */
	const char *callee;      /* dialled in context by the dialplan */
	const char *context;
	const char *caller_id;   /* presented to both parties (may be NULL) */
	const char *trunk;       /* NULL/"": caller is an extension */
	uint32_t timeout_s;      /* first party's ring time; 0 = 30 */
	uint32_t call_limit_s;   /* talk time of the bridged call; 0 = none */
};

/* Copies cf; call once before originate_start. */
void originate_set_conf(const struct originate_conf *cf);
/* Starts the call; id receives the originated call id
 * ("orig.call.<epoch>.<microseconds>", unique within the process), also set on the channel (and inherited
 * by the second leg) as ORIGINATED_CALL_ID. EINVAL for a missing field,
 * ENOENT when context/callee is not in the dialplan (why says which).
 * A first party that cannot be called still returns 0: its CDR says
 * FAILED on channel OutgoingSpoolFailed, as Asterisk reports it. */
int originate_start(const struct originate_req *rq, char *id, size_t idsz,
		    char *why, size_t whysz);

#endif
