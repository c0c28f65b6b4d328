/* causes: Q.850 cause <-> SIP status, as chan_pjsip maps them
 * (asterisk-semantics.md §3.2 and §3.3). */
#ifndef TAMAS_SIP_CAUSES_H
#define TAMAS_SIP_CAUSES_H

#include <stdint.h>

/* Final response for an unanswered inbound call ended with cause. */
uint16_t causes_to_sip(int cause, const char **reason);
/* Cause for an outgoing leg that got a final response scode. */
int causes_from_sip(uint16_t scode);

#endif
