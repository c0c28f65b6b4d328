/* registrar: REGISTER handling (RFC 3261 §10) and the location service.
 * Bindings live in memory and expire by timer; users come through sipauth. */
#ifndef TAMAS_SIP_REGISTRAR_H
#define TAMAS_SIP_REGISTRAR_H

#include <stdbool.h>
#include <stdint.h>
#include <re.h>

struct registrar;
struct sipauth;

struct reg_binding {
	char aor[64];           /* extension */
	char contact[256];      /* Contact URI as registered */
	struct sa src;          /* where the REGISTER came from (NAT) */
	enum sip_transp tp;
	bool direct;            /* UDP, and the Contact is src: no NAT in between */
	uint64_t expires_at;    /* tmr_jiffies() ms */
	char ua[96];
};

int registrar_alloc(struct registrar **rp, struct sip *sip, struct sipauth *auth,
		    uint32_t min_expires, uint32_t max_expires);
/* Answers a REGISTER; always consumes it. */
void registrar_handle(struct registrar *r, const struct sip_msg *msg);
/* Most recent binding of ext; ENOENT when not registered. */
int registrar_lookup(const struct registrar *r, const char *ext, struct reg_binding *out);
typedef void (registrar_apply_h)(const struct reg_binding *b, void *arg);
void registrar_apply(const struct registrar *r, registrar_apply_h *h, void *arg);
unsigned registrar_count(const struct registrar *r);

#endif
