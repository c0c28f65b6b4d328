/* transfer: blind and attended transfers on top of chan_redirect and the
 * owner events (CHAN_EV_TAKEN, CHAN_EV_REPLACED) that Dial understands. */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "core/log.h"
#include "pbx/apps/media.h"
#include "pbx/chan.h"
#include "pbx/dialplan.h"
#include "pbx/transfer.h"

static struct dialplan *xfer_dp;
static transfer_done_h *xfer_done_h;
static void *xfer_done_arg;

void transfer_set_dialplan(struct dialplan *dp)
{
	xfer_dp = dp;
}

void transfer_set_done_h(transfer_done_h *h, void *arg)
{
	xfer_done_h = h;
	xfer_done_arg = arg;
}

void transfer_report(struct chan *transferer, struct chan *moved, const char *to_exten,
		     struct chan *to_chan)
{
	if (xfer_done_h)
		xfer_done_h(transferer, moved, to_exten, to_chan, xfer_done_arg);
}

/* TRANSFER_CONTEXT, else the transferer's context; a Dial callee has none
 * of its own and transfers in the context of the call it answered. */
static int blind_target(struct chan *transferer, const char *exten, char *ctx, size_t sz)
{
	struct chan *xferee = chan_bridged_peer(transferer);
	const char *c = chan_var_get(transferer, "TRANSFER_CONTEXT");

	if (!xferee)
		return ENOTCONN;
	if (!str_isset(exten))
		return ENOENT;
	if (!str_isset(c))
		c = chan_context(transferer);
	if (!str_isset(c))
		c = chan_context(xferee);
	str_ncpy(ctx, str_isset(c) ? c : "default", sz);
	if (!dialplan_exists(xfer_dp, ctx, exten)) {
		log_info("transfer: no extension %s in %s (transferer=%s)", exten, ctx,
			 chan_name(transferer));
		return ENOENT;
	}
	return 0;
}

int transfer_blind_check(struct chan *transferer, const char *exten)
{
	char ctx[128];

	return blind_target(transferer, exten, ctx, sizeof(ctx));
}

int transfer_blind(struct chan *transferer, const char *exten)
{
	struct chan *xferee = chan_bridged_peer(transferer);
	char ctx[128];
	int err = blind_target(transferer, exten, ctx, sizeof(ctx));

	if (err)
		return err;
	log_info("transfer: blind transfer of %s to %s@%s by %s", chan_name(xferee), exten, ctx,
		 chan_name(transferer));
	(void)chan_var_set(xferee, "BLINDTRANSFER", chan_name(transferer));
	(void)chan_var_set(xferee, "ATTENDEDTRANSFER", NULL);
	media_gen_stop(xferee);
	err = chan_redirect(xferee, ctx, exten);
	if (!err)
		transfer_report(transferer, xferee, exten, NULL);
	return err;
}

/* The owner of `keep`'s call adopts `join` in place of `gone`. */
static int join_into(struct chan *gone, struct chan *join, struct chan *transferer)
{
	chan_take(join);                  /* its own call lets it go */
	if (!chan_replace(gone, join))
		return ENOTSUP;
	(void)chan_var_set(join, "ATTENDEDTRANSFER", chan_name(transferer));
	(void)chan_var_set(join, "BLINDTRANSFER", NULL);
	return 0;
}

int transfer_attended_check(struct chan *a, struct chan *b)
{
	struct chan *pa = chan_bridged_peer(a), *pb = chan_bridged_peer(b);

	if (!pa || !pb)
		return ENOTCONN;
	if ((chan_is_dial_callee(a) && chan_is_dial_callee(pb)) ||
	    (chan_is_dial_callee(b) && chan_is_dial_callee(pa)))
		return 0;
	return ENOTSUP;
}

int transfer_attended(struct chan *a, struct chan *b)
{
	struct chan *pa = chan_bridged_peer(a), *pb = chan_bridged_peer(b);
	int err;

	if (!pa || !pb)
		return ENOTCONN;
	media_gen_stop(pa);
	media_gen_stop(pb);
	/* The party that called keeps its Dial (and CDR); the other is
	 * taken out of its call and put in place of the transferer's leg. */
	if (chan_is_dial_callee(a) && chan_is_dial_callee(pb)) {
		err = join_into(a, pb, a);
		if (!err)
			transfer_report(a, pa, NULL, pb);
	}
	else if (chan_is_dial_callee(b) && chan_is_dial_callee(pa)) {
		err = join_into(b, pa, b);
		if (!err)
			transfer_report(b, pb, NULL, pa);
	}
	else
		err = ENOTSUP;
	if (err)
		log_warn("transfer: cannot join %s and %s (%m)", chan_name(pa), chan_name(pb), err);
	else
		log_info("transfer: attended transfer joins %s and %s", chan_name(pa),
			 chan_name(pb));
	return err;
}
