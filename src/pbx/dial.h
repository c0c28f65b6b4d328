/* dial: the Dial() application (asterisk-semantics.md §2): parallel legs,
 * answer timeout, DIALSTATUS, bridging of the winner. Technologies register
 * how they create an outgoing channel for a resource. */
#ifndef TAMAS_DIAL_H
#define TAMAS_DIAL_H

struct chan;

/* Creates an outgoing channel for resource (e.g. "1001", "demo/0912...").
 * *chp is borrowed (the technology owns the leg); on failure set *cause. */
typedef int (dial_request_h)(struct chan **chp, const char *resource,
			     struct chan *caller, int *cause, void *arg);

/* Registers technology name (case-insensitive, e.g. "SIP" and "PJSIP"). */
int dial_register_tech(const char *name, dial_request_h *h, void *arg);
/* Creates an outgoing channel for "TECH/resource" on behalf of caller
 * (an attended transfer's consultation call); *chp borrowed as above. */
int dial_request(struct chan **chp, const char *dest, struct chan *caller, int *cause);
/* Registers the Dial app in the app registry. */
int dial_app_register(void);
void dial_close(void);
/* The dialplan B(), b() and U() routines run in. */
struct dialplan;
void dial_set_dialplan(struct dialplan *dp);
/* The warning beeper for limits set by CALL_LIMIT (NULL: defaults). */
struct calllimit_conf;
void dial_set_limit_conf(const struct calllimit_conf *cf);

#endif
