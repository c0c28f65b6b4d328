/* ctlcmd: the commands tamasctl sends (user, apiuser, registrations, channels,
 * hangup, dialplan reload, cdr tail, status, trunks). Output is JSON lines. */
#ifndef TAMAS_CTLCMD_H
#define TAMAS_CTLCMD_H

#include <re.h>

struct store;
struct sipsrv;
struct dialplan;

struct ctlcmd {
	struct store *store;
	struct sipsrv *sip;
	struct dialplan *dp;
};

/* ctl_cmd_h; arg is struct ctlcmd. */
int ctlcmd_h(int argc, char *argv[], struct re_printf *pf, struct re_printf *errpf,
	     void *arg);

#endif
