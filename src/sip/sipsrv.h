/* sipsrv: the SIP side of tamasd: transports, request validation, overload
 * guard, registrar, trunks, and the SIP channel technology (legs). The PBX
 * sees only struct chan; nothing here touches the store. */
#ifndef TAMAS_SIPSRV_H
#define TAMAS_SIPSRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <re.h>

struct sipsrv;
struct chan;
struct registrar;

struct sipsrv_conf {
	struct sa laddr;            /* sip.bind + sip.port */
	bool udp, tcp;
	const char *realm;
	const char *user_agent;
	uint32_t dial_timeout_s;    /* Timer C for ringing legs */
	uint32_t max_calls;         /* channels before 503 */
	uint32_t nonce_ttl_s, min_expires, max_expires;
	struct sa rtp_laddr;
	uint16_t rtp_min, rtp_max;
	const char *dtmf_mode;      /* sip.dtmfmode: rfc4733, info, inband, auto */
	/* Per-endpoint override (a user's or trunk's dtmfmode), NULL if none. */
	const char *(*dtmf_mode_h)(bool trunk, const char *name, void *arg);
};

struct trunk_conf {
	const char *name, *host, *context, *username, *password;
	uint16_t port;
	bool reg;
	uint32_t expires;
};

/* Password and dialplan context of a local user; ENOENT if unknown. */
typedef int (sipsrv_user_h)(const char *ext, char *pw, size_t pwsz,
			    char *ctx, size_t ctxsz, void *arg);
/* A new inbound channel (context/exten/caller id set): start its dialplan. */
typedef void (sipsrv_call_h)(struct chan *ch, void *arg);

int sipsrv_alloc(struct sipsrv **srvp, const struct sipsrv_conf *cf,
		 sipsrv_user_h *userh, sipsrv_call_h *callh, void *arg);
int sipsrv_trunk_add(struct sipsrv *srv, const struct trunk_conf *tc);
/* Whether a trunk of that name exists (tells trunk legs from users'). */
bool sipsrv_has_trunk(const struct sipsrv *srv, const char *name);

/* Creates an outgoing SIP channel for a Dial resource: "EXT" (a registered
 * user), "TRUNK/NUMBER" or "NUMBER@TRUNK". Media is offered from caller's.
 * On failure returns an errno and sets *cause (Q.850) for DIALSTATUS. */
int sipsrv_request(struct sipsrv *srv, struct chan **chp, const char *resource,
		   struct chan *caller, int *cause);

struct registrar *sipsrv_registrar(const struct sipsrv *srv);
/* Whether mode is a dtmfmode the SIP side knows (rfc4733, rfc2833, info,
 * inband, auto), for checking configuration. */
bool sipsrv_dtmf_mode_valid(const char *mode);
int sipsrv_print_status(struct re_printf *pf, const struct sipsrv *srv);
/* Print trunks as JSON lines. */
int sipsrv_print_trunks(struct re_printf *pf, const struct sipsrv *srv);
uint64_t sipsrv_malformed_count(const struct sipsrv *srv);
unsigned sipsrv_rtp_capacity(const struct sipsrv *srv);

#endif
