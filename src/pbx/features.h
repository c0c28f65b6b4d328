/* features: DTMF features on a bridged call (features.conf,
 * asterisk-semantics.md §5): built-ins blindxfer, disconnect, automixmon
 * enabled by Dial's t/T, h/H, x/X, and dynamic features (applicationmap
 * + DYNAMIC_FEATURES) that run a routine or app on self or peer, as seed
 * 004 binds its customTransfer to '#'. Digits that may start a feature are
 * held back; the rest reach the peer unchanged. */
#ifndef TAMAS_FEATURES_H
#define TAMAS_FEATURES_H

#include <stdbool.h>
#include <stdint.h>

struct chan;
struct dialplan;
struct fbridge;

struct features_conf {
	uint32_t digit_timeout_ms;          /* featuredigittimeout (1000) */
	uint32_t transfer_digit_timeout_s;  /* transferdigittimeout (3) */
	const char *blindxfer, *disconnect, *automixmon;   /* "#", "*", "" = off */
	const char *atxfer;                                /* "*2" */
	const char *atxfercomplete, *atxferabort;          /* "*2", "*1" */
	const char *atxferswap;                            /* "*4" */
	const char *atxferthreeway;                        /* "*3" */
	uint32_t atxfernoanswertimeout_s;                  /* 15 */
	const char *xfersound, *xferfailsound;             /* beep, beeperr */
	const char *transferannouncesound;                 /* pbx-transfer */
};

/* Module set-up (one per daemon; conf must outlive the channels). */
void features_init(const struct features_conf *conf, struct dialplan *dp);
void features_close(void);
/* applicationmap entry: "DTMF,self|peer[/x],App(args)[,mohclass]" or
 * "DTMF,self|peer,App,args[,mohclass]". EINVAL with a reason in err. */
int features_map_add(const char *name, const char *def, char *err, size_t errsz);

/* Starts feature detection on a bridged pair from Dial's options (caller
 * gets T/H/X, callee t/h/x) and each side's DYNAMIC_FEATURES. NULL result
 * when neither side has any feature. mem object: freeing it stops it. */
int features_attach(struct fbridge **fbp, struct chan *caller, struct chan *callee,
		    const char *dial_opts);
/* The pair is no longer bridged: stop detecting; a feature in progress
 * finishes without re-arming. Returns NULL. */
struct fbridge *features_detach(struct fbridge *fb);

#endif
