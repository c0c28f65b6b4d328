/* rtp: pre-opened RTP port pool and packet relay (design/rtp-relay.md:
 * the packet path does one recv and one send, no allocation, no logging).
 * Plain sockets on the libre loop rather than udp_sock: libre 1.1.0
 * allocates an mbuf per received datagram, which the relay does not need. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include "media/rtp.h"

enum { RTP_BUF = 2048, RTP_BURST = 32 };
/* After reuse, packets from the port's previous remote are dropped this
 * long: the last call's packets still in flight must not reach (or be
 * latched by) the next call. Binding fresh ports instead cost 50 % more
 * CPU per call at 1000 calls/s (bench/run.sh ramp). */
enum { RTP_STALE_MS = 2000 };

struct rtpport {
	struct le le;            /* in pool->free when idle */
	struct rtppool *pool;
	int fd_rtp, fd_rtcp;
	struct sa laddr;
	struct rtpep *ep;        /* current user (weak) */
	uint64_t freed_at;       /* jiffies when it went back to the pool */
	struct sa stale;         /* the previous user's remote */
};

struct rtppool {
	struct list free;
	struct list all;         /* of struct rtpport_ref, owns the ports */
	struct sa laddr;
	uint16_t min, max, next;
	unsigned nports, in_use;
	uint64_t walked_at;      /* jiffies of the last walk that found nothing */
};

struct rtpep {
	struct rtpport *port;
	struct rtpep *peer;      /* weak; cleared both ways on release */
	struct sa raddr, raddr_rtcp;
	bool latched, latched_rtcp, blocked;
	struct rtp_stats st;
	rtp_rx_h *rxh;
	rtp_tx_h *txh;
	void *tap_arg;
};

struct portref { struct le le; struct rtpport *port; };

static void port_read_rtp(int flags, void *arg);
static void port_read_rtcp(int flags, void *arg);
static void ep_unlink(struct rtpep *ep);

static void sock_close(int *fd)
{
	if (*fd < 0)
		return;
	fd_close(*fd);
	(void)close(*fd);
	*fd = -1;
}

static int sock_open(const struct sa *a, int *fdp, fd_h *h, void *arg)
{
	int fd = socket(sa_af(a), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int err;

	if (fd < 0)
		return errno;
	if (bind(fd, &a->u.sa, a->len)) {
		err = errno;
		(void)close(fd);
		return err;
	}
	err = fd_listen(fd, FD_READ, h, arg);
	if (err) {
		(void)close(fd);
		return err;
	}
	*fdp = fd;
	return 0;
}

static void portref_destructor(void *arg)
{
	struct portref *r = arg;
	list_unlink(&r->le);
	sock_close(&r->port->fd_rtp);
	sock_close(&r->port->fd_rtcp);
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

/* Binds the next free even/odd pair; skips ports other programs hold. A
 * full pool answers at once: walking the whole range (a socket and a bind
 * per port) on every call made an overloaded daemon slower still; ports
 * other programs may have let go are looked for again after a second. */
static int pool_bind_pair(struct rtppool *pool)
{
	unsigned tries = (pool->max - pool->min) / 2 + 1;

	if (pool->nports >= rtppool_capacity(pool) ||
	    (pool->walked_at && tmr_jiffies() - pool->walked_at < 1000))
		return EADDRINUSE;
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
		p->fd_rtp = p->fd_rtcp = -1;
		r->port = p;
		sa_set_port(&a, port);
		err = sock_open(&a, &p->fd_rtp, port_read_rtp, p);
		if (!err) {
			p->laddr = a;
			sa_set_port(&a, port + 1);
			err = sock_open(&a, &p->fd_rtcp, port_read_rtcp, p);
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
		pool->walked_at = 0;
		return 0;
	}
	pool->walked_at = tmr_jiffies() ? tmr_jiffies() : 1;
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
		ep->port->freed_at = tmr_jiffies();
		ep->port->stale = ep->raddr;
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

static bool port_stale(struct rtpport *p, const struct sa *src)
{
	if (tmr_jiffies() >= p->freed_at + RTP_STALE_MS) {
		p->freed_at = 0;         /* the window is over: no more checks */
		return false;
	}
	return sa_cmp(src, &p->stale, SA_ADDR) && sa_port(src) == sa_port(&p->stale);
}

/* Symmetric RTP (RFC 4961 practice): the first packet's source is where the
 * peer really is behind NAT, whatever its SDP said. A readable socket is
 * drained in bursts so one wake-up relays everything that queued. RTP and
 * RTCP take the same path, each on its own socket and remote address. */
static void port_drain(struct rtpport *p, bool rtcp)
{
	uint8_t buf[RTP_BUF];

	for (int i = 0; i < RTP_BURST; i++) {
		struct rtpep *ep = p->ep, *peer;
		struct sa src, *dst;
		ssize_t n;

		sa_init(&src, AF_UNSPEC);
		src.len = sizeof(src.u);
		n = recvfrom(rtcp ? p->fd_rtcp : p->fd_rtp, buf, sizeof(buf), 0,
			     &src.u.sa, &src.len);
		if (n < 0)
			return;
		if (!ep)
			continue;
		if (p->freed_at && port_stale(p, &src))
			continue;
		if (!(rtcp ? ep->latched_rtcp : ep->latched)) {
			*(rtcp ? &ep->raddr_rtcp : &ep->raddr) = src;
			*(rtcp ? &ep->latched_rtcp : &ep->latched) = true;
		}
		if (!rtcp) {
			ep->st.rx_pkts++;
			ep->st.rx_bytes += (uint64_t)n;
			if (ep->rxh && !ep->rxh(buf, (size_t)n, ep->tap_arg))
				continue;
		}
		peer = ep->peer;
		dst = peer && !peer->blocked ? (rtcp ? &peer->raddr_rtcp : &peer->raddr) : NULL;
		if (!dst || !sa_isset(dst, SA_ALL) ||
		    sendto(rtcp ? peer->port->fd_rtcp : peer->port->fd_rtp, buf, (size_t)n, 0,
			   &dst->u.sa, dst->len) < 0) {
			if (!rtcp)
				ep->st.dropped++;
		}
		else if (!rtcp) {
			peer->st.tx_pkts++;
			if (peer->txh)
				peer->txh(buf, (size_t)n, peer->tap_arg);
		}
	}
}

static void port_read_rtp(int flags, void *arg)
{
	(void)flags;
	port_drain(arg, false);
}

static void port_read_rtcp(int flags, void *arg)
{
	(void)flags;
	port_drain(arg, true);
}

void rtpep_set_taps(struct rtpep *ep, rtp_rx_h *rxh, rtp_tx_h *txh, void *arg)
{
	if (!ep)
		return;
	ep->rxh = rxh;
	ep->txh = txh;
	ep->tap_arg = arg;
}

void rtpep_block_relay(struct rtpep *ep, bool block)
{
	if (ep)
		ep->blocked = block;
}

int rtpep_send(struct rtpep *ep, const uint8_t *pkt, size_t n)
{
	if (!ep || !pkt)
		return EINVAL;
	if (!sa_isset(&ep->raddr, SA_ALL))
		return ENOTCONN;
	if (sendto(ep->port->fd_rtp, pkt, n, 0, &ep->raddr.u.sa, ep->raddr.len) < 0)
		return errno;
	ep->st.tx_pkts++;
	return 0;
}
