/* rtp: pre-opened RTP port pool and packet relay (design/rtp-relay.md:
 * the packet path does one recv and one send, no allocation, no logging). */
#include <errno.h>
#include <string.h>
#include "media/rtp.h"

struct rtpport {
	struct le le;            /* in pool->free when idle */
	struct rtppool *pool;
	struct udp_sock *rtp, *rtcp;
	struct sa laddr;
	struct rtpep *ep;        /* current user (weak) */
};

struct rtppool {
	struct list free;
	struct list all;         /* of struct rtpport_ref, owns the ports */
	struct sa laddr;
	uint16_t min, max, next;
	unsigned nports, in_use;
};

struct rtpep {
	struct rtpport *port;
	struct rtpep *peer;      /* weak; cleared both ways on release */
	struct sa raddr, raddr_rtcp;
	bool latched, latched_rtcp;
	struct rtp_stats st;
};

struct portref { struct le le; struct rtpport *port; };

static void port_recv(const struct sa *src, struct mbuf *mb, void *arg);
static void ep_unlink(struct rtpep *ep);
static void port_recv_rtcp(const struct sa *src, struct mbuf *mb, void *arg);

static void portref_destructor(void *arg)
{
	struct portref *r = arg;
	list_unlink(&r->le);
	r->port->rtp = mem_deref(r->port->rtp);
	r->port->rtcp = mem_deref(r->port->rtcp);
	list_unlink(&r->port->le);
	mem_deref(r->port);
}

static void pool_destructor(void *arg)
{
	struct rtppool *pool = arg;
	list_flush(&pool->all);
}

int rtppool_alloc(struct rtppool **poolp, const struct sa *laddr,
		  uint16_t port_min, uint16_t port_max)
{
	struct rtppool *pool;

	if (!poolp || !laddr || port_min < 1024 || port_max <= port_min)
		return EINVAL;
	pool = mem_zalloc(sizeof(*pool), pool_destructor);
	if (!pool)
		return ENOMEM;
	pool->laddr = *laddr;
	pool->min = port_min + (port_min & 1);
	pool->max = port_max;
	pool->next = pool->min;
	*poolp = pool;
	return 0;
}

/* Binds the next free even/odd pair; skips ports other programs hold. */
static int pool_bind_pair(struct rtppool *pool)
{
	unsigned tries = (pool->max - pool->min) / 2 + 1;

	while (tries--) {
		struct rtpport *p;
		struct portref *r;
		struct sa a = pool->laddr;
		uint16_t port = pool->next;
		int err;

		pool->next += 2;
		if (pool->next + 1 > pool->max)
			pool->next = pool->min;
		if (port + 1 > pool->max)
			continue;

		p = mem_zalloc(sizeof(*p), NULL);
		r = mem_zalloc(sizeof(*r), portref_destructor);
		if (!p || !r) {
			mem_deref(p);
			mem_deref(r);
			return ENOMEM;
		}
		p->pool = pool;
		r->port = p;
		sa_set_port(&a, port);
		err = udp_listen(&p->rtp, &a, port_recv, p);
		if (!err) {
			p->laddr = a;
			sa_set_port(&a, port + 1);
			err = udp_listen(&p->rtcp, &a, port_recv_rtcp, p);
		}
		list_append(&pool->all, &r->le, r);
		if (err) {
			mem_deref(r);
			if (err == EADDRINUSE)
				continue;
			return err;
		}
		list_append(&pool->free, &p->le, p);
		++pool->nports;
		return 0;
	}
	return EADDRINUSE;
}

int rtppool_prefill(struct rtppool *pool, unsigned n)
{
	int err = 0;

	if (!pool)
		return EINVAL;
	while (!err && list_count(&pool->free) < n)
		err = pool_bind_pair(pool);
	return err;
}

unsigned rtppool_capacity(const struct rtppool *pool)
{
	return pool ? (pool->max - pool->min + 1) / 2 : 0;
}

unsigned rtppool_in_use(const struct rtppool *pool)
{
	return pool ? pool->in_use : 0;
}

static void ep_destructor(void *arg)
{
	struct rtpep *ep = arg;

	ep_unlink(ep);
	if (ep->port) {
		ep->port->ep = NULL;
		list_append(&ep->port->pool->free, &ep->port->le, ep->port);
		--ep->port->pool->in_use;
	}
}

int rtpep_alloc(struct rtpep **epp, struct rtppool *pool)
{
	struct rtpep *ep;
	int err;

	if (!epp || !pool)
		return EINVAL;
	if (!pool->free.head) {
		err = pool_bind_pair(pool);
		if (err)
			return err;
	}
	ep = mem_zalloc(sizeof(*ep), ep_destructor);
	if (!ep)
		return ENOMEM;
	ep->port = list_ledata(pool->free.head);
	list_unlink(&ep->port->le);
	ep->port->ep = ep;
	++pool->in_use;
	*epp = ep;
	return 0;
}

const struct sa *rtpep_laddr(const struct rtpep *ep)
{
	return ep ? &ep->port->laddr : NULL;
}

void rtpep_set_raddr(struct rtpep *ep, const struct sa *rtp, const struct sa *rtcp)
{
	if (!ep)
		return;
	if (rtp && !ep->latched)
		ep->raddr = *rtp;
	if (rtcp && !ep->latched_rtcp)
		ep->raddr_rtcp = *rtcp;
}

static void ep_unlink(struct rtpep *ep)
{
	if (ep->peer && ep->peer->peer == ep)
		ep->peer->peer = NULL;
	ep->peer = NULL;
}

/* Links are always mutual, so freeing either end can clear the other and
 * no endpoint is ever left pointing at a released one. */
void rtpep_link(struct rtpep *ep, struct rtpep *peer)
{
	if (!ep || ep->peer == peer)
		return;
	ep_unlink(ep);
	if (!peer)
		return;
	ep_unlink(peer);
	ep->peer = peer;
	peer->peer = ep;
}

void rtpep_stats(const struct rtpep *ep, struct rtp_stats *st)
{
	if (ep && st)
		*st = ep->st;
}

/* Symmetric RTP (RFC 4961 practice): the first packet's source is where the
 * peer really is behind NAT, whatever its SDP said. */
static void port_recv(const struct sa *src, struct mbuf *mb, void *arg)
{
	struct rtpport *p = arg;
	struct rtpep *ep = p->ep, *peer;

	if (!ep)
		return;
	if (!ep->latched) {
		ep->raddr = *src;
		ep->latched = true;
	}
	ep->st.rx_pkts++;
	ep->st.rx_bytes += mbuf_get_left(mb);
	peer = ep->peer;
	if (!peer || !sa_isset(&peer->raddr, SA_ALL)) {
		ep->st.dropped++;
		return;
	}
	if (udp_send(peer->port->rtp, &peer->raddr, mb))
		ep->st.dropped++;
	else
		peer->st.tx_pkts++;
}

static void port_recv_rtcp(const struct sa *src, struct mbuf *mb, void *arg)
{
	struct rtpport *p = arg;
	struct rtpep *ep = p->ep, *peer;

	if (!ep)
		return;
	if (!ep->latched_rtcp) {
		ep->raddr_rtcp = *src;
		ep->latched_rtcp = true;
	}
	peer = ep->peer;
	if (peer && sa_isset(&peer->raddr_rtcp, SA_ALL))
		(void)udp_send(peer->port->rtcp, &peer->raddr_rtcp, mb);
}
