/* transfer: moving a call to another party (asterisk-semantics.md §5.4).
 * Blind: the transferer's peer is sent to an extension (SIP REFER, DTMF
 * blindxfer). Attended: the peers of two calls of the transferer are joined
 * (SIP REFER with Replaces). Technologies report what the phone asked;
 * what happens to the calls is decided here. */
#ifndef TAMAS_TRANSFER_H
#define TAMAS_TRANSFER_H

struct chan;
struct dialplan;

void transfer_set_dialplan(struct dialplan *dp);
/* Sends transferer's bridged peer to exten in TRANSFER_CONTEXT, else the
 * transferer's context, else the peer's ("default" last); sets BLINDTRANSFER
 * on the peer. ENOTCONN: no bridged peer; ENOENT: no such extension (the
 * call is left as it was). The caller hangs the transferer up. */
int transfer_blind(struct chan *transferer, const char *exten);
/* a and b are the transferer's legs of two calls; their peers are joined
 * and keep their CDRs (the owning Dial adopts the other party). ENOTCONN:
 * a leg has no peer; ENOTSUP: neither call is a Dial whose callee is the
 * transferer's leg. The caller hangs a and b up. */
int transfer_attended(struct chan *a, struct chan *b);
/* The same verdicts without acting (a phone is told before its call goes). */
int transfer_blind_check(struct chan *transferer, const char *exten);
int transfer_attended_check(struct chan *a, struct chan *b);

/* A transfer completed: transferer moved `moved` to extension to_exten
 * (blind) or to the party on channel to_chan (attended); one of the two is
 * NULL. For events (webhooks); it must not change the calls. */
typedef void (transfer_done_h)(struct chan *transferer, struct chan *moved,
			       const char *to_exten, struct chan *to_chan, void *arg);
void transfer_set_done_h(transfer_done_h *h, void *arg);
/* Reports a completed transfer made elsewhere (DTMF attended transfer). */
void transfer_report(struct chan *transferer, struct chan *moved, const char *to_exten,
		     struct chan *to_chan);

#endif
